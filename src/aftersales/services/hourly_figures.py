"""The platform's after-sales figures per UTC hour, kept current in the transaction of every
change they count, so the dashboard (services/reports.py) adds up a period's hours instead of
aggregating every case filed in it on each request.

- `case_hours` (hour, reason, currency): requests filed, requests with a decided refund, the
  decided amount, requests with a dispute ruled against the shop. A case counts in the hour it
  was filed, whenever its refunds and disputes change: what reports' per-request aggregate counts.
- `order_hours` (hour): the paid amount of the orders placed in the hour.
- `case_marks`: what each case adds to its hour's refund and dispute figures. A change to a
  case's refunds or disputes re-derives its share from those tables (`case_changed`) and moves
  the hour by the difference from its mark: idempotent, whichever change it was.

Hours move by `x = x + delta` upserts, so concurrent changes to one hour add up without a
read-modify-write; `case_changed` locks the case's row first, so two changes of one case (two of
its refunds settling at once) take turns. `rebuild` derives every row again from the source
tables: the migration that made them runs it, and so must a bulk load that writes rows directly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..domain.roles import MERCHANT
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork

HOUR = timedelta(hours=1)
# A refund counts once decided: pending at the provider or paid; a failed transfer does not
# (until it is retried and pending again).
DECIDED_REFUND = ("pending", "succeeded")
RULED = ("ruled", "appealed", "final")


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def whole_hours(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The whole hours inside [since, until): from the first hour boundary at or after `since`
    to the last at or before `until` (empty, first >= last, for a span inside one hour)."""
    first = hour_of(since)
    return (first if first == since else first + HOUR), hour_of(until)


# --- keeping them current ------------------------------------------------------------------


def case_filed(uow: UnitOfWork, case: Any) -> None:
    _add(uow, t.case_hours, _case_key(case.created_at, case.reason, case.currency), requests=1)


def order_paid(uow: UnitOfWork, order: Any, before: int) -> None:
    """An order's paid amount moved from `before` (paid at checkout, or on delivery for COD)."""
    if order.paid_amount != before:
        _add(uow, t.order_hours, {"hour": hour_of(order.created_at)}, paid_amount=order.paid_amount - before)


def case_changed(uow: UnitOfWork, case_id: str | None) -> None:
    """A refund or dispute of the case changed: its hour takes the difference in its share."""
    if case_id is None:
        return
    c, r, d, k = t.after_sales.c, t.refunds.c, t.disputes.c, t.case_marks.c
    case = uow.execute(sa.select(c.created_at, c.reason, c.currency).where(c.id == case_id).with_for_update()).first()
    if case is None:
        return
    refunded = int(
        uow.execute(
            sa.select(sa.func.coalesce(sa.func.sum(r.amount), 0)).where(
                r.after_sale_id == case_id, r.status.in_(DECIDED_REFUND)
            )
        ).scalar_one()
    )
    lost = uow.execute(sa.select(sa.exists().where(d.after_sale_id == case_id, *_lost(d)))).scalar_one()
    mark = uow.execute(sa.select(k.refunded_amount, k.lost).where(k.after_sale_id == case_id)).first()
    was_refunded, was_lost = (int(mark.refunded_amount), bool(mark.lost)) if mark else (0, False)
    if (refunded, bool(lost)) == (was_refunded, was_lost):
        return
    _add(
        uow,
        t.case_hours,
        _case_key(case.created_at, case.reason, case.currency),
        refunded_requests=int(refunded > 0) - int(was_refunded > 0),
        refunded_amount=refunded - was_refunded,
        disputes_lost=int(bool(lost)) - int(was_lost),
    )
    uow.execute(t.case_marks.delete().where(k.after_sale_id == case_id))
    if refunded or lost:
        uow.execute(t.case_marks.insert().values(after_sale_id=case_id, refunded_amount=refunded, lost=bool(lost)))


def _lost(d: Any) -> list[Any]:
    return [d.status.in_(RULED), d.liable_party == MERCHANT]


def _case_key(created_at: datetime, reason: str, currency: str) -> dict[str, Any]:
    return {"hour": hour_of(created_at), "reason": reason, "currency": currency}


def _add(uow: UnitOfWork, table: sa.Table, key: dict[str, Any], **deltas: int) -> None:
    """Add `deltas` to the row of `key` (created with zeros first)."""
    values = {c.name: 0 for c in table.c if c.name not in key} | deltas
    insert = (postgresql.insert if uow.dialect == "postgresql" else sqlite.insert)(table).values(**key, **values)
    uow.execute(
        insert.on_conflict_do_update(index_elements=list(key), set_={n: table.c[n] + v for n, v in deltas.items()})
    )


