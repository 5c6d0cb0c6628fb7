"""The platform agent's other desks: the appeals queue, the complaints queue and a complaint's page
(its actions through the generic form), a merchant's profile (history, violations, standing) and
the policy in force as a table of timers generated from the policy data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from babel.units import format_unit
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain import complaints as complaint_domain
from ...domain import errors as e
from ...domain.complaints import COMPLAINT_MACHINE
from ...domain.policy import WorkingDays
from ...policies import presets
from ...services import complaints, parties, policy_table, reads
from ..i18n import Formats, translations
from ..reading import list_uow
from ..render import next_page, page
from ..session import PATH, Viewer, runtime_of
from .cases import actions_for
from .disputes import Staff, roster

router = APIRouter(prefix=PATH, include_in_schema=False)


@router.get("/appeals")
def appeals(viewer: Staff, request: Request, status: str | None = None, cursor: str | None = None) -> Response:
    """Appeals oldest first; pending ones unless another status is asked for."""
    chosen = status if status in ("pending", "upheld", "overturned") else "pending"
    with list_uow(request) as uow:
        found = reads.appeal_queue(uow, viewer.actor, status=chosen, cursor=cursor, limit=50)
        names = parties.names(uow, [d for _, d in found.items])
        agents = roster(uow, viewer)
    more = next_page({"status": chosen}, found.next_cursor)
    return page(
        request,
        "console/agent_appeals.html",
        viewer,
        rows=found.items,
        names=names,
        agents=agents,
        chosen=chosen,
        more=more,
    )


@router.get("/complaints")
def complaint_queue(viewer: Staff, request: Request, status: str | None = None, cursor: str | None = None) -> Response:
    """Complaints newest first; by default those waiting on the platform's review."""
    chosen = status if status in (*complaint_domain.STATUSES, "any") else None
    statuses = {None: complaint_domain.UNDER_REVIEW, "any": None}.get(chosen, chosen)
    with list_uow(request) as uow:
        found = reads.complaint_list(uow, viewer.actor, status=statuses, cursor=cursor, limit=50)
        names = parties.names(uow, found.items)
    more = next_page({"status": chosen}, found.next_cursor)
    return page(
        request,
        "console/agent_complaints.html",
        viewer,
        complaints=found.items,
        names=names,
        chosen=chosen,
        statuses=complaint_domain.STATUSES,
        more=more,
    )


@router.get("/complaints/{complaint_id}")
def complaint_page(complaint_id: str, viewer: Staff, request: Request) -> Response:
    runtime = runtime_of(request)
    with runtime.uow(read_only=True) as uow:
        complaint = complaints.get(uow, viewer.actor, complaint_id)
        names = parties.names(uow, [complaint])
        events = reads.timeline(uow, viewer.actor, "complaint", complaint.id)
    return page(
        request,
        "console/agent_complaint.html",
        viewer,
        complaint=complaint,
        names=names,
        events=events,
        actions=actions_for(viewer, complaint, COMPLAINT_MACHINE),
    )


@router.get("/merchants/{merchant_id}")
def merchant_profile(merchant_id: str, viewer: Staff, request: Request) -> Response:
    runtime = runtime_of(request)
    with runtime.uow(read_only=True) as uow:
        history = reads.merchant_history(uow, viewer.actor, merchant_id)
        profile = _profile(uow, viewer, merchant_id, known=bool(history.cases_by_status))
        violations = reads.violations(uow, viewer.actor, merchant_id)
        standing = reads.standing(uow, runtime.env, viewer.actor, merchant_id)
        names = parties.names(uow, [*history.recent_cases, *history.recent_disputes])
    return page(
        request,
        "console/agent_merchant.html",
        viewer,
        merchant=profile,
        history=history,
        violations=list(reversed(violations)),
        standing=standing,
        names=names,
    )


def _profile(uow: Any, viewer: Viewer, merchant_id: str, known: bool) -> dict[str, Any] | None:
    """The shop's profile; a shop the marketplace never described but with cases has none."""
    try:
        return parties.get_merchant(uow, viewer.actor, merchant_id)
    except e.NotFound:
        if known:
            return None
        raise


@router.get("/policy")
def policy(viewer: Staff, request: Request, key: str | None = None) -> Response:
    """The timers of a policy preset (the default one unless `key` names another)."""
    runtime = runtime_of(request)
    known = presets()
    chosen = known.get(key or "") or runtime.env.policy(runtime.env.default_policy)
    return page(
        request,
        "console/agent_policy.html",
        viewer,
        policy=chosen,
        keys=sorted(known),
        timers=policy_table.timers(chosen),
        duration=lambda value: duration(viewer.formats, value),
    )


def duration(formats: Formats, value: timedelta | WorkingDays) -> str:
    """A timer's length in words as a person would say it: working days, days (from four on, or
    whole weeks), hours, or minutes."""
    if isinstance(value, WorkingDays):
        gettext = translations(formats.lang).gettext
        return gettext("1 working day") if value.days == 1 else gettext("%(num)d working days") % {"num": value.days}
    seconds = int(value.total_seconds())
    day, hour = 86400, 3600
    if seconds % day == 0 and seconds >= 4 * day:
        return _unit(formats, seconds // day, "duration-day")
    if seconds % hour == 0:
        return _unit(formats, seconds // hour, "duration-hour")
    if seconds % 60 == 0:
        return _unit(formats, seconds // 60, "duration-minute")
    return _unit(formats, seconds, "duration-second")


def _unit(formats: Formats, amount: int, unit: str) -> str:
    return str(format_unit(amount, unit, length="long", locale=formats.locale))
