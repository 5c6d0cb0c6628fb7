"""After-sales figures over a period, aggregated by SQL on both databases: a shop's metrics
(requests, refund rates, median time to answer, disputes lost, by reason) and the platform's
dashboard (volume by day, SLA compliance, refund rate by reason, merchants with most disputes).

Every query starts from an indexed range: a shop's cases by (merchant_id, created_at), the
platform's by (status, created_at) with every status listed (one index range per status, so
the planner never scans the table), disputes by (status, ruling_due_at) or (status, created_at);
what each case needs besides (its refunds, its first answer, its disputes) is looked up by the
case's id in an index. Only the aggregates leave the database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa

from ..domain import cases as case_rules
from ..domain import complaints as complaint_rules
from ..domain import disputes as dispute_rules
from ..domain.errors import NotFound, ValidationFailed
from ..domain.roles import MERCHANT, PLATFORM
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import Actor

PERIODS = (7, 30, 90)  # the periods a page offers, in days back from now
DEFAULT_PERIOD = 30
TOP_MERCHANTS = 10
# A refund counts once decided: pending at the provider or paid; a failed transfer does not
# (until it is retried and pending again).
DECIDED_REFUND = ("pending", "succeeded")
RULED = ("ruled", "appealed", "final")
# Disputes whose ruling has a due time: accepted ones, awaiting the ruling or ruled.
WITH_RULING_DUE = (*dispute_rules.AWAITING_RULING, *RULED)


@dataclass(frozen=True)
class Period:
    days: int
    since: datetime
    until: datetime


def period(days: str | int | None, now: datetime) -> Period:
    """The last `days` days up to now; only the offered periods (a 400 for anything else)."""
    if days in (None, ""):
        chosen = DEFAULT_PERIOD
    else:
        text = str(days)
        if not text.isdigit() or int(text) not in PERIODS:
            raise ValidationFailed(f"days must be one of {', '.join(map(str, PERIODS))}")
        chosen = int(text)
    return Period(chosen, now - timedelta(days=chosen), now)


@dataclass(frozen=True)
class ReasonFigures:
    """One reason's figures (reason None: every reason together)."""

    reason: str | None
    requests: int
    refunded_requests: int
    refunded_amount: int
    answered: int  # requests the merchant has answered (the median is over these)
    median_answer_seconds: float | None
    disputes_lost: int  # disputes on these requests ruled with the merchant liable

    def request_rate(self) -> float | None:
        return self.refunded_requests / self.requests if self.requests else None

    def amount_rate(self, paid_amount: int) -> float | None:
        """Refunded amount over the paid amount of the period's orders (rows add up to the total)."""
        return self.refunded_amount / paid_amount if paid_amount else None


@dataclass(frozen=True)
class Metrics:
    period: Period
    paid_amount: int  # paid for the orders placed in the period
    currency: str
    total: ReasonFigures
    by_reason: list[ReasonFigures]  # most requests first


def merchant_metrics(uow: UnitOfWork, actor: Actor, p: Period) -> Metrics:
    """A shop's after-sales metrics over the period, for its own staff only (others: 404)."""
    if actor.role != MERCHANT or actor.merchant_id is None:
        raise NotFound("no such page")
    _no_jit(uow)
    return _metrics(uow, actor.merchant_id, p, answers=True)


@dataclass(frozen=True)
class Sla:
    ruled_on_time: int
    breached: int  # ruled late, or past due and still unruled
    pending: int  # not ruled yet and not yet due
    complaints_on_time: int  # complaints decided without breaching the review SLA
    complaints_breached: int


@dataclass(frozen=True)
class MerchantDisputes:
    merchant_id: str
    name: str | None
    disputes: int
    lost: int


@dataclass(frozen=True)
class Dashboard:
    period: Period
    volume: list[tuple[date, int]]  # cases filed on each day of the period, in the viewer's zone
    sla: Sla
    metrics: Metrics
    top_merchants: list[MerchantDisputes]


def dashboard(uow: UnitOfWork, actor: Actor, p: Period, zone: tzinfo) -> Dashboard:
    """The platform's dashboard, for agents and admins only (others: 404)."""
    if actor.role not in PLATFORM:
        raise NotFound("no such page")
    _no_jit(uow)
    return Dashboard(p, _volume(uow, p, zone), _sla(uow, p), _metrics(uow, None, p), _top_merchants(uow, p))


# --- the queries ----------------------------------------------------------------------------


def _no_jit(uow: UnitOfWork) -> None:
    """PostgreSQL fast path: no JIT for this transaction. The planner's estimate of the per-case
    lookups over a period's thousands of cases crosses jit_above_cost, and compiling took longer
    than running the query (160 ms of 350 ms on 12 000 cases)."""
    if uow.dialect == "postgresql":
        uow.execute(sa.text("SET LOCAL jit = off"))


