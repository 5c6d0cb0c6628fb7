"""Disputes opened by escalation or a disputed return (API.md "Disputes")."""

from fastapi import APIRouter, Query, Request

from ...services import disputes
from ...services.pages import page
from ...store import tables as t
from ..actions import read, respond
from ..auth import CurrentActor
from ..views import dispute_view

router = APIRouter(prefix="/v1/disputes", tags=["disputes"])


@router.get("", summary="The agents' queue, oldest first")
def list_disputes(request: Request, actor: CurrentActor, status: str | None = None, assignee: str | None = None,
                  cursor: str | None = None, limit: int = Query(50, ge=1, le=200)):
    where = disputes.queue_filters(actor, status=status, assignee=assignee)

    def work(uow):
        rows, nxt = page(uow.conn, t.disputes, where, cursor, limit, newest_first=False)
        return {"items": [dispute_view(disputes.repo(uow).load(r)) for r in rows], "next_cursor": nxt}

    return read(request, work)


@router.get("/{dispute_id}")
def get_dispute(dispute_id: str, request: Request, actor: CurrentActor):
    return respond(200, read(request, lambda uow: dispute_view(disputes.get(uow, actor, dispute_id))))