def rebuild(conn: sa.Connection) -> None:
    """Every hour and mark derived again from the cases, orders, refunds and disputes."""
    c, r, d, k, o = t.after_sales.c, t.refunds.c, t.disputes.c, t.case_marks.c, t.orders.c
    for table in (t.case_hours, t.order_hours, t.case_marks):
        conn.execute(table.delete())
    marked = sa.union(
        sa.select(r.after_sale_id.label("id")).where(r.after_sale_id.is_not(None), r.status.in_(DECIDED_REFUND)),
        sa.select(d.after_sale_id.label("id")).where(*_lost(d)),
    ).subquery()
    refunded = (
        sa.select(sa.func.coalesce(sa.func.sum(r.amount), 0))
        .where(r.after_sale_id == marked.c.id, r.status.in_(DECIDED_REFUND))
        .scalar_subquery()
    )
    lost = sa.exists().where(d.after_sale_id == marked.c.id, *_lost(d))
    conn.execute(
        t.case_marks.insert().from_select(
            ["after_sale_id", "refunded_amount", "lost"], sa.select(marked.c.id, refunded, lost)
        )
    )
    hour = _hour_expr(conn, c.created_at)
    cases = conn.execute(
        sa.select(
            hour.label("hour"),
            c.reason,
            c.currency,
            sa.func.count().label("requests"),
            sa.func.sum(sa.case((k.refunded_amount > 0, 1), else_=0)).label("refunded_requests"),
            sa.func.coalesce(sa.func.sum(k.refunded_amount), 0).label("refunded_amount"),
            sa.func.sum(sa.case((k.lost.is_(True), 1), else_=0)).label("disputes_lost"),
        )
        .select_from(t.after_sales.outerjoin(t.case_marks, k.after_sale_id == c.id))
        .group_by(hour, c.reason, c.currency)
    ).mappings()
    _insert_hours(conn, t.case_hours, [dict(row) for row in cases])
    hour = _hour_expr(conn, o.created_at)
    orders = conn.execute(sa.select(hour.label("hour"), sa.func.sum(o.paid_amount).label("paid_amount")).group_by(hour))
    _insert_hours(conn, t.order_hours, [dict(row._mapping) for row in orders])


def _hour_expr(conn: sa.Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return sa.func.date_trunc("hour", column)
    return sa.func.strftime("%Y-%m-%d %H:00:00", column)


def _insert_hours(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        at = row["hour"]
        row["hour"] = (at if isinstance(at, datetime) else datetime.fromisoformat(str(at))).replace(tzinfo=UTC)
    for i in range(0, len(rows), 10_000):
        conn.execute(table.insert(), rows[i : i + 10_000])


# --- reading them ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonSums:
    reason: str
    requests: int
    refunded_requests: int
    refunded_amount: int
    disputes_lost: int
    currency: str

    def __add__(self, other: ReasonSums) -> ReasonSums:
        return ReasonSums(
            self.reason,
            self.requests + other.requests,
            self.refunded_requests + other.refunded_requests,
            self.refunded_amount + other.refunded_amount,
            self.disputes_lost + other.disputes_lost,
            max(self.currency, other.currency),
        )


def by_reason(uow: UnitOfWork, first: datetime, last: datetime) -> list[ReasonSums]:
    """Each reason's figures over the hours [first, last)."""
    h = t.case_hours.c
    rows: list[Any] = list(
        uow.execute(
            sa.select(
                h.reason,
                sa.func.sum(h.requests),
                sa.func.sum(h.refunded_requests),
                sa.func.sum(h.refunded_amount),
                sa.func.sum(h.disputes_lost),
                sa.func.max(h.currency),
            )
            .where(h.hour >= first, h.hour < last, h.requests > 0)
            .group_by(h.reason)
        )
    )
    return [ReasonSums(reason, int(n), int(rn), int(ra), int(dl), str(cur)) for reason, n, rn, ra, dl, cur in rows]


def requests_by_hour(uow: UnitOfWork, first: datetime, last: datetime) -> Counter[datetime]:
    h = t.case_hours.c
    rows: list[Any] = list(
        uow.execute(sa.select(h.hour, sa.func.sum(h.requests)).where(h.hour >= first, h.hour < last).group_by(h.hour))
    )
    return Counter({at: int(n) for at, n in rows if n})


def paid(uow: UnitOfWork, first: datetime, last: datetime) -> int:
    h = t.order_hours.c
    total = uow.execute(
        sa.select(sa.func.coalesce(sa.func.sum(h.paid_amount), 0)).where(h.hour >= first, h.hour < last)
    ).scalar_one()
    return int(total)