def _cases_in(p: Period, merchant_id: str | None) -> list[Any]:
    c = t.after_sales.c
    where = [c.created_at >= p.since, c.created_at < p.until]
    # A shop's range is (merchant_id, created_at); the platform's, one (status, created_at) range per status.
    where.append(c.merchant_id == merchant_id if merchant_id else c.status.in_(case_rules.STATUSES))
    return where


def _seconds_between(uow: UnitOfWork, later: Any, earlier: Any) -> Any:
    if uow.dialect == "postgresql":
        return sa.func.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def _metrics(uow: UnitOfWork, merchant_id: str | None, p: Period, *, answers: bool = False) -> Metrics:
    c, r, ev = t.after_sales.c, t.refunds.c, t.events.c
    columns = [
        c.reason,
        sa.func.max(c.currency).label("currency"),
        sa.func.coalesce(sa.func.sum(r.amount), 0).label("refunded"),
    ]
    if answers:
        # The merchant's first event on the case (an answer, an offer, a message...) after filing.
        first = (
            sa.select(sa.func.min(ev.at))
            .where(ev.subject_kind == "after_sale", ev.subject_id == c.id, ev.actor_role == MERCHANT)
            .scalar_subquery()
        )
        columns.append(_seconds_between(uow, first, c.created_at).label("seconds"))
    # One row per case with its decided refunds (joined by the refunds' after_sale_id index).
    per_case = (
        sa.select(*columns)
        .select_from(t.after_sales.outerjoin(t.refunds, sa.and_(r.after_sale_id == c.id, r.status.in_(DECIDED_REFUND))))
        .where(*_cases_in(p, merchant_id))
        .group_by(c.id, c.reason, c.created_at)
        .subquery("per_case")
    )
    source, medians = (_ranked(per_case), _median_columns) if answers else (per_case, None)
    q = source.c
    grouped = sa.select(
        q.reason,
        sa.func.count().label("requests"),
        sa.func.sum(sa.case((q.refunded > 0, 1), else_=0)).label("refunded_requests"),
        sa.func.sum(q.refunded).label("refunded_amount"),
        sa.func.max(q.currency).label("currency"),
        *(medians(q) if medians else []),
    ).group_by(q.reason)
    rows = uow.execute(grouped).mappings().all()
    lost = _disputes_lost(uow, merchant_id, p)
    by_reason = [
        ReasonFigures(
            reason=row["reason"],
            requests=int(row["requests"]),
            refunded_requests=int(row["refunded_requests"] or 0),
            refunded_amount=int(row["refunded_amount"] or 0),
            answered=int(row["answered"]) if answers else 0,
            median_answer_seconds=None if not answers or row["median"] is None else float(row["median"]),
            disputes_lost=lost.get(row["reason"], 0),
        )
        for row in rows
    ]
    by_reason.sort(key=lambda f: (-f.requests, f.reason or ""))
    mid_n = sum(int(row["mid_n"] or 0) for row in rows) if answers else 0
    total = ReasonFigures(
        None,
        sum(f.requests for f in by_reason),
        sum(f.refunded_requests for f in by_reason),
        sum(f.refunded_amount for f in by_reason),
        sum(f.answered for f in by_reason),
        sum(float(row["mid_sum"] or 0) for row in rows) / mid_n if mid_n else None,
        sum(f.disputes_lost for f in by_reason),
    )
    currency = max((str(row["currency"]) for row in rows), default="CNY")
    return Metrics(p, _paid(uow, merchant_id, p), currency, total, by_reason)


def _ranked(per_case: Any) -> Any:
    """The medians by window functions, which both databases have: each case ranked by its
    answer time within its reason and overall (the unanswered apart)."""
    k = per_case.c
    answered = [k.seconds.is_(None)]
    return sa.select(
        per_case,
        sa.func.row_number().over(partition_by=[k.reason, *answered], order_by=k.seconds).label("rn"),
        sa.func.count().over(partition_by=[k.reason, *answered]).label("n"),
        sa.func.row_number().over(partition_by=answered, order_by=k.seconds).label("rn_all"),
        sa.func.count().over(partition_by=answered).label("n_all"),
    ).subquery("ranked")


