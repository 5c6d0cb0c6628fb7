"""Disputes: intervention and arbitration, evidence, the agents' queue, rulings and appeals."""

from typing import Literal

from fastapi import APIRouter, Query, Request

from ...domain import disputes as domain
from ...domain.cases import REASONS
from ...services import disputes, messages, reads, rulings
from ...services.kinds import KINDS
from .. import requests
from .. import responses as out
from .. import schemas as s
from ..action_routes import add_action_routes
from ..actions import listing, perform, read, read_replica, respond, timeline
from ..auth import CurrentActor
from ..views import dispute_view, row_view, shown

router = APIRouter(prefix="/v1/disputes", tags=["disputes"])
appeals_router = APIRouter(prefix="/v1/appeals", tags=["disputes"])
arbitration_router = APIRouter(prefix="/v1/arbitrations", tags=["disputes"])

# Appeals are filed on the dispute's appeals and decided on their own resource.
_SPECS = KINDS["dispute"].machine.specs
AppealIn = requests.model(_SPECS["appeal"], "Dispute")
AppealDecision = requests.model(_SPECS["decide"], "Appeal")


@router.get(
    "", summary="The agents' queue, oldest first, with filters and SLA urgency", responses=out.ok(out.DisputePage)
)
def list_disputes(
    request: Request,
    actor: CurrentActor,
    status: Literal[domain.STATUSES] | None = None,  # type: ignore[valid-type]
    kind: Literal[domain.KINDS] | None = None,  # type: ignore[valid-type]
    assignee: str | None = None,
    merchant_id: str | None = None,
    reason: Literal[tuple(REASONS)] | None = None,  # type: ignore[valid-type]
    sla: Literal[domain.SLA_FILTERS] | None = Query(  # type: ignore[valid-type]
        None, description="`breached`: past its ruling deadline; `due_24h`: due within a day"
    ),
    cursor: s.Cursor = None,
    limit: s.Limit = 50,
):
    now = request.app.state.runtime.env.clock.now()
    return listing(
        request,
        lambda uow: reads.dispute_queue(
            uow,
            actor,
            now,
            status=status,
            kind=kind,
            assignee=assignee,
            merchant_id=merchant_id,
            reason=reason,
            sla=sla,
            cursor=cursor,
            limit=limit,
        ),
        lambda d, names: dispute_view(d, actor, names),
    )


@router.get("/{dispute_id}", summary="A dispute, with its case's messages", responses=out.ok(out.DisputeRead))
def get_dispute(dispute_id: str, request: Request, actor: CurrentActor):
    def work(uow):
        dispute, said = messages.with_dispute(uow, actor, dispute_id)
        return shown(uow, dispute_view, dispute, actor) | {"messages": [row_view(m) for m in said]}

    return respond(200, read(request, work))


@router.get("/{dispute_id}/events", responses=out.ok(out.Events))
def dispute_events(dispute_id: str, request: Request, actor: CurrentActor):
    return timeline(request, actor, "dispute", dispute_id)


@router.get("/{dispute_id}/appeals", summary="Appeals of a dispute and their status", responses=out.ok(out.Appeals))
def list_appeals(dispute_id: str, request: Request, actor: CurrentActor):
    return read_replica(
        request, lambda uow: {"items": [row_view(a) for a in rulings.appeals_of(uow, actor, dispute_id)]}
    )


@router.post(
    "/{dispute_id}/appeals", status_code=201, summary="The losing party appeals 申诉", responses=out.ok(out.Appeal, 201)
)
def file_appeal(dispute_id: str, body: AppealIn, request: Request, actor: CurrentActor):  # type: ignore[valid-type]
    env, params = request.app.state.runtime.env, body.model_dump()  # type: ignore[attr-defined]
    inputs = requests.inputs(_SPECS["appeal"], body)
    return perform(
        request, actor, params, lambda uow: (201, row_view(rulings.appeal(uow, env, actor, dispute_id, inputs)))
    )


@router.get("/{dispute_id}/notes", summary="Agents' internal notes", responses=out.ok(out.DisputeNotes))
def list_notes(dispute_id: str, request: Request, actor: CurrentActor):
    return read_replica(request, lambda uow: {"items": [row_view(n) for n in disputes.notes(uow, actor, dispute_id)]})


@router.post(
    "/{dispute_id}/notes",
    status_code=201,
    summary="Add an internal note (agents only)",
    responses=out.ok(out.DisputeNote, 201),
)
def add_note(dispute_id: str, body: s.Note, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    return perform(
        request,
        actor,
        body.model_dump(),
        lambda uow: (201, row_view(disputes.add_note(uow, env, actor, dispute_id, body.body))),
    )


add_action_routes(router, KINDS["dispute"], dispute_view, out.Dispute)


@appeals_router.get("/{appeal_id}", summary="An appeal and its decision", responses=out.ok(out.Appeal))
def get_appeal(appeal_id: str, request: Request, actor: CurrentActor):
    return read(request, lambda uow: row_view(rulings.get_appeal(uow, actor, appeal_id)))


@appeals_router.post(
    "/{appeal_id}/decide",
    summary="Uphold or overturn (an agent other than the ruler)",
    responses=out.ok(out.Appeal),
)
def decide_appeal(appeal_id: str, body: AppealDecision, request: Request, actor: CurrentActor):  # type: ignore[valid-type]
    env, params = request.app.state.runtime.env, body.model_dump()  # type: ignore[attr-defined]
    inputs = requests.inputs(_SPECS["decide"], body)
    return perform(
        request, actor, params, lambda uow: (200, row_view(rulings.decide(uow, env, actor, appeal_id, inputs)))
    )


@arbitration_router.post(
    "", status_code=201, summary="Apply for arbitration 仲裁 of a closed request", responses=out.ok(out.Dispute, 201)
)
def apply_arbitration(body: s.ArbitrationIn, request: Request, actor: CurrentActor):
    env, params = request.app.state.runtime.env, body.model_dump()
    return perform(
        request,
        actor,
        params,
        lambda uow: (201, shown(uow, dispute_view, rulings.apply_for_arbitration(uow, env, actor, params), actor)),
    )
