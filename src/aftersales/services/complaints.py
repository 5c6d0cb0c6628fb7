"""Complaints 投诉: filing, each party's step, the platform's review and decision, and what the
deadline engine does when a step lapses."""

from __future__ import annotations

from typing import Any

from ..domain import complaints as domain
from ..domain.complaints import COMPLAINT_MACHINE, Complaint
from ..domain.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from ..domain.ids import new_id
from ..store import tables as t
from ..store.repositories import Repo
from ..store.unit_of_work import UnitOfWork
from . import evidence
from .context import SYSTEM, Actor, Env
from .transitions import Kind, apply, arm_deadline, creation, notice

COMPLAINT = Kind(
    name="complaint",
    machine=COMPLAINT_MACHINE,
    deadlines=domain.DEADLINES,
    snapshot_fields=("status", "review_breached", "deadline_action", "deadline_due_at"),
    records=frozenset({"review_overdue"}),
    created_by="file",
    repo=lambda uow: repo(uow),
)


def repo(uow: UnitOfWork) -> Repo[Complaint]:
    return Repo(uow.conn, t.complaints, Complaint)


def file(uow: UnitOfWork, env: Env, actor: Actor, data: dict[str, Any]) -> Complaint:
    """A buyer complains about a merchant's conduct; a merchant complains to the platform."""
    if actor.role == "buyer":
        if data["category"] not in domain.BUYER_CATEGORIES:
            raise ValidationFailed(f"category must be one of {', '.join(domain.BUYER_CATEGORIES)}", fields=["category"])
        buyer_id: str | None
        buyer_id, merchant_id, status = actor.id, str(data.get("merchant_id") or ""), "awaiting_reply"
        if data.get("order_id"):
            order = uow.orders.get(data["order_id"])
            if order is None or order.buyer_id != actor.id:
                raise ValidationFailed("unknown order", fields=["order_id"])
            merchant_id = order.merchant_id
        if not merchant_id:
            raise ValidationFailed("name the merchant (merchant_id) or one of your orders", fields=["merchant_id"])
    elif actor.role == "merchant":
        if data["category"] not in domain.MERCHANT_CATEGORIES:
            raise ValidationFailed(
                f"category must be one of {', '.join(domain.MERCHANT_CATEGORIES)}", fields=["category"]
            )
        buyer_id, merchant_id, status = data.get("buyer_id"), str(actor.merchant_id), "under_review"
    else:
        raise Forbidden("complaints are filed by buyers and merchants")
    now = env.clock.now()
    complaint = Complaint(
        id=new_id("cp", now),
        complainant_role=actor.role,
        complainant_id=actor.id,
        buyer_id=buyer_id,
        merchant_id=str(merchant_id),
        category=data["category"],
        description=data["description"],
        status=status,
        policy=env.default_policy,
        created_at=now,
        updated_at=now,
        order_id=data.get("order_id"),
        dispute_id=data.get("dispute_id"),
        evidence=evidence.check(uow, actor, data.get("evidence") or []),
    )
    arm_deadline(uow, env, COMPLAINT, complaint, now)
    repo(uow).insert(complaint)
    creation(
        uow,
        COMPLAINT,
        complaint,
        actor,
        now,
        {"category": complaint.category, "description": complaint.description, "evidence": complaint.evidence},
    )
    return complaint


def get(uow: UnitOfWork, actor: Actor, complaint_id: str) -> Complaint:
    if actor.role not in ("buyer", "merchant", "agent", "admin", "system"):
        # As for the listing: a role that never sees complaints is refused, not told "not found".
        raise Forbidden("complaints are for buyers, merchants and agents")
    found = repo(uow).get(complaint_id)
    if found is None or not may_see(actor, found):
        raise NotFound("complaint not found")
    return found


def may_see(actor: Actor, c: Complaint) -> bool:
    """The complainant, the merchant complained about, and staff; never a buyer complained about."""
    if actor.role in ("agent", "admin", "system"):
        return True
    if actor.role == "merchant":
        return c.merchant_id == actor.merchant_id
    return actor.role == "buyer" and c.complainant_role == "buyer" and c.complainant_id == actor.id


def listing_filters(actor: Actor, **filters: str | None) -> list[Any]:
    c = t.complaints.c
    if actor.role == "merchant":
        where = [c.merchant_id == actor.merchant_id]
    elif actor.role == "buyer":
        where = [c.complainant_role == "buyer", c.complainant_id == actor.id]
    elif actor.role in ("agent", "admin"):
        where = []
    else:
        raise Forbidden("complaints are for buyers, merchants and agents")
    return where + [getattr(c, name) == value for name, value in filters.items() if value]


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