def _median_columns(q: Any) -> list[Any]:
    """A reason's median (the middle row, or the mean of the two middle rows), and its share of
    the overall median's middle rows (their sum and count: they fall in one or two reasons)."""

    def middle(rn: Any, n: Any) -> Any:
        return sa.and_(q.seconds.is_not(None), rn.in_([(n + 1) // 2, (n + 2) // 2]))

    return [
        sa.func.count(q.seconds).label("answered"),
        sa.func.avg(sa.case((middle(q.rn, q.n), q.seconds))).label("median"),
        sa.func.sum(sa.case((middle(q.rn_all, q.n_all), q.seconds), else_=0)).label("mid_sum"),
        sa.func.sum(sa.case((middle(q.rn_all, q.n_all), 1), else_=0)).label("mid_n"),
    ]


def _disputes_lost(uow: UnitOfWork, merchant_id: str | None, p: Period) -> dict[str, int]:
    """Requests of the period with a dispute ruled against the merchant, by reason: from the
    ruled disputes opened since the period began (a dispute comes after its request)."""
    c, d = t.after_sales.c, t.disputes.c
    where = [
        d.status.in_(RULED),
        d.created_at >= p.since,
        d.liable_party == MERCHANT,
        c.created_at >= p.since,
        c.created_at < p.until,
    ]
    if merchant_id:
        where.append(d.merchant_id == merchant_id)
    q = sa.select(c.reason, sa.func.count(sa.distinct(c.id))).select_from(
        t.disputes.join(t.after_sales, c.id == d.after_sale_id)
    )
    rows: list[Any] = list(uow.execute(q.where(*where).group_by(c.reason)))
    return {reason: int(n) for reason, n in rows}


def _paid(uow: UnitOfWork, merchant_id: str | None, p: Period) -> int:
    o = t.orders.c
    where = [o.created_at >= p.since, o.created_at < p.until]
    if merchant_id:
        where.append(o.merchant_id == merchant_id)
    return int(uow.execute(sa.select(sa.func.coalesce(sa.func.sum(o.paid_amount), 0)).where(*where)).scalar_one())


def _volume(uow: UnitOfWork, p: Period, zone: tzinfo) -> list[tuple[date, int]]:
    """Cases filed per day in `zone`: counted per UTC hour in SQL (exact for every zone on whole
    hours, summer time included), the hours folded into the zone's days here."""
    c = t.after_sales.c
    if uow.dialect == "postgresql":
        hour: Any = sa.func.date_trunc("hour", c.created_at)
    else:
        hour = sa.func.strftime("%Y-%m-%d %H:00:00", c.created_at)
    rows: list[Any] = list(
        uow.execute(sa.select(hour.label("h"), sa.func.count()).where(*_cases_in(p, None)).group_by("h"))
    )
    days: Counter[date] = Counter()
    for at, count in rows:
        moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        days[moment.replace(tzinfo=UTC).astimezone(zone).date()] += int(count)
    first, last = p.since.astimezone(zone).date(), p.until.astimezone(zone).date()
    return [(first + timedelta(days=i), days[first + timedelta(days=i)]) for i in range((last - first).days + 1)]


def _sla(uow: UnitOfWork, p: Period) -> Sla:
    """Disputes whose ruling was due in the period (or is due later): ruled in time, breached, or
    still in time; complaints filed in the period whose review was decided in time or breached."""
    d = t.disputes.c
    ruled_in_time = sa.and_(d.ruled_at.is_not(None), d.ruled_at <= d.ruling_due_at, d.sla_breached.is_(False))
    late = sa.or_(
        d.sla_breached.is_(True), d.ruled_at > d.ruling_due_at, sa.and_(d.ruled_at.is_(None), d.ruling_due_at < p.until)
    )
    disputes = uow.execute(
        sa.select(
            sa.func.count(),
            sa.func.sum(sa.case((ruled_in_time, 1), else_=0)),
            sa.func.sum(sa.case((late, 1), else_=0)),
        ).where(d.status.in_(WITH_RULING_DUE), d.ruling_due_at >= p.since)
    ).one()
    m = t.complaints.c
    complaints: Any = uow.execute(
        sa.select(
            sa.func.sum(sa.case((sa.and_(m.status == "decided", m.review_breached.is_(False)), 1), else_=0)),
            sa.func.sum(sa.case((m.review_breached.is_(True), 1), else_=0)),
        ).where(m.status.in_(complaint_rules.STATUSES), m.created_at >= p.since, m.created_at < p.until)
    ).one()
    total, on_time, breached = (int(v or 0) for v in disputes)
    return Sla(on_time, breached, total - on_time - breached, int(complaints[0] or 0), int(complaints[1] or 0))


def _top_merchants(uow: UnitOfWork, p: Period) -> list[MerchantDisputes]:
    """The shops with most disputes opened in the period, with their names."""
    d, m = t.disputes.c, t.merchants.c
    counted = (
        sa.select(
            d.merchant_id,
            sa.func.count().label("disputes"),
            sa.func.sum(sa.case((sa.and_(d.status.in_(RULED), d.liable_party == "merchant"), 1), else_=0)).label(
                "lost"
            ),
        )
        .where(d.status.in_(dispute_rules.STATUSES), d.created_at >= p.since, d.created_at < p.until)
        .group_by(d.merchant_id)
        .order_by(sa.func.count().desc(), d.merchant_id)
        .limit(TOP_MERCHANTS)
        .subquery()
    )
    q = counted.c
    rows: list[Any] = list(
        uow.execute(
            sa.select(q.merchant_id, m.name, q.disputes, q.lost)
            .outerjoin(t.merchants, m.id == q.merchant_id)
            .order_by(q.disputes.desc(), q.merchant_id)
        )
    )
    return [MerchantDisputes(mid, name, int(n), int(lost or 0)) for mid, name, n, lost in rows]
