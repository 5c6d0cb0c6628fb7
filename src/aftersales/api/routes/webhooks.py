"""Webhook endpoints and their delivery log (docs/api.md "Webhook endpoints"): a shop's merchant
keeps its shop's, an admin the platform's."""

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ...domain.webhooks import DELIVERY_STATUSES
from ...services import webhooks
from .. import responses as out
from .. import schemas as s
from ..actions import perform, read, read_replica
from ..auth import CurrentActor
from ..views import row_view

router = APIRouter(prefix="/v1", tags=["webhooks"])


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.runtime.settings.webhook_allow_private)


def delivery_view(d: dict[str, Any]) -> dict[str, Any]:
    return {**row_view(d), "attempt_log": [row_view(a) for a in d["attempt_log"]]}


@router.post(
    "/webhook-endpoints",
    status_code=201,
    summary="Add a webhook endpoint (a merchant for its shop, an admin for the platform); its secret is shown once",
    responses=out.ok(out.WebhookEndpointWithSecret, 201),
)
def create_endpoint(body: s.WebhookEndpointIn, request: Request, actor: CurrentActor):
    env, data = request.app.state.runtime.env, body.model_dump()
    new = webhooks.check(actor, data, allow_private=_allow_private(request))  # outside the transaction
    return perform(request, actor, data, lambda uow: (201, row_view(webhooks.create(uow, env, actor, new))))


@router.get(
    "/webhook-endpoints",
    summary="The caller's webhook endpoints (a merchant its shop's, an admin the platform's), oldest first",
    responses=out.ok(out.WebhookEndpointPage),
)
def list_endpoints(request: Request, actor: CurrentActor, cursor: s.Cursor = None, limit: s.Limit = 50):
    found = read_replica(request, lambda uow: webhooks.listing(uow, actor, cursor=cursor, limit=limit))
    return JSONResponse({"items": [row_view(e) for e in found.items], "next_cursor": found.next_cursor})


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    summary="One of the caller's webhook endpoints (without its secret)",
    responses=out.ok(out.WebhookEndpoint),
)
def get_endpoint(endpoint_id: str, request: Request, actor: CurrentActor):
    return JSONResponse(read(request, lambda uow: row_view(webhooks.get(uow, actor, endpoint_id))))


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=204,
    summary="Delete a webhook endpoint: no more deliveries, its pending ones dead",
)
def delete_endpoint(endpoint_id: str, request: Request, actor: CurrentActor):
    runtime = request.app.state.runtime
    with runtime.uow() as uow:
        webhooks.delete(uow, runtime.env, actor, endpoint_id)
        uow.commit()
    return Response(status_code=204)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    summary="A new signing secret, shown once; the previous one keeps signing for 24 h",
    responses=out.ok(out.WebhookEndpointWithSecret),
)
def rotate_secret(endpoint_id: str, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    return perform(
        request, actor, {}, lambda uow: (200, row_view(webhooks.rotate_secret(uow, env, actor, endpoint_id)))
    )


@router.post(
    "/webhook-endpoints/{endpoint_id}/enable",
    summary="Re-enable an endpoint disabled after repeated failures (our extension)",
    responses=out.ok(out.WebhookEndpoint),
)
def enable_endpoint(endpoint_id: str, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    return perform(request, actor, {}, lambda uow: (200, row_view(webhooks.enable(uow, env, actor, endpoint_id))))


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    summary="The endpoint's delivery log, newest first, each delivery with its attempts",
    responses=out.ok(out.WebhookDeliveryPage),
)
def list_deliveries(
    endpoint_id: str,
    request: Request,
    actor: CurrentActor,
    status: Literal[DELIVERY_STATUSES] | None = None,  # type: ignore[valid-type]
    cursor: s.SequenceCursor = None,
    limit: s.Limit = 50,
):
    found = read_replica(
        request,
        lambda uow: webhooks.deliveries(uow, actor, endpoint_id, status=status, cursor=cursor, limit=limit),
    )
    return JSONResponse({"items": [delivery_view(d) for d in found.items], "next_cursor": found.next_cursor})


@router.post(
    "/webhook-deliveries/{delivery_id}/retry",
    summary="Retry a dead or pending delivery now",
    responses=out.ok(out.WebhookDelivery),
)
def retry_delivery(delivery_id: str, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    return perform(request, actor, {}, lambda uow: (200, delivery_view(webhooks.retry(uow, env, actor, delivery_id))))
