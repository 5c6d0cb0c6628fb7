"""Health, metrics, reference data (policies, reasons) and the simulated clock."""

import hmac
import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials

from ... import metrics, policies
from ...domain.cases import REASONS, REJECT_REASONS
from ...domain.errors import Forbidden, NotFound, Unauthenticated
from ...domain.policy import LIMITS, TIMERS, WorkingDays
from ...services import gauges, health
from ...worker import sim_time
from .. import responses as out
from .. import schemas as s
from ..actions import perform
from ..auth import BEARER, CurrentActor, verifier

router = APIRouter(tags=["meta"])
log = logging.getLogger("aftersales.api")

_LOOP = {
    "type": "object",
    "properties": {
        "last_beat": {"type": ["string", "null"], "format": "date-time"},
        "age_seconds": {"type": ["number", "null"]},
        "ok": {"type": "boolean"},
    },
}
_HEALTH = {
    "title": "Health",
    "type": "object",
    "required": ["status", "database"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"]},
        "database": {
            "type": "object",
            "properties": {"status": {"type": "string", "enum": ["ok", "error"]}, "error": {"type": "string"}},
        },
        "deadline_worker": _LOOP,
        "relay": _LOOP,
        "replica": {
            "description": "Only with AFTERSALES_DATABASE_REPLICA_URL; `error`: lists read the primary meanwhile",
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["ok", "error"]},
                "lag_seconds": {"type": ["number", "null"]},
                "in_recovery": {"type": "boolean"},
                "streaming": {"type": ["boolean", "null"]},
                "error": {"type": "string"},
            },
        },
    },
}


@router.get(
    "/healthz",
    summary="Liveness for load balancers: the database (and read replica), and each background loop's last heartbeat",
    responses={
        200: {
            "description": "The database answers (`degraded`: a background loop is stale, or the read replica is down)",
            "content": {"application/json": {"schema": _HEALTH}},
        },
        503: {"description": "The database does not answer", "content": {"application/json": {"schema": _HEALTH}}},
    },
)
def healthz(request: Request) -> Any:
    # A stale worker or relay makes the answer `degraded`, not 503: this process still serves
    # the API, and a load balancer taking it out of rotation would not bring the loop back.
    runtime = request.app.state.runtime
    error = health.probe(runtime.engine)
    if error is not None:
        log.warning("health check: the database does not answer: %s", error)
        body = {"status": "unavailable", "database": {"status": "error", "error": error.split(":", 1)[0]}}
        return JSONResponse(body, status_code=503)
    try:
        with runtime.uow(read_only=True) as uow:
            loops = health.loops(uow, runtime.env.clock.now())
    except sa.exc.SQLAlchemyError as exc:  # gone between the probe and this read
        log.warning("health check: the database does not answer: %s", exc)
        return JSONResponse(
            {"status": "unavailable", "database": {"status": "error", "error": type(exc).__name__}}, 503
        )
    status = "ok" if all(loop["ok"] for loop in loops.values()) else "degraded"
    body = {"status": status, "database": {"status": "ok"}, **loops}
    if runtime.replica is not None:
        # A replica that is down is `degraded`, not 503: the primary answers its reads meanwhile.
        body["replica"] = replica = health.replica(runtime.replica.engine)
        if replica["status"] == "error":
            log.warning("health check: the read replica does not answer: %s", replica["error"])
            body["status"], replica["error"] = "degraded", replica["error"].split(":", 1)[0]
    return body


def metrics_reader(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> None:
    """The metrics scraper's static token (AFTERSALES_METRICS_TOKEN), or an admin's JWT."""
    settings = request.app.state.runtime.settings
    token = credentials.credentials.strip() if credentials is not None else ""
    if not token:
        raise Unauthenticated("missing bearer token")
    if settings.metrics_token is not None and hmac.compare_digest(token.encode(), settings.metrics_token.encode()):
        return
    actor = verifier(request.app.state).actor(token)
    request.state.actor = actor
    if actor.role != "admin":
        raise Forbidden("only an admin or the metrics token reads the metrics")


@router.get(
    "/metrics",
    summary="Prometheus metrics (admin, or the AFTERSALES_METRICS_TOKEN bearer)",
    response_class=PlainTextResponse,
    responses={
        200: {"description": "The Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
    dependencies=[Depends(metrics_reader)],
)
def read_metrics(request: Request) -> Response:
    runtime = request.app.state.runtime
    figures = None
    try:
        with runtime.uow(read_only=True) as uow:
            figures = gauges.read(uow, runtime.env.clock.now())
    except sa.exc.SQLAlchemyError as exc:  # still answer: aftersales_database_up 0 says why the rest is missing
        log.warning("metrics: the database does not answer: %s", exc)
    return Response(metrics.exposition(figures), media_type=metrics.CONTENT_TYPE)


@router.get("/v1/policies", summary="Policy presets with every timer in seconds", responses=out.ok(out.Policies))
def list_policies(actor: CurrentActor):
    return {
        "items": [
            {
                "key": p.key,
                "name": p.name,
                "version": p.version,
                "title": p.title,
                "timers": {name: _seconds_or_working_days(p.timers[name]) for name in TIMERS},
                "timer_meanings": TIMERS,
                "limits": {name: p.limit(name) for name in LIMITS},
                "limit_meanings": LIMITS,
                "shipping_refundable": p.shipping_refundable,
                "violation_points": dict(p.violation_points),
                "sources": dict(p.sources),
            }
            for p in policies.presets().values()
        ],
        "default": policies.DEFAULT,
    }


def _seconds_or_working_days(value):
    return {"working_days": value.days} if isinstance(value, WorkingDays) else int(value.total_seconds())


@router.get(
    "/v1/reasons", summary="After-sales reasons, and the merchant's reject reasons", responses=out.ok(out.Reasons)
)
def list_reasons(actor: CurrentActor):
    return {
        "items": [{"code": code, "label_zh": label} for code, label in REASONS.items()],
        "reject_reasons": [
            {"code": code, "label": r.label.zh, "label_en": r.label.en, "evidence_required": r.evidence_required}
            for code, r in REJECT_REASONS.items()
        ],
    }


@router.post(
    "/v1/admin/clock",
    summary="Advance the simulated clock and fire what fell due (admin)",
    responses=out.ok(out.ClockAdvanced),
)
def advance_clock(body: s.ClockAdvance, request: Request, actor: CurrentActor):
    runtime = request.app.state.runtime
    if runtime.sim_clock is None:
        raise NotFound("the simulated clock is off")
    if actor.role != "admin":
        raise Forbidden("only an admin moves the clock")

    def work(_):
        return 200, sim_time.advance(runtime, timedelta(seconds=body.advance_seconds), worker_id="admin-clock")

    return perform(request, actor, body.model_dump(), work, own_transactions=True)
