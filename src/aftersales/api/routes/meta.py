"""Health, reference data (policies, reasons) and the simulated clock."""

from datetime import timedelta

from fastapi import APIRouter, Request

from ... import policies
from ...domain.cases import REASONS, REJECT_REASONS
from ...domain.errors import Forbidden, NotFound
from ...domain.policy import LIMITS, TIMERS, WorkingDays
from ...services import payments
from ...worker.engine import DeadlineEngine
from .. import schemas as s
from ..actions import perform
from ..auth import CurrentActor

router = APIRouter(tags=["meta"])


@router.get("/healthz")
def healthz():
    return {"status": "ok"}


@router.get("/v1/policies", summary="Policy presets with every timer in seconds")
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


@router.get("/v1/reasons", summary="After-sales reasons, and the merchant's reject reasons")
def list_reasons(actor: CurrentActor):
    return {
        "items": [{"code": code, "label_zh": label} for code, label in REASONS.items()],
        "reject_reasons": [
            {"code": code, "label": r.label.zh, "label_en": r.label.en, "evidence_required": r.evidence_required}
            for code, r in REJECT_REASONS.items()
        ],
    }


@router.post("/v1/admin/clock", summary="Advance the simulated clock and fire what fell due (admin)")
def advance_clock(body: s.ClockAdvance, request: Request, actor: CurrentActor):
    runtime = request.app.state.runtime
    if runtime.sim_clock is None:
        raise NotFound("the simulated clock is off")
    if actor.role != "admin":
        raise Forbidden("only an admin moves the clock")

    def work(_):
        now = runtime.sim_clock.advance(timedelta(seconds=body.advance_seconds))
        fired = DeadlineEngine(runtime.engine, runtime.env, worker_id="admin-clock").run_until_idle()
        # Refunds whose tries, polls or late mark fell due too (the payments loop's pass).
        paid = payments.run_until_idle(runtime.engine, runtime.env, runtime.payments)
        return 200, {"now": now.isoformat(), "fired": fired, "refunds_submitted": paid.submitted}

    return perform(request, actor, body.model_dump(), work, own_transactions=True)
