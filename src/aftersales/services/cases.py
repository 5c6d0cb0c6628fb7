"""After-sales cases: filing, every party's action and every automatic one."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..domain import cases as domain
from ..domain import disputes as dispute_rules
from ..domain import lines
from ..domain.actions import typed
from ..domain.cases import CASE_MACHINE, Case
from ..domain.errors import Conflict, DeadlinePassed, Forbidden, IllegalTransition, ValidationFailed
from ..domain.ids import new_id
from ..domain.machine import Transition
from ..domain.money import check_amount, refundable
from ..domain.orders import Order
from ..domain.parties import ReturnAddress
from ..domain.roles import BUYER
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import disputes, evidence, parties, prices
from .context import SYSTEM as SYSTEM_ACTOR
from .context import Actor, Env, visible
from .orders import ORDER
from .transitions import (
    Act,
    Kind,
    apply,
    arm_deadline,
    creation,
    notice,
    pause_deadline,
    record,
    resume_deadline,
    seen,
)

CASE = Kind(
    name="after_sale",
    machine=CASE_MACHINE,
    deadlines=domain.DEADLINES,
    # (The return address too: an automatic approval writes the merchant's default one, no input.)
    snapshot_fields=(
        "status",
        "amount",
        "dispute_id",
        "closed_at",
        "deadline_action",
        "deadline_due_at",
        "return_address",
        "return_address_id",
    ),
    # The platform's ruling SLA lapsing; the rest of a ruling paid on a case already refunded; a
    # message of the negotiation record (services/messages.py).
    records=frozenset({"ruling_overdue", "refunded", "message_posted", "deadline_approaching"}),
    created_by="file",
    repo=lambda uow: uow.cases,
    # A system action moving a case between open statuses (auto_approve of a return) touches
    # nothing but the case (and reads its merchant's book); refunds and closing (which frees the
    # order) go through `act`.
    set_based=lambda case, tr, now, books: (
        _book_default(case, tr, books.get(case.merchant_id))
        if tr.effect is None and tr.target not in domain.TERMINAL
        else None
    ),
    batch_context=lambda uow, cases: parties.default_addresses(
        uow, (c.merchant_id for c in cases if c.deadline_action == "auto_approve")
    ),
)


def _book_default(case: Case, tr: Transition, address: ReturnAddress | None) -> dict[str, Any]:
    """A return approved automatically (超时自动同意) goes to the merchant's default address, so
    the buyer knows where to ship; a merchant without a book leaves it to be told otherwise."""
    if tr.action != "auto_approve" or tr.target != "awaiting_return" or address is None:
        return {}
    case.return_address, case.return_address_id = address.text, address.id
    return {"return_address": address.text, "return_address_id": address.id}


def _from_book(uow: UnitOfWork, actor: Actor, case: Case, inputs: Any) -> domain.Approve:
    """Approve's inputs with a book address (return_address_id) written out as the text the
    machine requires and the case shows; a free-text address stays as it is."""
    args: domain.Approve = CASE_MACHINE.specs["approve"].typed(inputs)
    if args.return_address_id is None:
        return args
    CASE_MACHINE.resolve(case, "approve", actor.role, actor)  # (who may approve at all, before the book)
    if args.return_address:
        raise ValidationFailed(
            "give return_address or return_address_id, not both", fields=["return_address", "return_address_id"]
        )
    address = parties.book_address(uow, case.merchant_id, args.return_address_id)
    return dataclasses.replace(args, return_address=address.text)


def default_approval(uow: UnitOfWork, actor: Actor, case_id: str) -> dict[str, Any]:
    """Approve's inputs when a merchant approves without a form (the console's bulk approval):
    nothing for a request the approval refunds or reships, the shop's default return address for
    one whose goods come back; a shop without a book is told to approve that one on its page."""
    case = get(uow, actor, case_id)
    transition = CASE_MACHINE.resolve(case, "approve", actor.role, actor)
    if "return_address" not in transition.requires:
        return {}
    address = parties.default_addresses(uow, [case.merchant_id]).get(case.merchant_id)
    if address is None:
        raise ValidationFailed(
            "the shop's return-address book is empty: approve this return on its page with an address",
            code="no_default_return_address",
            fields=["return_address_id"],
        )
    return {"return_address_id": address.id}


def file(uow: UnitOfWork, env: Env, actor: Actor, data: domain.NewCase | Mapping[str, Any]) -> Case:
    args = typed(domain.NewCase, data)
    if actor.role != BUYER:
        raise Forbidden("only the buyer files an after-sales request")
    order = visible(uow.orders.get(args.order_id), actor, "order")
    now = env.clock.now()
    policy = env.policy(order.policy)
    if args.type not in domain.TYPES:
        raise ValidationFailed(f"type must be one of {', '.join(domain.TYPES)}", fields=["type"])
    _check_fileable(uow, order, args.type, now, policy.timer("after_sales_window"))
    if args.reason not in domain.REASONS:
        raise ValidationFailed(f"unknown reason {args.reason!r}; see GET /v1/reasons", fields=["reason"])
    case_id = new_id("as", now)
    wanted = _wanted(order, args.items)
    units, value = lines.claim(order.units, wanted, case_id)
    grounds: dict[str, Any] = {}
    if args.type == "price_protection":
        window = policy.timer("price_protection_window")
        value, grounds = prices.owed(uow, order, args, wanted, value, now, window)
    elif args.price_drop_id is not None or args.new_price is not None:
        raise ValidationFailed("a price drop is cited by a price_protection request only", fields=["price_drop_id"])
    limit = min(value, refundable(order, policy))
    if limit == 0:
        raise Conflict("nothing is left to refund on these items", code="nothing_refundable")
    amount = check_amount(args.amount, limit) if args.amount is not None else limit
    titles = {i["sku"]: i for i in order.items}
    case = Case(
        id=case_id,
        order_id=order.id,
        buyer_id=order.buyer_id,
        merchant_id=order.merchant_id,
        payment_method=order.payment_method,
        type=args.type,
        reason=args.reason,
        amount=amount,
        currency=order.currency,
        status="pending_merchant",
        policy=policy.key,
        created_at=now,
        updated_at=now,
        description=args.description or "",
        evidence=evidence.check(uow, actor, list(args.evidence)),
        items=[
            {"sku": sku, "title": titles[sku]["title"], "quantity": n, "unit_price": titles[sku]["unit_price"]}
            for sku, n in wanted.items()
        ],
        extra={"price_protection": grounds} if grounds else {},
    )
    # The units are claimed on the order with compare-and-set, so two racing requests never hold
    # the same unit; while any is held the order's auto-complete waits.
    read = seen(ORDER, order)
    order.units = units
    pause_deadline(order, now)
    record(
        uow, read, action="after_sale_opened", actor=actor, now=now, data={"after_sale_id": case.id, "items": wanted}
    )
    arm_deadline(uow, env, CASE, case, now)
    uow.cases.insert(case)
    evidence.link(uow, case.id, case.evidence)
    creation(
        uow,
        CASE,
        case,
        actor,
        now,
        {
            "type": case.type,
            "reason": case.reason,
            "items": case.items,
            **grounds,
            "description": case.description,
            "evidence": case.evidence,
            "policy": case.policy,
        },
    )
    return case


def _wanted(order: Order, items: Any) -> dict[str, int]:
    """sku -> quantity the request claims; omitted, every unit of the order still claimable."""
    if items is None:
        wanted = {sku: n for sku in order.units if (n := lines.remaining(order.units, sku))}
        if not wanted and order.open_case_ids:
            first = order.open_case_ids[0]
            raise Conflict(
                f"after-sales request {first} holds what remains of this order",
                code="case_already_open",
                open_case_id=first,
            )
        if not wanted:
            raise Conflict("nothing is left to claim on this order", code="nothing_refundable")
        return wanted
    claims = [typed(domain.Claim, i) for i in items]
    if not claims:
        raise ValidationFailed("items, when given, names at least one item", fields=["items"])
    wanted = {c.sku: c.quantity for c in claims}
    if len(wanted) < len(claims):
        raise ValidationFailed("each sku appears once in items", code="duplicate_sku", fields=["items"])
    return wanted


def _check_fileable(uow: UnitOfWork, order: Order, case_type: str, now: datetime, window: Any) -> None:
    """None while a dispute about the order is unsettled: a ruling still open to appeal (or
    appealed) may yet refund the order, and a request paid in the meantime would leave that money
    claimed twice (and the appeal with nothing left to pay). Units are checked as they are claimed."""
    pending = unsettled_dispute(uow, order.id, now)
    if pending is not None:
        dispute_id, status = pending
        raise Conflict(
            f"dispute {dispute_id} about this order is not settled yet ({status}); file again once it is final",
            code="dispute_pending",
            dispute_id=dispute_id,
            dispute_status=status,
        )
    domain.check_fileable(order, case_type, now, window)


def eligibility(uow: UnitOfWork, env: Env, actor: Actor, order_id: str) -> dict[str, Any]:
    """What the buyer may still ask for on the order, per item: the units no request holds or
    settled, what they may get back, and the types a request on them may take now."""
    order = visible(uow.orders.get(order_id), actor, "order")
    now = env.clock.now()
    policy = env.policy(order.policy)
    window = policy.timer("after_sales_window")
    on_order = refundable(order, policy)
    types = []
    for case_type in domain.TYPES:
        try:
            _check_fileable(uow, order, case_type, now, window)
            if case_type == "price_protection":
                domain.check_price_protection(order.paid_at, now, policy.timer("price_protection_window"))
        except (Conflict, IllegalTransition, DeadlinePassed):
            continue
        types.append(case_type)
    items = []
    for item in order.items:
        sku = item["sku"]
        left = lines.remaining(order.units, sku)
        value = min(lines.free_value(order.units, sku), on_order)
        items.append(
            {
                **item,
                "paid": lines.paid_for(order.units, sku),
                "refunded": lines.refunded_on(order.units, sku),
                "quantity_remaining": left,
                "refundable": value,
                "types": types if left and value else [],
            }
        )
    return {
        "order_id": order.id,
        "currency": order.currency,
        "window_ends_at": order.completed_at + window if order.completed_at else None,
        "refundable": on_order,
        "open_after_sale_ids": order.open_case_ids,
        "items": items,
    }


def unsettled_dispute(uow: UnitOfWork, order_id: str, now: datetime) -> tuple[str, str] | None:
    """(id, status) of a dispute about any case of the order that is not settled yet, if any. A
    ruling whose appeal window has lapsed is settled even before the worker finalizes it: nobody
    may appeal it any more. Reached through the order's cases: both joins are indexed."""
    d, c = t.disputes.c, t.after_sales.c
    in_window = sa.or_(d.deadline_due_at.is_(None), d.deadline_due_at > now)
    row = uow.execute(
        sa.select(d.id, d.status)
        .join_from(t.disputes, t.after_sales, d.after_sale_id == c.id)
        .where(
            c.order_id == order_id,
            d.status.in_(dispute_rules.UNSETTLED),
            sa.or_(d.status != "ruled", in_window),
        )
        .order_by(d.created_at, d.id)
        .limit(1)
    ).first()
    return (row.id, row.status) if row is not None else None


