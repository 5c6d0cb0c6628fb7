"""Payment providers: where a decided refund's money really moves.

`services/payments.py` calls a provider outside any transaction of ours, so what a provider
promises decides what can go wrong. An adapter for a real provider implements `PaymentProvider`:

- `submit(refund)` pays `refund.amount` back and answers its own reference and a state:
  `accepted` (it will confirm later, by callback or `status`), `succeeded` or `failed` (refused,
  with a reason). It is idempotent on `refund.refund_id`, which is sent as the provider's
  idempotency key: a second submit of a refund it accepted or paid answers that refund again
  and never pays twice; one it refused may be submitted again (a new try). It raises
  `ProviderTimeout` when the outcome is unknown: the provider may well have recorded the refund.
- `status(refund_id)` answers what the provider knows of our refund (None: never heard of it),
  for reconciliation.
- `verify(body, signature)` checks a callback the provider posted (the signature over the raw
  body) and answers `(refund_id, answer)`, or raises `CallbackRejected`.

`SimulatedProvider` (AFTERSALES_PAYMENTS=simulated) keeps its own books in `provider_refunds`
and has switchable faults for tests and demos (`FAULTS`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from ..domain.clock import Clock
from ..store import tables as t

STATES = ("accepted", "succeeded", "failed")
SIGNATURE_HEADER = "X-Payments-Signature"
# none: pays at once. timeout: pays, then the call times out (the dangerous case: a retry must
# find it paid). error: refuses. slow: accepts, and confirms `delay_seconds` later (on the
# injected clock). duplicate_callback: accepts, pays, and sends its callback twice.
FAULTS = ("none", "timeout", "error", "slow", "duplicate_callback")
DEFAULT_DELAY = timedelta(days=30)  # `slow` without a delay: past any policy's late mark


@dataclass(frozen=True)
class Submission:
    """What a provider is asked to pay; `refund_id` is the idempotency key."""

    refund_id: str
    amount: int
    currency: str
    method: str
    order_id: str
    buyer_id: str

    @classmethod
    def of(cls, refund: Mapping[str, Any]) -> Submission:
        """The submission of a row of the refund ledger."""
        return cls(
            refund_id=refund["id"],
            amount=refund["amount"],
            currency=refund["currency"],
            method=refund["method"],
            order_id=refund["order_id"],
            buyer_id=refund["buyer_id"],
        )


@dataclass(frozen=True)
class ProviderAnswer:
    reference: str
    state: str  # accepted | succeeded | failed
    reason: str | None = None


@dataclass(frozen=True)
class Callback:
    """A callback as the provider posts it: the raw body and its signature header."""

    body: bytes
    signature: str


class ProviderTimeout(Exception):
    """The call's outcome is unknown: the provider may have recorded (and paid) the refund."""


class CallbackRejected(Exception):
    """A callback whose signature does not match its body, or whose body is not a callback."""


