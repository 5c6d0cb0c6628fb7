"""The payment provider's side of refunds: its callbacks, and the simulated provider's faults."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ...domain.errors import Forbidden, NotFound
from ...integrations.payments import SIGNATURE_HEADER, SimulatedProvider
from ...services import payments
from .. import responses as out
from .. import schemas as s
from ..actions import perform
from ..auth import CurrentActor

router = APIRouter(prefix="/v1", tags=["money"])

CALLBACK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "title": "ProviderCallback",
                    "type": "object",
                    "required": ["refund_id", "reference", "state"],
                    "properties": {
                        "refund_id": {"type": "string"},
                        "reference": {"type": "string"},
                        "state": {"type": "string", "enum": ["accepted", "succeeded", "failed"]},
                        "reason": {"type": ["string", "null"]},
                    },
                }
            }
        },
    }
}


@router.post(
    "/payments/callbacks/simulated",
    summary="The simulated payment provider confirms a refund (signed; no bearer token)",
    openapi_extra=CALLBACK_BODY,
    responses=out.ok(out.CallbackResult),
)
async def simulated_callback(
    request: Request,
    signature: Annotated[
        str | None, Header(alias=SIGNATURE_HEADER, description="`sha256=` and the HMAC-SHA256 of the raw body")
    ] = None,
):
    # The signature is over the raw bytes: verified before anything in the body is believed.
    body = await request.body()
    runtime = request.app.state.runtime
    if runtime.payments.name != "simulated":
        raise NotFound("the simulated payment provider is off")

    def work() -> dict:
        with runtime.uow() as uow:
            out = payments.callback(uow, runtime.env, runtime.payments, body, signature)
            uow.commit()
            return out

    return JSONResponse(await run_in_threadpool(work))


@router.put(
    "/admin/payments/simulated",
    summary="Switch the simulated payment provider's fault (admin; outside production)",
    responses=out.ok(out.ProviderFault),
)
def simulated_fault(body: s.PaymentsFault, request: Request, actor: CurrentActor):
    runtime = request.app.state.runtime
    provider = runtime.payments
    if not isinstance(provider, SimulatedProvider) or not runtime.settings.payments_faults:
        raise NotFound("the simulated payment provider's faults are off")
    if actor.role != "admin":
        raise Forbidden("only an admin switches the simulated provider's faults")

    def work(_):
        provider.set_fault(body.fault, None if body.delay_seconds is None else timedelta(seconds=body.delay_seconds))
        fault, delay = provider.fault()
        return 200, {"provider": provider.name, "fault": fault, "delay_seconds": int(delay.total_seconds())}

    return perform(request, actor, body.model_dump(), work, own_transactions=True)
