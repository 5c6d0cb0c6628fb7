"""The refund ledger and merchants' violations (API.md "Money and sanctions")."""

from fastapi import APIRouter, Request

from ...domain.errors import Forbidden, NotFound
from ...services import refunds
from ...services.context import scope
from ...store import tables as t
from ..actions import read
from ..auth import CurrentActor
from ..views import row_view

router = APIRouter(prefix="/v1", tags=["money"])


@router.get("/refunds", summary="Refunds the caller may see")
def list_refunds(request: Request, actor: CurrentActor, order_id: str | None = None,
                 after_sale_id: str | None = None):
    where = scope(actor, t.refunds.c, order_id=order_id, after_sale_id=after_sale_id)
    return read(request, lambda uow: {"items": [row_view(r) for r in refunds.list_refunds(uow, *where)]})


@router.get("/merchants/{merchant_id}/violations", summary="A merchant's warnings and penalties")
def list_violations(merchant_id: str, request: Request, actor: CurrentActor):
    if actor.role not in ("merchant", "agent", "admin"):
        raise Forbidden("violations are for the merchant itself and platform agents")
    if actor.role == "merchant" and actor.merchant_id != merchant_id:
        raise NotFound("merchant not found")
    return read(request, lambda uow: {"items": [row_view(r) for r in refunds.list_violations(uow, merchant_id)]})