class PaymentProvider(Protocol):
    name: str

    def submit(self, refund: Submission) -> ProviderAnswer: ...

    def status(self, refund_id: str) -> ProviderAnswer | None: ...

    def verify(self, body: bytes, signature: str | None) -> tuple[str, ProviderAnswer]: ...


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SimulatedProvider:
    """A provider in our own database (its books are its own table, written in transactions of
    its own, as a remote system's would be), on the injected clock."""

    name = "simulated"

    def __init__(self, engine: sa.Engine, clock: Clock, secret: str) -> None:
        self.engine, self.clock, self.secret = engine, clock, secret

    # faults ---------------------------------------------------------------
    def fault(self) -> tuple[str, timedelta]:
        """The fault switched on (shared by every process through the database) and its delay."""
        f = t.provider_faults.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(f.fault, f.delay_seconds).where(f.provider == self.name)).first()
        return ("none", DEFAULT_DELAY) if row is None else (row.fault, timedelta(seconds=row.delay_seconds))

    def set_fault(self, fault: str, delay: timedelta | None = None) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        seconds = int((delay or DEFAULT_DELAY).total_seconds())
        values = {"fault": fault, "delay_seconds": seconds, "updated_at": self.clock.now()}
        f = t.provider_faults.c
        with self.engine.begin() as conn:
            if conn.execute(t.provider_faults.update().where(f.provider == self.name).values(**values)).rowcount == 0:
                conn.execute(t.provider_faults.insert().values(provider=self.name, **values))

    # the Protocol ---------------------------------------------------------
    def submit(self, refund: Submission) -> ProviderAnswer:
        try:
            answer, new = self._submit(refund)
        except sa.exc.IntegrityError:  # a concurrent first submit of the same refund won: answer it
            answer, new = self._submit(refund)
        if new and self.fault()[0] == "timeout":
            raise ProviderTimeout(f"no answer for {refund.refund_id} (the simulated provider recorded it)")
        return answer

    def _submit(self, refund: Submission) -> tuple[ProviderAnswer, bool]:
        """Record the refund (or a new try of a refused one) in the provider's books; the answer
        and whether this call moved money or refused (False: it answered a refund it had)."""
        now, (fault, delay) = self.clock.now(), self.fault()
        p = t.provider_refunds.c
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(t.provider_refunds).where(p.refund_id == refund.refund_id).with_for_update()
            ).first()
            if row is not None and row.state != "failed":
                conn.execute(
                    t.provider_refunds.update()
                    .where(p.refund_id == refund.refund_id)
                    .values(submissions=row.submissions + 1, updated_at=now)
                )
                return self._answer(row._mapping, now), False
            state, reason, confirms_at = {
                "error": ("failed", "refused by the simulated provider (fault: error)", None),
                "slow": ("accepted", None, now + delay),
                "duplicate_callback": ("accepted", None, now),
            }.get(fault, ("succeeded", None, None))
            values: dict[str, Any] = dict(state=state, reason=reason, confirms_at=confirms_at, updated_at=now)
            if row is None:
                values.update(
                    refund_id=refund.refund_id,
                    reference=f"sim-{refund.refund_id}",
                    amount=refund.amount,
                    currency=refund.currency,
                    submissions=1,
                    created_at=now,
                )
                conn.execute(t.provider_refunds.insert().values(**values))
            else:
                values["submissions"] = row.submissions + 1
                conn.execute(t.provider_refunds.update().where(p.refund_id == refund.refund_id).values(**values))
            return ProviderAnswer(f"sim-{refund.refund_id}", state, reason), True

    def status(self, refund_id: str) -> ProviderAnswer | None:
        row = self._row(refund_id)
        return None if row is None else self._answer(row, self.clock.now())

    def verify(self, body: bytes, signature: str | None) -> tuple[str, ProviderAnswer]:
        if not signature or not hmac.compare_digest(sign(self.secret, body), signature):
            raise CallbackRejected("the callback's signature does not match its body")
        try:
            doc = json.loads(body)
            refund_id, reference, state = doc["refund_id"], doc["reference"], doc["state"]
            reason = doc.get("reason")
        except (ValueError, TypeError, KeyError) as exc:
            raise CallbackRejected(f"not a callback: {exc}") from None
        if not all(isinstance(v, str) for v in (refund_id, reference, state)) or state not in STATES:
            raise CallbackRejected("not a callback: refund_id, reference and state are required")
        return refund_id, ProviderAnswer(reference, state, reason if isinstance(reason, str) else None)

    # what the simulated provider would post ------------------------------
    def callbacks(self, refund_id: str) -> list[Callback]:
        """The callbacks the provider sends about a refund it settled (none while it is only
        accepted): one, or the same one twice under `duplicate_callback`."""
        row = self._row(refund_id)
        if row is None:
            return []
        answer = self._answer(row, self.clock.now())
        if answer.state == "accepted":
            return []
        doc = {"refund_id": refund_id, "reference": answer.reference, "state": answer.state, "reason": answer.reason}
        body = json.dumps(doc, sort_keys=True).encode()
        once = Callback(body, sign(self.secret, body))
        return [once, once] if self.fault()[0] == "duplicate_callback" else [once]

    def ledger(self) -> list[dict[str, Any]]:
        """The provider's books, oldest first (tests and demos read what was really paid)."""
        p = t.provider_refunds.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.provider_refunds).order_by(p.created_at, p.refund_id))
            return [dict(r._mapping) for r in rows]

    def _row(self, refund_id: str) -> Any:
        p = t.provider_refunds.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.provider_refunds).where(p.refund_id == refund_id)).first()
        return None if row is None else row._mapping

    @staticmethod
    def _answer(row: Any, now: datetime) -> ProviderAnswer:
        """An accepted refund whose confirmation time came is paid."""
        confirmed = row["state"] == "accepted" and row["confirms_at"] is not None and row["confirms_at"] <= now
        return ProviderAnswer(row["reference"], "succeeded" if confirmed else row["state"], row["reason"])


def build(name: str, engine: sa.Engine, clock: Clock, secret: str) -> PaymentProvider:
    """The provider AFTERSALES_PAYMENTS names (config.py refuses any other name first)."""
    if name != "simulated":
        raise ValueError(f"no payment provider {name!r}")
    return SimulatedProvider(engine, clock, secret)
