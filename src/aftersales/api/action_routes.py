"""One POST route per routed action of a subject kind, generated from its action specs:
`POST /v1/<resource>/{id}/<segment>` with the spec's request model, answering the subject."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from ..domain.actions import ActionSpec
from ..domain.roles import SYSTEM
from ..services.context import Actor
from ..services.kinds import Registered
from ..services.parties import Names
from . import requests
from .actions import if_match, perform
from .auth import CurrentActor
from .views import shown

# (subject, caller) -> its JSON representation
View = Callable[[Any, Actor, Names], dict[str, Any]]


def routed(entry: Registered) -> list[ActionSpec]:
    """The actions a caller takes on the subject's own URL: not the system's, not another
    resource's (appeals) or use case's (a ruling's refund)."""
    callers = {t.action for t in entry.machine.transitions if t.roles - {SYSTEM}}
    return [spec for name, spec in entry.machine.specs.items() if spec.posted and name in callers]


def add_action_routes(router: APIRouter, entry: Registered, view: View, out: type[BaseModel]) -> None:
    """Every routed action of `entry` on `router` (whose prefix is the kind's collection)."""
    for spec in routed(entry):
        _add(router, entry, spec, requests.model(spec, model_prefix(entry)), view, out)


def model_prefix(entry: Registered) -> str:
    """The prefix of a kind's request model names: `AfterSale` + `Approve`."""
    return "".join(part.title() for part in entry.name.split("_"))


def _add(
    router: APIRouter, entry: Registered, spec: ActionSpec, model: type[BaseModel], view: View, out: type[BaseModel]
) -> None:
    optional = all(not f.is_required() for f in model.model_fields.values())

    def go(request: Request, actor: Actor, subject_id: str, body: BaseModel | None) -> Any:
        expected = if_match(request)
        env = request.app.state.runtime.env
        raw = body.model_dump() if body is not None else {}

        def work(uow: Any) -> tuple[int, dict[str, Any]]:
            inputs = requests.inputs(spec, body)
            return 200, shown(
                uow, view, entry.act(uow, env, actor, subject_id, spec.name, inputs, expected, None), actor
            )

        return perform(request, actor, raw, work)

    if optional:

        def endpoint(subject_id: str, request: Request, actor: CurrentActor, body: model | None = None) -> Any:  # type: ignore[valid-type]
            return go(request, actor, subject_id, body)
    else:

        def endpoint(subject_id: str, request: Request, actor: CurrentActor, body: model) -> Any:  # type: ignore[misc,valid-type]
            return go(request, actor, subject_id, body)

    # The route's name is its operationId (api/document.py): `approve_after_sale`.
    endpoint.__name__ = f"{spec.name}_{entry.name}"
    roles = sorted({r for t in entry.machine.transitions if t.action == spec.name for r in t.roles})
    router.add_api_route(
        f"/{{subject_id}}/{spec.segment}",
        endpoint,
        methods=["POST"],
        summary=spec.summary or spec.label.en,
        description=f"{spec.label.zh} · {spec.label.en}. Who: {', '.join(roles)}."
        + (" Needs evidence." if spec.evidence else ""),
        responses={
            200: {"model": out},
            409: {"description": "not allowed in the current state"},
            412: {"description": "stale If-Match"},
        },
    )
