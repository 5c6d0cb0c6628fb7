"""Complaints 投诉 (buyers about conduct, merchants to the platform)."""

from typing import Literal

from fastapi import APIRouter, Request

from ...domain import complaints as domain
from ...services import complaints, reads
from ...services.kinds import KINDS
from .. import responses as out
from .. import schemas as s
from ..action_routes import add_action_routes
from ..actions import listing, perform, read, respond, timeline
from ..auth import CurrentActor
from ..views import complaint_view, shown

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])


@router.post(
    "",
    status_code=201,
    summary="File a complaint (buyer about a merchant; merchant to the platform)",
    responses=out.ok(out.Complaint, 201),
)
def file_complaint(body: s.ComplaintIn, request: Request, actor: CurrentActor):
    env, data = request.app.state.runtime.env, body.model_dump()
    return perform(
        request,
        actor,
        data,
        lambda uow: (201, shown(uow, complaint_view, complaints.file(uow, env, actor, data), actor)),
    )


@router.get("", summary="Complaints the caller may see, newest first", responses=out.ok(out.ComplaintPage))
def list_complaints(
    request: Request,
    actor: CurrentActor,
    status: Literal[domain.STATUSES] | None = None,  # type: ignore[valid-type]
    category: Literal[domain.CATEGORIES] | None = None,  # type: ignore[valid-type]
    merchant_id: str | None = None,
    cursor: s.Cursor = None,
    limit: s.Limit = 50,
):
    return listing(
        request,
        lambda uow: reads.complaint_list(
            uow, actor, status=status, category=category, merchant_id=merchant_id, cursor=cursor, limit=limit
        ),
        lambda c, names: complaint_view(c, actor, names),
    )


@router.get("/{complaint_id}", responses=out.ok(out.Complaint))
def get_complaint(complaint_id: str, request: Request, actor: CurrentActor):
    return respond(
        200, read(request, lambda uow: shown(uow, complaint_view, complaints.get(uow, actor, complaint_id), actor))
    )


@router.get("/{complaint_id}/events", responses=out.ok(out.Events))
def complaint_events(complaint_id: str, request: Request, actor: CurrentActor):
    return timeline(request, actor, "complaint", complaint_id)


add_action_routes(router, KINDS["complaint"], complaint_view, out.Complaint)
