"""Figures as charts: a shop's after-sales metrics (its staff) and the platform's dashboard
(agents and admins). The figures come from services/reports.py; this module only words them in
the viewer's language (reasons, money, rates, durations, days) and draws them (web/charts.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from babel.dates import format_skeleton, format_timedelta
from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup

from ...domain import labels
from ...services import reports
from .. import charts
from ..i18n import Formats, translations
from ..reading import list_uow
from ..render import page
from ..session import PATH, Viewer, signed_in

router = APIRouter(prefix=PATH, include_in_schema=False)
SignedIn = Annotated[Viewer, Depends(signed_in)]


@dataclass(frozen=True)
class Figure:
    """A chart and, as its text alternative, the same figures as (label, value) rows."""

    title: str
    svg: Markup
    head: str  # the rows' heading ("Reason", "Day")
    value_head: str
    rows: list[tuple[str, str]]
    folded: bool = False  # a long series: its table behind a disclosure


@router.get("/merchant/metrics")
def merchant_metrics(viewer: SignedIn, request: Request, days: str | None = None) -> Response:
    with list_uow(request) as uow:
        metrics = reports.merchant_metrics(uow, viewer.actor, reports.period(days, viewer.now))
    w, _ = Words(viewer.formats, metrics), translations(viewer.lang).gettext
    reasons = [w.reason(f.reason) for f in metrics.by_reason]
    empty = _("No requests in this period")
    figures = [
        _bars(
            _("Requests by reason"),
            _("Reason"),
            _("Requests"),
            reasons,
            [f.requests for f in metrics.by_reason],
            w.count,
            empty,
            whole=True,
        ),
        _bars(
            _("Refunded amount by reason"),
            _("Reason"),
            _("Refunded"),
            reasons,
            [f.refunded_amount for f in metrics.by_reason],
            w.money,
            empty,
        ),
    ]
    return page(
        request,
        "console/reports_merchant.html",
        viewer,
        metrics=metrics,
        w=w,
        figures=figures,
        **_periods(metrics.period),
    )


@router.get("/dashboard")
def dashboard(viewer: SignedIn, request: Request, days: str | None = None) -> Response:
    with list_uow(request) as uow:
        board = reports.dashboard(uow, viewer.actor, reports.period(days, viewer.now), viewer.formats.tz)
    w, _ = Words(viewer.formats, board.metrics), translations(viewer.lang).gettext
    empty = _("Nothing in this period")
    sla, by_reason, paid = board.sla, board.metrics.by_reason, board.metrics.paid_amount
    days_read = [w.day(d) for d, _n in board.volume]
    counts = [n for _d, n in board.volume]
    volume_title = _("Requests filed per day")
    slices = [(_("Ruled within the SLA"), sla.ruled_on_time), (_("SLA breached"), sla.breached)]
    sla_title = _("Disputes ruled within their SLA")
    figures = [
        Figure(
            volume_title,
            charts.daily(volume_title, days_read, counts, no_data=empty, every=7 if len(counts) > 8 else 1),
            _("Day"),
            _("Requests"),
            [(d, w.count(n)) for d, n in zip(days_read, counts, strict=True)],
            folded=True,
        ),
        Figure(
            sla_title,
            charts.pie(sla_title, slices, no_data=empty),
            _("Disputes"),
            _("Count"),
            [*((label, w.count(n)) for label, n in slices), (_("Not yet due"), w.count(sla.pending))],
        ),
        _bars(
            _("Refund rate by reason (refunded amount / paid amount)"),
            _("Reason"),
            _("Refund rate"),
            [w.reason(f.reason) for f in by_reason],
            [f.amount_rate(paid) or 0 for f in by_reason],
            w.rate,
            empty,
        ),
        _bars(
            _("Merchants with most disputes"),
            _("Merchant"),
            _("Disputes"),
            [s.name or s.merchant_id for s in board.top_merchants],
            [s.disputes for s in board.top_merchants],
            w.count,
            empty,
            whole=True,
        ),
    ]
    return page(
        request, "console/reports_dashboard.html", viewer, board=board, w=w, figures=figures, **_periods(board.period)
    )


def _bars(
    title: str,
    head: str,
    value_head: str,
    names: list[str],
    values: list[Any],
    fmt: Callable[[Any], str],
    empty: str,
    *,
    whole: bool = False,
) -> Figure:
    svg = charts.bars(title, names, values, fmt, no_data=empty, whole=whole)
    return Figure(title, svg, head, value_head, [(n, fmt(v)) for n, v in zip(names, values, strict=True)])


def _periods(p: reports.Period) -> dict[str, Any]:
    return {"period": p, "periods": reports.PERIODS}


class Words:
    """The figures as this viewer reads them."""

    def __init__(self, formats: Formats, metrics: reports.Metrics) -> None:
        self.f, self.currency, self.paid = formats, metrics.currency, metrics.paid_amount

    def reason(self, code: str | None) -> str:
        return self.f.label(labels.of(labels.CASE_REASON, code))

    def count(self, n: float | None) -> str:
        return format_decimal(n or 0, locale=self.f.locale)

    def money(self, amount: float | None) -> str:
        return self.f.money(int(amount or 0), self.currency)

    def rate(self, value: float | None) -> str:
        return "—" if value is None else format_percent(value, "#,##0.0%", locale=self.f.locale)

    def amount_rate(self, figures: reports.ReasonFigures) -> str:
        return self.rate(figures.amount_rate(self.paid))

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "—"
        return format_timedelta(timedelta(seconds=seconds), threshold=1.5, locale=self.f.locale)

    def day(self, d: date) -> str:
        return format_skeleton("MMMd", d, locale=self.f.locale)
