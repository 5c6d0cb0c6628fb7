"""The payments loop: beside the deadline worker, it submits decided refunds to the payment
provider, polls the ones it accepted and flags late ones (services/payments.py). Everything it
needs is in the refunds table, so a loop that dies loses nothing: what it had claimed is due
again after the claim's lease, and resubmitted under the same id."""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

from ..integrations.payments import PaymentProvider
from ..services import payments
from ..services.context import Env

log = logging.getLogger("aftersales.payments")


class PaymentsLoop:
    def __init__(self, engine: sa.Engine, env: Env, provider: PaymentProvider) -> None:
        self.engine, self.env, self.provider = engine, env, provider

    def run_once(self) -> payments.Pass:
        return payments.run(self.engine, self.env, self.provider)

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        log.info("payments loop started (provider %s)", self.provider.name)
        while not stop.is_set():
            try:
                done = self.run_once()
                if done.submitted < payments.BATCH:  # (a full batch: more may be due right away)
                    stop.wait(poll_seconds)
            except sa.exc.SQLAlchemyError:
                log.warning("payments pass failed; retrying", exc_info=True)
                stop.wait(poll_seconds)
        log.info("payments loop stopped")
