"""The agent roster: who handles disputes and how many each may hold."""

from fastapi import APIRouter, Request

from ...domain.errors import Forbidden, NotFound
from ...services import disputes
from .. import schemas as s
from ..actions import perform, read
from ..auth import CurrentActor
from ..views import row_view

router = APIRouter(prefix="/v1/agents", tags=["disputes"])


@router.get("", summary="Agents with their capacity and current load")
def list_agents(request: Request, actor: CurrentActor):
    if actor.role not in ("agent", "admin"):
        raise Forbidden("the roster is for platform staff")
    return read(request, lambda uow: {"items": [row_view(a) for a in disputes.agents_with_load(uow)]})


@router.get("/{agent_id}", summary="One agent with its capacity and current load")
def get_agent(agent_id: str, request: Request, actor: CurrentActor):
    if actor.role not in ("agent", "admin"):
        raise Forbidden("the roster is for platform staff")

    def one(uow):
        # The roster is a handful of rows: one query with the load beside it, filtered here.
        found = next((a for a in disputes.agents_with_load(uow) if a["id"] == agent_id), None)
        if found is None:
            raise NotFound(f"no agent {agent_id!r}")
        return row_view(found)

    return read(request, one)


@router.put("/{agent_id}", summary="Add or update an agent (admin)")
def put_agent(agent_id: str, body: s.AgentIn, request: Request, actor: CurrentActor):
    env, params = request.app.state.runtime.env, body.model_dump()
    return perform(
        request, actor, params, lambda uow: (200, row_view(disputes.upsert_agent(uow, env, actor, agent_id, params)))
    )
