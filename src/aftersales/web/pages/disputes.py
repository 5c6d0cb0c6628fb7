"""The platform's intervention and arbitration desk: the queue of disputes by ruling deadline with
assignment, the case workspace an agent rules from (the order's facts, the case, both sides'
statements, evidence and messages, private notes, the dispute's action forms), and the appeals of a
ruling, decided by another agent. For platform staff only: anyone else is refused (403), as the
API refuses them its queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from ...api import schemas
from ...domain import disputes as domain
from ...domain import errors as e
from ...domain.disputes import DISPUTE_MACHINE, Dispute
from ...domain.roles import PLATFORM
from ...services import cases, disputes, evidence, messages, orders, parties, reads, rulings
from ...services.kinds import KINDS
from .. import flash, forms
from ..i18n import N_, translations
from ..reading import list_uow
from ..render import next_page, page
from ..session import PATH, Viewer, check_csrf, runtime_of, signed_in
from .cases import PANELS, problem_text, submit

router = APIRouter(prefix=PATH, include_in_schema=False)

# What the queue shows unless asked otherwise: what still needs the platform (a ruling, an appeal).
TO_DO = (*domain.ACTIVE, "appealed")
ASSIGNED = ("mine", "unassigned", "anyone")
SLA = ("breached", "due_24h")


def platform_staff(viewer: Annotated[Viewer, Depends(signed_in)]) -> Viewer:
    if viewer.role not in PLATFORM:
        raise e.Forbidden("the desk is for platform agents")
    return viewer


Staff = Annotated[Viewer, Depends(platform_staff)]


def roster(uow: Any, viewer: Viewer) -> dict[str, str]:
    """Agents by id and name (the assign form's choices and the queue's assignee column)."""
    return {a["id"]: a["name"] for a in disputes.agents_with_load(uow, viewer.actor) if a["active"]}


@router.get("/disputes")
def queue(
    viewer: Staff,
    request: Request,
    status: str | None = None,
    kind: str | None = None,
    assigned: str | None = None,
    sla: str | None = None,
    cursor: str | None = None,
) -> Response:
    """Disputes by ruling deadline, soonest first; filters are ignored unless they name a known value."""
    chosen = {
        "status": status if status in (*domain.STATUSES, "any") else None,
        "kind": kind if kind in domain.KINDS else None,
        "assigned": assigned if assigned in ASSIGNED else "anyone",
        "sla": sla if sla in SLA else None,
    }
    statuses: str | tuple[str, ...] | None = {None: TO_DO, "any": None}.get(chosen["status"], chosen["status"])
    with list_uow(request) as uow:
        found = reads.dispute_queue(
            uow,
            viewer.actor,
            viewer.now,
            status=statuses,
            kind=chosen["kind"],
            assignee=viewer.actor.id if chosen["assigned"] == "mine" else None,
            unassigned=chosen["assigned"] == "unassigned",
            sla=chosen["sla"],
            by_sla=True,
            cursor=cursor,
            limit=50,
        )
        names = parties.names(uow, found.items)
        agents = roster(uow, viewer)
    rows = [{"dispute": d, "may_assign": _may(viewer, d, "assign")} for d in found.items]
    more = next_page(chosen, found.next_cursor)
    return page(
        request,
        "console/agent_queue.html",
        viewer,
        rows=rows,
        names=names,
        agents=agents,
        chosen=chosen,
        statuses=domain.STATUSES,
        kinds=domain.KINDS,
        more=more,
        awaiting=domain.AWAITING_RULING,
    )


def _may(viewer: Viewer, dispute: Dispute, action: str) -> bool:
    return action in DISPUTE_MACHINE.allowed_actions(dispute, viewer.role, viewer.actor)


@router.get("/disputes/{dispute_id}")
def workspace(dispute_id: str, viewer: Staff, request: Request) -> Response:
    runtime = runtime_of(request)
    actor = viewer.actor
    with runtime.uow(read_only=True) as uow:
        dispute, talk = messages.with_dispute(uow, actor, dispute_id)
        case = cases.get(uow, actor, dispute.after_sale_id)
        order = orders.get(uow, actor, dispute.order_id)
        names = parties.names(uow, [dispute])
        agents = roster(uow, viewer)
        appeals = rulings.appeals_of(uow, actor, dispute.id)
        cited = [*case.evidence, *(i for s in dispute.statements for i in s.get("evidence", ()))]
        cited += [i for a in appeals for i in a["evidence"]]
        files = [f for f in (_file(uow, viewer, i) for i in dict.fromkeys(cited)) if f is not None]
        timeline = _timeline(
            viewer, reads.timeline(uow, actor, "after_sale", case.id), reads.timeline(uow, actor, "dispute", dispute.id)
        )
        notes = disputes.notes(uow, actor, dispute.id)
    sides = {
        side: {
            "statements": [s for s in dispute.statements if s.get("party") == side],
            "files": [f for f in files if f["uploader_role"] == side],
            "messages": [m for m in talk if m["author_role"] == side],
        }
        for side in ("buyer", "merchant")
    }
    specs = DISPUTE_MACHINE.specs
    offered = [
        {"spec": specs[name], "fields": forms.fields(specs[name])}
        for name in DISPUTE_MACHINE.allowed_actions(dispute, viewer.role, actor)
        if specs[name].posted
    ]
    decide = {"spec": specs["decide"], "fields": forms.fields(specs["decide"])}
    return page(
        request,
        "console/agent_dispute.html",
        viewer,
        dispute=dispute,
        case=case,
        order=order,
        names=names,
        agents=agents,
        appeals=appeals,
        sides=sides,
        others=[f for f in files if f["uploader_role"] not in sides],
        messages=talk,
        timeline=timeline,
        notes=notes,
        actions=offered,
        decide=decide,
        choices={"agent_id": sorted(agents.items())},
        may_take=_may(viewer, dispute, "assign") and dispute.assignee != actor.id,
    )


def _file(uow: Any, viewer: Viewer, evidence_id: str) -> dict[str, Any] | None:
    try:
        return evidence.get(uow, viewer.actor, evidence_id)
    except e.NotFound:
        return None


# The events that create a subject have no action spec: what they read as.
CREATED = {"after_sale": N_("Request filed"), "dispute": N_("Dispute opened")}


def _timeline(viewer: Viewer, case_events: list[Any], dispute_events: list[Any]) -> list[dict[str, Any]]:
    """The case's and the dispute's events in one line, oldest first, each with its action's label."""
    gettext = translations(viewer.lang).gettext
    out = []
    for kind, events in (("after_sale", case_events), ("dispute", dispute_events)):
        entry = KINDS[kind]
        for ev in events:
            spec = entry.machine.specs.get(ev.action)
            if spec is not None:
                label: Any = spec.label
            elif ev.action == entry.kind.created_by:
                label = gettext(CREATED[kind])
            else:
                label = ev.action
            out.append({"at": ev.at, "action": ev.action, "role": ev.actor_role, "label": label})
    return sorted(out, key=lambda item: item["at"])


