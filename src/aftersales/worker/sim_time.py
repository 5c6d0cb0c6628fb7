"""Moving the demo's simulated clock: what fell due in the skipped time fires at once, as the
worker would have fired it (deadlines, then the refunds whose tries or polls came due). The
API's admin clock and the demo console's time controls both move it through here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..domain.errors import NotFound
from ..runtime import Runtime
from ..services import payments
from .engine import DeadlineEngine


def advance(runtime: Runtime, by: timedelta, *, worker_id: str) -> dict[str, Any]:
    if runtime.sim_clock is None:
        raise NotFound("the simulated clock is off")
    now = runtime.sim_clock.advance(by)
    fired = DeadlineEngine(runtime.engine, runtime.env, worker_id=worker_id).run_until_idle()
    paid = payments.run_until_idle(runtime.engine, runtime.env, runtime.payments)
    return {"now": now.isoformat(), "fired": fired, "refunds_submitted": paid.submitted}