def get(uow: UnitOfWork, actor: Actor, case_id: str) -> Case:
    return visible(uow.cases.get(case_id), actor, "after-sales case")


def act(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    case_id: str,
    action: str,
    inputs: Any = None,
    *,
    if_match: int | None = None,
    deadline_id: int | None = None,
) -> Case:
    """Take `action` (its spec's typed inputs, or none) on the case."""
    case = get(uow, actor, case_id)
    order = uow.orders.get(case.order_id)
    assert order is not None
    order_read = seen(ORDER, order)  # (a refund the action pays counts on the order before it closes)
    if action == "approve":
        inputs = _from_book(uow, actor, case, inputs)

    def then(step: Act) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if step.transition.action == "auto_approve":
            book = parties.default_addresses(uow, [case.merchant_id])
            data = _book_default(case, step.transition, book.get(case.merchant_id))
        if step.transition.target in domain.TERMINAL:
            case.closed_at = step.now
            # The case's units are free for a new request (done if the goods came back), the
            # order counts what this case refunded, and its auto-complete resumes when no
            # request is left open on it.
            order.units = lines.release(order.units, case.id, goods_back=domain.goods_came_back(case))
            if not order.open_case_ids:
                resume_deadline(env, ORDER, order, step.now)
            closed = {"after_sale_id": case.id, "status": case.status}
            record(uow, order_read, action="after_sale_closed", actor=step.actor, now=step.now, data=closed)
            if case.dispute_id and step.transition.action == "withdraw":
                disputes.close(uow, env, step.actor, case.dispute_id)
        return data

    apply(
        uow,
        env,
        actor,
        CASE,
        case,
        action,
        inputs,
        if_match=if_match,
        then=then,
        order=order,
        deadline_id=deadline_id,
        now=env.clock.now(),
    )
    return case


def ruling_overdue(uow: UnitOfWork, env: Env, case_id: str, *, deadline_id: int) -> Case:
    """The platform's own ruling SLA lapsed: no status changes, the breach goes on the record."""
    case = get(uow, SYSTEM_ACTOR, case_id)
    if case.status != "in_intervention":
        raise IllegalTransition("ruling SLA only runs during an intervention", status=case.status)
    notice(uow, env, CASE, case, "ruling_overdue", deadline_id=deadline_id, data={"dispute_id": case.dispute_id})
    if case.dispute_id:
        disputes.mark_sla_breached(uow, env, case.dispute_id)
    return case
