"""Read use cases: the listings, queues and timelines a caller may see, tenancy and role checks
included, so that every adapter (API, console) shows the same rows to the same caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from ..domain import cases as case_rules
from ..domain.cases import Case
from ..domain.complaints import Complaint
from ..domain.disputes import Dispute
from ..domain.errors import Forbidden, NotFound, ValidationFailed
from ..domain.orders import Order
from ..domain.reviews import Review
from ..domain.roles import MERCHANT, PLATFORM
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import complaints, disputes, refunds, reviews, sanctions
from .context import Actor, Env, scope
from .kinds import KINDS
from .pages import MAX_LIMIT, decode_due, encode_due, page

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def orders(
    uow: UnitOfWork,
    actor: Actor,
    *,
    status: str | None = None,
    merchant_id: str | None = None,
    buyer_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Order]:
    """Orders the caller may see, newest first."""
    where = scope(actor, t.orders.c, merchant_id=merchant_id, buyer_id=buyer_id, status=status)
    rows, nxt = page(uow.conn, t.orders, where, cursor, limit, True)
    return Page([uow.orders.load(r) for r in rows], nxt)


def cases(
    uow: UnitOfWork,
    actor: Actor,
    *,
    status: str | None = None,
    merchant_id: str | None = None,
    order_id: str | None = None,
    buyer_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Case]:
    """After-sales cases the caller may see, newest first (a merchant's queue, a buyer's list)."""
    where = scope(actor, t.after_sales.c, status=status, merchant_id=merchant_id, order_id=order_id, buyer_id=buyer_id)
    rows, nxt = page(uow.conn, t.after_sales, where, cursor, limit, True)
    return Page([uow.cases.load(r) for r in rows], nxt)


# The queue's "time left" filter: what is due within these hours. (Nothing is overdue for long:
# the deadline engine takes the system's action when a deadline passes.)
DUE_WITHIN = {"4h": timedelta(hours=4), "24h": timedelta(hours=24)}
OPEN, ALL = "open", "all"  # the queue's status filter beside the statuses: not yet closed, every case


@dataclass(frozen=True)
class QueueFilters:
    status: str = OPEN
    type: str | None = None
    reason: str | None = None
    due: str | None = None  # a key of DUE_WITHIN

    def check(self) -> None:
        """Unknown values are a 422 naming the filter (a typo must not read as an empty queue)."""
        allowed = {
            "status": (OPEN, ALL, *case_rules.STATUSES),
            "type": case_rules.TYPES,
            "reason": tuple(case_rules.REASONS),
            "due": tuple(DUE_WITHIN),
        }
        for name, values in allowed.items():
            value = getattr(self, name)
            if value is not None and value not in values:
                raise ValidationFailed(f"{name} must be one of {', '.join(values)}", fields=[name])


def case_queue(
    uow: UnitOfWork, actor: Actor, now: datetime, filters: QueueFilters, cursor: str | None, limit: int = 50
) -> Page[Case]:
    """A shop's after-sales by urgency 售后单管理: the pending deadline soonest first, then the
    cases without one, newest first; keyset paged by (deadline, id), so equal deadlines keep one
    order across pages. Two walks of the (merchant_id, deadline_due_at, id) index, one per part."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}", fields=["limit"])
    filters.check()
    c = t.after_sales.c
    where = scope(actor, c, type=filters.type, reason=filters.reason)
    if filters.status == OPEN:
        where.append(c.status.not_in(sorted(case_rules.TERMINAL)))
    elif filters.status != ALL:
        where.append(c.status == filters.status)
    if filters.due is not None:
        where.append(c.deadline_due_at <= now + DUE_WITHIN[filters.due])
    due_at, after = decode_due(cursor) if cursor else (None, None)
    rows: list[Any] = []
    if cursor is None or due_at is not None:  # the cases with a deadline are not all listed yet
        timed = [*where, c.deadline_due_at.is_not(None)]
        if due_at is not None:
            bound = sa.tuple_(sa.literal(due_at, c.deadline_due_at.type), sa.literal(after, c.id.type))
            timed.append(sa.tuple_(c.deadline_due_at, c.id) > bound)
        query = sa.select(t.after_sales).where(*timed).order_by(c.deadline_due_at, c.id).limit(limit + 1)
        rows = list(uow.execute(query))
    if len(rows) <= limit and filters.due is None:
        untimed = [*where, c.deadline_due_at.is_(None)]
        if cursor is not None and due_at is None:
            untimed.append(c.id < after)
        query = sa.select(t.after_sales).where(*untimed).order_by(c.id.desc()).limit(limit + 1 - len(rows))
        rows += list(uow.execute(query))
    shown = rows[:limit]
    nxt = encode_due(shown[-1].deadline_due_at, shown[-1].id) if len(rows) > limit else None
    return Page([uow.cases.load(r) for r in shown], nxt)


