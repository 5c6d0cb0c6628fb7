"""The agent roster: who handles disputes and how many each may hold."""

from fastapi import APIRouter, Request

from ...domain.errors import NotFound
from ...services import disputes
from .. import responses as out
from .. import schemas as s
from ..actions import perform, read, read_replica
from ..auth import CurrentActor
from ..views import row_view

router = APIRouter(prefix="/v1/agents", tags=["disputes"])


@router.get("", summary="Agents with their capacity and current load", responses=out.ok(out.Agents))
def list_agents(request: Request, actor: CurrentActor):
    return read_replica(request, lambda uow: {"items": [row_view(a) for a in disputes.agents_with_load(uow, actor)]})


@router.get("/{agent_id}", summary="One agent with its capacity and current load", responses=out.ok(out.Agent))
def get_agent(agent_id: str, request: Request, actor: CurrentActor):
    def one(uow):
        found = disputes.agents_with_load(uow, actor, agent_id)
        if not found:
            raise NotFound(f"no agent {agent_id!r}")
        return row_view(found[0])

    return read(request, one)


@router.put("/{agent_id}", summary="Add or update an agent (admin)", responses=out.ok(out.Agent))
def put_agent(agent_id: str, body: s.AgentIn, request: Request, actor: CurrentActor):
    env, params = request.app.state.runtime.env, body.model_dump()

    def work(uow):
        disputes.upsert_agent(uow, env, actor, agent_id, params)
        # Answered as it is read, with its load (what the document declares for both).
        return 200, row_view(disputes.agents_with_load(uow, actor, agent_id)[0])

    return perform(request, actor, params, work)
