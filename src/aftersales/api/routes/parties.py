"""Merchant and buyer profiles (docs/api.md "Parties"): fed by the marketplace, read by their owners."""

from fastapi import APIRouter, Request

from ...services import parties
from .. import responses as out
from .. import schemas as s
from ..actions import perform, read
from ..auth import CurrentActor
from ..views import row_view

router = APIRouter(prefix="/v1", tags=["parties"])


@router.put(
    "/merchants/{merchant_id}",
    summary="Add or replace a merchant's profile and return-address book (integration, admin)",
    responses=out.ok(out.Merchant),
)
def put_merchant(merchant_id: str, body: s.MerchantIn, request: Request, actor: CurrentActor):
    env, params = request.app.state.runtime.env, body.model_dump()
    return perform(
        request,
        actor,
        params,
        lambda uow: (200, row_view(parties.upsert_merchant(uow, env, actor, merchant_id, params))),
    )


@router.get(
    "/merchants/{merchant_id}",
    summary="A merchant's profile (the merchant itself, the platform)",
    responses=out.ok(out.Merchant),
)
def get_merchant(merchant_id: str, request: Request, actor: CurrentActor):
    return read(request, lambda uow: row_view(parties.get_merchant(uow, actor, merchant_id)))


@router.put(
    "/buyers/{buyer_id}", summary="Add or replace a buyer's profile (integration, admin)", responses=out.ok(out.Buyer)
)
def put_buyer(buyer_id: str, body: s.BuyerIn, request: Request, actor: CurrentActor):
    env, params = request.app.state.runtime.env, body.model_dump()
    return perform(
        request, actor, params, lambda uow: (200, row_view(parties.upsert_buyer(uow, env, actor, buyer_id, params)))
    )


@router.get(
    "/buyers/{buyer_id}", summary="A buyer's profile (the buyer itself, the platform)", responses=out.ok(out.Buyer)
)
def get_buyer(buyer_id: str, request: Request, actor: CurrentActor):
    return read(request, lambda uow: row_view(parties.get_buyer(uow, actor, buyer_id)))