def dispute_queue(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    *,
    status: str | None = None,
    kind: str | None = None,
    assignee: str | None = None,
    merchant_id: str | None = None,
    reason: str | None = None,
    sla: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Dispute]:
    """The agents' queue, oldest first, with SLA urgency (see disputes.queue_filters)."""
    where = disputes.queue_filters(
        actor, now, status=status, kind=kind, assignee=assignee, merchant_id=merchant_id, reason=reason, sla=sla
    )
    rows, nxt = page(uow.conn, t.disputes, where, cursor, limit, False)
    return Page([disputes.repo(uow).load(r) for r in rows], nxt)


def complaint_list(
    uow: UnitOfWork,
    actor: Actor,
    *,
    status: str | None = None,
    category: str | None = None,
    merchant_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Complaint]:
    """Complaints the caller may see, newest first."""
    where = complaints.listing_filters(actor, status=status, category=category, merchant_id=merchant_id)
    rows, nxt = page(uow.conn, t.complaints, where, cursor, limit, True)
    return Page([complaints.repo(uow).load(r) for r in rows], nxt)


def review_list(
    uow: UnitOfWork,
    actor: Actor,
    *,
    order_id: str | None = None,
    merchant_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Review]:
    """Reviews the caller may see, newest first: a buyer's own, a shop's, every one for staff."""
    where = reviews.listing_filters(actor, order_id=order_id, merchant_id=merchant_id)
    rows, nxt = page(uow.conn, t.reviews, where, cursor, limit, True)
    return Page([reviews.repo(uow).load(r) for r in rows], nxt)


def timeline(uow: UnitOfWork, actor: Actor, kind: str, subject_id: str) -> list[Any]:
    """A subject's events, oldest first, once the caller is shown to see it."""
    subject = KINDS[kind].get(uow, actor, subject_id)
    return list(uow.events.for_subject(kind, subject.id))


def refund_list(
    uow: UnitOfWork,
    actor: Actor,
    *,
    order_id: str | None = None,
    after_sale_id: str | None = None,
    status: str | None = None,
    late: bool | None = None,
) -> list[dict[str, Any]]:
    """Refunds the caller may see (a buyer's own, a shop's, all for staff); `status=failed` and
    `late=true` are the agents' queue of refunds the payment provider has not paid."""
    where = scope(actor, t.refunds.c, order_id=order_id, after_sale_id=after_sale_id, status=status)
    if late is not None:
        where.append(t.refunds.c.late.is_(late))
    return refunds.list_refunds(uow, *where)


def settlements(
    uow: UnitOfWork, actor: Actor, *, merchant_id: str | None = None, after_sale_id: str | None = None
) -> list[dict[str, Any]]:
    """Money between the platform and merchants: for merchants (their own) and the platform."""
    if actor.role not in {MERCHANT, *PLATFORM}:
        raise Forbidden("settlements are for merchants and platform agents")
    where = scope(actor, t.settlements.c, merchant_id=merchant_id, after_sale_id=after_sale_id)
    return refunds.list_settlements(uow, *where)


def own_shop(actor: Actor, merchant_id: str) -> None:
    """A shop's own records: the merchant itself and the platform; another shop's are not found."""
    if actor.role not in {MERCHANT, *PLATFORM}:
        raise Forbidden("this is for the merchant itself and platform agents")
    if actor.role == MERCHANT and actor.merchant_id != merchant_id:
        raise NotFound("merchant not found")


def violations(uow: UnitOfWork, actor: Actor, merchant_id: str) -> list[dict[str, Any]]:
    own_shop(actor, merchant_id)
    return refunds.list_violations(uow, merchant_id)


def standing(uow: UnitOfWork, env: Env, actor: Actor, merchant_id: str) -> dict[str, Any]:
    own_shop(actor, merchant_id)
    return sanctions.standing(uow, env, merchant_id)
