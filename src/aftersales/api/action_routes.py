"""One POST route per state-machine action, generated from a table instead of written out."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from ..services.context import Actor, Env
from ..store.unit_of_work import UnitOfWork
from .actions import if_match, perform
from .auth import CurrentActor

# (uow, env, actor, subject id, service action, params, If-Match) -> JSON payload
Runner = Callable[[UnitOfWork, Env, Actor, str, str, dict[str, Any], int | None], dict[str, Any]]


def add_action_routes(router: APIRouter, actions: dict[str, tuple[type, str]], run: Runner, out: type) -> None:
    """`actions`: url segment -> (body model, summary). Models whose fields all have
    defaults make the body optional. `out`: the subject's representation every action answers."""
    for segment, (model, summary) in actions.items():
        _add(router, segment, model, summary, run, out)


def _add(router: APIRouter, segment: str, model: type, summary: str, run: Runner, out: type) -> None:
    service_action = segment.replace("-", "_")
    optional = all(not f.is_required() for f in model.model_fields.values())  # type: ignore[attr-defined]

    if optional:

        def endpoint(subject_id: str, request: Request, actor: CurrentActor, body: model | None = None):  # type: ignore[valid-type]
            return _go(request, actor, subject_id, body or model())
    else:

        def endpoint(subject_id: str, request: Request, actor: CurrentActor, body: model):  # type: ignore[misc,valid-type]
            return _go(request, actor, subject_id, body)

    def _go(request: Request, actor: Actor, subject_id: str, body: Any) -> Any:
        params = body.model_dump()
        expected = if_match(request)
        env = request.app.state.runtime.env
        return perform(
            request,
            actor,
            params,
            lambda uow: (200, run(uow, env, actor, subject_id, service_action, params, expected)),
        )

    endpoint.__name__ = f"{router.prefix.strip('/').replace('/', '_').replace('-', '_')}_{service_action}"
    router.add_api_route(
        f"/{{subject_id}}/{segment}",
        endpoint,
        methods=["POST"],
        summary=summary,
        responses={
            200: {"model": out},
            409: {"description": "not allowed in the current state"},
            412: {"description": "stale If-Match"},
        },
    )
