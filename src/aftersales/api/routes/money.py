"""The refund ledger, platform-merchant settlements, and merchants' violations and standing."""

from typing import Literal

from fastapi import APIRouter, Request

from ...services import payments, prices, reads, sanctions
from .. import responses as out
from .. import schemas as s
from ..actions import perform, read, read_replica
from ..auth import CurrentActor
from ..views import row_view

router = APIRouter(prefix="/v1", tags=["money"])


@router.get(
    "/refunds",
    summary="Refunds the caller may see; `status=failed`, `late=true`: the agents' queue",
    responses=out.ok(out.Refunds),
)
def list_refunds(
    request: Request,
    actor: CurrentActor,
    order_id: str | None = None,
    after_sale_id: str | None = None,
    status: Literal["pending", "succeeded", "failed"] | None = None,
    late: bool | None = None,
):
    return read_replica(
        request,
        lambda uow: {
            "items": [
                row_view(r)
                for r in reads.refund_list(
                    uow, actor, order_id=order_id, after_sale_id=after_sale_id, status=status, late=late
                )
            ]
        },
    )


@router.post(
    "/refunds/{refund_id}/retry",
    summary="Hand a failed refund back to the payment provider (agents)",
    responses=out.ok(out.Refund),
)
def retry_refund(refund_id: str, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    return perform(request, actor, {}, lambda uow: (200, row_view(payments.retry(uow, env, actor, refund_id))))


@router.get(
    "/settlements",
    summary="Money between platform and merchant (who bears a refund)",
    responses=out.ok(out.Settlements),
)
def list_settlements(
    request: Request, actor: CurrentActor, merchant_id: str | None = None, after_sale_id: str | None = None
):
    return read_replica(
        request,
        lambda uow: {
            "items": [
                row_view(r) for r in reads.settlements(uow, actor, merchant_id=merchant_id, after_sale_id=after_sale_id)
            ]
        },
    )


@router.get(
    "/merchants/{merchant_id}/violations",
    summary="A merchant's warnings, points, penalties, recoveries",
    responses=out.ok(out.Violations),
)
def list_violations(merchant_id: str, request: Request, actor: CurrentActor):
    return read_replica(
        request, lambda uow: {"items": [row_view(r) for r in reads.violations(uow, actor, merchant_id)]}
    )


@router.post(
    "/merchants/{merchant_id}/violations",
    status_code=201,
    summary="Record a warning or penalty (agents)",
    responses=out.ok(out.Violation, 201),
)
def add_violation(merchant_id: str, body: s.ViolationIn, request: Request, actor: CurrentActor):
    env, params = request.app.state.runtime.env, body.model_dump()
    return perform(
        request,
        actor,
        params,
        lambda uow: (201, row_view(sanctions.record_by_agent(uow, env, actor, merchant_id, params))),
    )


@router.get(
    "/merchants/{merchant_id}/standing",
    summary="Active points and the restrictions they bring",
    responses=out.ok(out.Standing),
)
def merchant_standing(merchant_id: str, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    return read(request, lambda uow: reads.standing(uow, env, actor, merchant_id))


@router.post(
    "/price-drops",
    status_code=201,
    summary="Report a lower price of a shop's item (integration, admin)",
    responses=out.ok(out.PriceDrop, 201),
)
def report_price_drop(body: s.PriceDropIn, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    data = body.model_dump()
    return perform(request, actor, data, lambda uow: (201, row_view(prices.report(uow, env, actor, data))))


@router.get(
    "/merchants/{merchant_id}/price-drops",
    summary="A shop's reported price drops, newest first (public)",
    responses=out.ok(out.PriceDrops),
)
def list_price_drops(merchant_id: str, request: Request, actor: CurrentActor, sku: str | None = None):
    return read_replica(request, lambda uow: {"items": [row_view(r) for r in prices.listed(uow, merchant_id, sku)]})