@router.post("/disputes/{dispute_id}/notes")
def add_note(
    dispute_id: str,
    viewer: Staff,
    request: Request,
    body: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """A private note: agents only; the parties' pages never show them. Checked by the API's own
    model of a note (1 to 4000 characters)."""
    check_csrf(viewer, {"csrf": csrf})
    runtime = runtime_of(request)
    response = RedirectResponse(f"{PATH}/disputes/{dispute_id}#notes", status_code=303)
    try:
        note = schemas.Note.model_validate({"body": body})
    except ValidationError:
        flash.put(
            response, request, problem_text(viewer, e.ValidationFailed("a note has 1 to 4000 characters")), ok=False
        )
        return response
    with runtime.uow() as uow:
        disputes.add_note(uow, runtime.env, viewer.actor, dispute_id, note.body)
        uow.commit()
    return response


@router.post("/appeals/{appeal_id}/decide")
async def decide_appeal(appeal_id: str, viewer: Staff, request: Request) -> Response:
    """Uphold or overturn an appeal (an agent other than the one who ruled), from its form."""
    form = await request.form()
    check_csrf(viewer, form)
    runtime = runtime_of(request)
    spec = DISPUTE_MACHINE.specs["decide"]
    with runtime.uow(read_only=True) as uow:
        dispute_id = rulings.get_appeal(uow, viewer.actor, appeal_id)["dispute_id"]
    return submit(
        request,
        viewer,
        form,
        spec,
        "Appeal",
        lambda uow, env, inputs, expected: rulings.decide(uow, env, viewer.actor, appeal_id, inputs, expected),
        back=f"{PATH}/disputes/{dispute_id}#appeals",
    )


def case_panel(uow: Any, viewer: Viewer, case: Any) -> dict[str, Any]:
    """An agent's panel on the shared case page: the case's dispute (its ruling) when it has one."""
    return {"dispute": disputes.get(uow, viewer.actor, case.dispute_id) if case.dispute_id else None}


PANELS["agent"] = case_panel
