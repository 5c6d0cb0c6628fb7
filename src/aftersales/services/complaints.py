"""Complaints 投诉: filing, each party's step, the platform's review and decision, and what the
deadline engine does when a step lapses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain import complaints as domain
from ..domain.actions import typed
from ..domain.complaints import COMPLAINT_MACHINE, Complaint
from ..domain.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from ..domain.ids import new_id
from ..domain.roles import ALL_TENANTS, AUDIENCE, PLATFORM
from ..store import tables as t
from ..store.repositories import Repo
from ..store.unit_of_work import UnitOfWork
from . import disputes, evidence, reviews
from .context import SYSTEM, Actor, Env, matches, visible
from .transitions import Kind, apply, arm_deadline, creation, notice

COMPLAINT = Kind(
    name="complaint",
    machine=COMPLAINT_MACHINE,
    deadlines=domain.DEADLINES,
    snapshot_fields=("status", "review_breached", "deadline_action", "deadline_due_at"),
    records=frozenset({"review_overdue", "deadline_approaching"}),
    created_by="file",
    repo=lambda uow: repo(uow),
)


def repo(uow: UnitOfWork) -> Repo[Complaint]:
    return Repo(uow.conn, t.complaints, Complaint)


def file(uow: UnitOfWork, env: Env, actor: Actor, data: domain.NewComplaint | Mapping[str, Any]) -> Complaint:
    """A buyer complains about a merchant's conduct; a merchant complains to the platform.

    What the complaint names must be the complainant's to name, checked before anything is
    written:

    - an order or a dispute the caller may not see (missing, another buyer's, another shop's) is
      `404`, the same answer as a missing one, so nothing about its existence leaks;
    - the same for a review (`review_id`, an induced review 诱导好评 or an abusive one): one the
      caller may not see is `404`, one about another order than the named one a mismatch;
    - one the caller sees but that does not fit the rest is `422 reference_mismatch`: a dispute
      or a review not about the named order, a `merchant_id` (on a buyer's complaint) or `buyer_id` (on a
      merchant's) that is not the order's or the dispute's, a buyer naming another buyer, a shop
      naming another shop;
    - what an order or a dispute names and the body leaves out is taken from it (the merchant,
      the buyer, a dispute's order). A party named alone is taken as given: there is no registry
      of merchants or buyers to check it against.
    """
    args = typed(domain.NewComplaint, data)
    categories: tuple[str, ...]
    if actor.role == "buyer":
        categories, status, own, other = domain.BUYER_CATEGORIES, "awaiting_reply", "buyer_id", "merchant_id"
    elif actor.role == "merchant":
        categories, status, own, other = domain.MERCHANT_CATEGORIES, "under_review", "merchant_id", "buyer_id"
    else:
        raise Forbidden("complaints are filed by buyers and merchants")
    if args.category not in categories:
        raise ValidationFailed(f"category must be one of {', '.join(categories)}", fields=["category"])
    me = actor.id if actor.role == "buyer" else str(actor.merchant_id)
    named = {"buyer_id": args.buyer_id, "merchant_id": args.merchant_id}
    if named[own] and named[own] != me:
        raise _mismatch(own, f"a complaint is filed in the caller's own name: {own} must be {me!r} or omitted")
    refs = {
        "order_id": args.order_id,
        "dispute_id": args.dispute_id,
        "review_id": args.review_id,
        own: me,
        other: named[other],
    }
    _check_references(uow, actor, refs, other)
    if actor.role == "buyer" and not refs["merchant_id"]:
        raise ValidationFailed("name the merchant (merchant_id) or one of your orders", fields=["merchant_id"])
    now = env.clock.now()
    complaint = Complaint(
        id=new_id("cp", now),
        complainant_role=actor.role,
        complainant_id=actor.id,
        buyer_id=refs["buyer_id"],
        merchant_id=str(refs["merchant_id"]),
        category=args.category,
        description=args.description,
        status=status,
        policy=env.default_policy,
        created_at=now,
        updated_at=now,
        order_id=refs["order_id"],
        dispute_id=refs["dispute_id"],
        review_id=refs["review_id"],
        evidence=evidence.check(uow, actor, list(args.evidence)),
    )
    arm_deadline(uow, env, COMPLAINT, complaint, now)
    repo(uow).insert(complaint)
    creation(
        uow,
        COMPLAINT,
        complaint,
        actor,
        now,
        {
            "category": complaint.category,
            "description": complaint.description,
            "evidence": complaint.evidence,
            **({"review_id": complaint.review_id} if complaint.review_id else {}),
        },
    )
    return complaint


def _check_references(uow: UnitOfWork, actor: Actor, refs: dict[str, Any], other: str) -> None:
    """Check the order, the dispute and the review a complaint names against the caller and each
    other, and fill in from them the parties and the order the body left out (see `file`)."""
    named: list[tuple[str, str, str | None, str]] = []
    if refs["order_id"]:
        order = visible(uow.orders.get(refs["order_id"]), actor, "order")
        named.append(("order_id", order.id, order.buyer_id, order.merchant_id))
    about_order = [
        ("dispute_id", refs["dispute_id"] and visible(disputes.repo(uow).get(refs["dispute_id"]), actor, "dispute")),
        ("review_id", refs["review_id"] and reviews.get(uow, actor, refs["review_id"])),
    ]
    for field, found in about_order:
        if not found:
            continue
        if refs["order_id"] and found.order_id != refs["order_id"]:
            raise _mismatch(field, f"{field.removesuffix('_id')} {found.id} is not about order {refs['order_id']}")
        refs["order_id"] = found.order_id
        named.append((field, found.id, found.buyer_id, found.merchant_id))
    for field, ref_id, buyer_id, merchant_id in named:
        party = buyer_id if other == "buyer_id" else merchant_id
        if refs[other] and refs[other] != party:
            raise _mismatch(other, f"{other} {refs[other]!r} is not the party of {field.removesuffix('_id')} {ref_id}")
        refs[other] = party


def _mismatch(field: str, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, code="reference_mismatch", fields=[field])


def get(uow: UnitOfWork, actor: Actor, complaint_id: str) -> Complaint:
    if actor.role not in AUDIENCE:
        # As for the listing: a role that never sees complaints is refused, not told "not found".
        raise Forbidden("complaints are for buyers, merchants and agents")
    found = repo(uow).get(complaint_id)
    if found is None or not may_see(actor, found):
        raise NotFound("complaint not found")
    return found


def may_see(actor: Actor, c: Complaint) -> bool:
    """The complainant, the merchant complained about, and staff; never a buyer complained about."""
    if actor.role in ALL_TENANTS:
        return True
    if actor.role == "merchant":
        return c.merchant_id == actor.merchant_id
    return actor.role == "buyer" and c.complainant_role == "buyer" and c.complainant_id == actor.id


def listing_filters(actor: Actor, **filters: str | tuple[str, ...] | None) -> list[Any]:
    c = t.complaints.c
    if actor.role == "merchant":
        where = [c.merchant_id == actor.merchant_id]
    elif actor.role == "buyer":
        where = [c.complainant_role == "buyer", c.complainant_id == actor.id]
    elif actor.role in PLATFORM:
        where = []
    else:
        raise Forbidden("complaints are for buyers, merchants and agents")
    return where + [matches(getattr(c, name), value) for name, value in filters.items() if value]


def act(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    complaint_id: str,
    action: str,
    inputs: Any = None,
    *,
    if_match: int | None = None,
    deadline_id: int | None = None,
) -> Complaint:
    """Take `action` (its spec's typed inputs, or none) on the complaint."""
    complaint = get(uow, actor, complaint_id)
    apply(
        uow,
        env,
        actor,
        COMPLAINT,
        complaint,
        action,
        inputs,
        if_match=if_match,
        deadline_id=deadline_id,
        now=env.clock.now(),
    )
    return complaint


def review_overdue(uow: UnitOfWork, env: Env, complaint_id: str, *, deadline_id: int) -> Complaint:
    """The platform's review SLA (working days) lapsed: recorded and flagged, status unchanged."""
    complaint = get(uow, SYSTEM, complaint_id)
    if complaint.status not in domain.UNDER_REVIEW:
        raise IllegalTransition("no review is pending", current_status=complaint.status)
    notice(uow, env, COMPLAINT, complaint, "review_overdue", flag="review_breached", deadline_id=deadline_id)
    return complaint
