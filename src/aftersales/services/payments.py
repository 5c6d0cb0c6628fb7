"""A refund's transfer, after the transaction that decided it.

`refunds.issue` writes a refund `pending`, due for submission at once, in the case's own
transaction. `run` (the payments loop beside the deadline worker, `worker/payments.py`) then:

1. claims the due pending refunds in a short transaction (their `next_attempt_at` moves a lease
   ahead, so another worker leaves them alone and a crashed one hands them back by itself);
2. asks the provider, outside any transaction: `status` if it answered us before, else
   `submit` with our refund id as the idempotency key, so a refund whose submission crashed
   between the provider's call and our record is submitted again and never paid twice;
3. records the answer in a short transaction of its own, compare-and-set on the refund's
   `attempts`, so a late or repeated answer (another worker's, a callback's) changes nothing.

`succeeded` is final. A refusal or a call without an answer (timeout, error) is a try: after
`MAX_ATTEMPTS` of them the refund is `failed` and waits in the agents' queue for an agent's
`retry`. Meanwhile and after, its amount stays counted on the order (`refunded_amount` is what
was decided for the buyer, pending or failed alike), so nothing is refunded twice and a failed
refund is never dropped: it is money still owed until an agent's retry pays it. A refund that
is not `succeeded` `refund_confirm_working_days` working days after it was decided is flagged
`late` (once, with its event). Each change is an event of kind `refund` (`refund.succeeded`,
`refund.failed`, `refund.late`, `refund.retried`) with its outbox message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..domain.errors import Conflict, Forbidden, NotFound, Unauthenticated
from ..domain.roles import PLATFORM
from ..integrations.payments import CallbackRejected, PaymentProvider, ProviderAnswer, ProviderTimeout, Submission
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import Actor, Env

log = logging.getLogger("aftersales.payments")
r = t.refunds.c

MAX_ATTEMPTS = 3  # our choice: three tries, then an agent looks at it
# Wait before the 2nd and 3rd try (a provider's refusal is often a short outage on its side).
BACKOFF = (timedelta(minutes=5), timedelta(minutes=30))
POLL = timedelta(hours=1)  # an accepted refund: ask the provider's status this often
LEASE = timedelta(minutes=2)  # a claimed refund is due again after this if its worker vanished
BATCH = 100
PAYMENTS = Actor("system", "payments")


@dataclass
class Pass:
    submitted: int = 0  # refunds the provider was asked about
    flagged_late: int = 0


def run(engine: sa.Engine, env: Env, provider: PaymentProvider, *, limit: int = BATCH) -> Pass:
    """One pass of the payments loop: every due pending refund asked about, late ones flagged."""
    out = Pass()
    for refund in claim(engine, env, limit):
        ask(engine, env, provider, refund)
        out.submitted += 1
    out.flagged_late = flag_late(engine, env)
    return out


def run_until_idle(engine: sa.Engine, env: Env, provider: PaymentProvider) -> Pass:
    """Passes until none finds anything due (what the simulated clock's advance and tests use)."""
    total = Pass()
    while True:
        one = run(engine, env, provider)
        total.submitted += one.submitted
        total.flagged_late += one.flagged_late
        if not one.submitted:
            return total


def claim(engine: sa.Engine, env: Env, limit: int = BATCH) -> list[dict[str, Any]]:
    """Take due pending refunds for a lease; set when each turns late the first time."""
    now = env.clock.now()
    with UnitOfWork(engine) as uow:
        rows = uow.execute(
            sa.select(t.refunds, t.orders.c.policy)
            .join(t.orders, t.orders.c.id == r.order_id)
            .where(r.status == "pending", r.next_attempt_at <= now)
            .order_by(r.next_attempt_at, r.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=t.refunds)
        ).all()
        taken = []
        for row in rows:
            refund = dict(row._mapping)
            refund["confirm_by"] = refund["confirm_by"] or confirm_by(env, refund["policy"], refund["created_at"])
            uow.execute(
                t.refunds.update()
                .where(r.id == refund["id"])
                .values(next_attempt_at=now + LEASE, confirm_by=refund["confirm_by"])
            )
            taken.append(refund)
        uow.commit()
    return taken


def confirm_by(env: Env, policy_key: str, decided_at: datetime) -> datetime:
    days = env.policy(policy_key).limit("refund_confirm_working_days")
    return env.calendar.add_working_days(decided_at, days)


def ask(engine: sa.Engine, env: Env, provider: PaymentProvider, refund: dict[str, Any]) -> None:
    """Ask the provider about one claimed refund (no transaction open) and record its answer."""
    answer, error = None, None
    try:
        if refund["provider_ref"]:
            answer = provider.status(refund["id"])
        if answer is None:
            answer = provider.submit(Submission.of(refund))
    except ProviderTimeout as exc:
        error = f"timeout: {exc}"
    except Exception as exc:  # an adapter's transport error is a try like a timeout, never a lost refund
        log.warning("payment provider failed on refund %s", refund["id"], exc_info=True)
        error = f"{type(exc).__name__}: {exc}"
    with UnitOfWork(engine) as uow:
        if answer is None:
            _tried(uow, env, refund, error or "no answer", provider.name)
        else:
            record(uow, env, refund, answer, provider.name)
        uow.commit()


def record(uow: UnitOfWork, env: Env, refund: dict[str, Any], answer: ProviderAnswer, provider: str) -> bool:
    """Record the provider's answer about `refund` as it was read (its `attempts`); False when it
    changes nothing (the refund moved on meanwhile, or it says what is known)."""
    now = env.clock.now()
    if answer.state == "succeeded":
        done = uow.execute(
            t.refunds.update()
            .where(r.id == refund["id"], r.status != "succeeded")
            .values(
                status="succeeded",
                completed_at=now,
                provider=provider,
                provider_ref=answer.reference,
                next_attempt_at=None,
                last_error=None,
            )
        )
        if done.rowcount:
            _event(uow, refund, "succeeded", now, {"provider_ref": answer.reference}, (refund["status"], "succeeded"))
        return bool(done.rowcount)
    if answer.state == "accepted":
        moved = uow.execute(
            t.refunds.update()
            .where(r.id == refund["id"], r.status == "pending", r.attempts == refund["attempts"])
            .values(provider=provider, provider_ref=answer.reference, next_attempt_at=now + POLL)
        )
        return bool(moved.rowcount)
    return _tried(uow, env, refund, answer.reason or "refused by the provider", provider)


def _tried(uow: UnitOfWork, env: Env, refund: dict[str, Any], error: str, provider: str) -> bool:
    """A try that did not pay: the next after its backoff, or after the last one, `failed`."""
    now, attempts = env.clock.now(), refund["attempts"] + 1
    final = attempts >= MAX_ATTEMPTS
    values: dict[str, Any] = dict(
        attempts=attempts,
        provider=provider,
        provider_ref=None,  # (the next try submits again, under the same id)
        last_error=error[:200],
        status="failed" if final else "pending",
        next_attempt_at=None if final else now + BACKOFF[min(attempts, len(BACKOFF)) - 1],
    )
    moved = uow.execute(
        t.refunds.update()
        .where(r.id == refund["id"], r.status == "pending", r.attempts == refund["attempts"])
        .values(**values)
    )
    if moved.rowcount and final:
        _event(uow, refund, "failed", now, {"attempts": attempts, "error": values["last_error"]}, ("pending", "failed"))
    return bool(moved.rowcount)


def flag_late(engine: sa.Engine, env: Env) -> int:
    """Flag each refund still not paid past its confirmation time as `late`, with its event."""
    now = env.clock.now()
    with UnitOfWork(engine) as uow:
        rows = uow.execute(
            sa.select(t.refunds).where(r.status != "succeeded", r.late.is_(False), r.confirm_by <= now)
        ).all()
        flagged = 0
        for row in rows:
            refund = dict(row._mapping)
            if uow.execute(
                t.refunds.update().where(r.id == refund["id"], r.late.is_(False)).values(late=True)
            ).rowcount:
                data = {"confirm_by": refund["confirm_by"].isoformat(), "status": refund["status"]}
                _event(uow, refund, "late", now, data, (refund["status"], refund["status"]), late=True)
                flagged += 1
        uow.commit()
    return flagged


def callback(
    uow: UnitOfWork, env: Env, provider: PaymentProvider, body: bytes, signature: str | None
) -> dict[str, Any]:
    """A provider's callback: verified, then recorded like any answer. The same callback again
    changes nothing; a failure reported about a submission we no longer wait for is ignored."""
    try:
        refund_id, answer = provider.verify(body, signature)
    except CallbackRejected as exc:
        raise Unauthenticated(str(exc), code="invalid_signature") from None
    row = uow.execute(sa.select(t.refunds).where(r.id == refund_id).with_for_update()).first()
    if row is None:
        raise NotFound("refund not found")
    refund = dict(row._mapping)
    awaited = refund["status"] == "pending" and refund["provider_ref"] == answer.reference
    changed = False
    if answer.state == "succeeded" or awaited:
        changed = record(uow, env, refund, answer, provider.name)
    status = uow.execute(sa.select(r.status).where(r.id == refund_id)).scalar_one()
    return {"refund_id": refund_id, "status": status, "changed": changed}


def retry(uow: UnitOfWork, env: Env, actor: Actor, refund_id: str) -> dict[str, Any]:
    """An agent hands a failed refund back to the provider: pending again, its tries afresh,
    submitted by the next pass under the same id."""
    row = uow.execute(sa.select(t.refunds).where(r.id == refund_id).with_for_update()).first()
    if row is None or not actor.sees(row.buyer_id, row.merchant_id):
        raise NotFound("refund not found")
    if actor.role not in PLATFORM:
        raise Forbidden("only agents retry a refund")
    refund = dict(row._mapping)
    if refund["status"] != "failed":
        raise Conflict(f"only a failed refund is retried; this one is {refund['status']}", code="refund_not_failed")
    now = env.clock.now()
    uow.execute(
        t.refunds.update()
        .where(r.id == refund_id, r.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=now)
    )
    _event(uow, refund, "retried", now, {"attempts": refund["attempts"]}, ("failed", "pending"), actor=actor)
    return {**refund, "status": "pending", "attempts": 0, "next_attempt_at": now}


def _event(
    uow: UnitOfWork,
    refund: dict[str, Any],
    action: str,
    now: datetime,
    data: dict[str, Any],
    status: tuple[str, str],
    *,
    late: bool = False,
    actor: Actor = PAYMENTS,
) -> None:
    """The refund's event (kind `refund`, so `refund.<action>` in the outbox): its status before
    and after (and the late flag it raised), the money and whose it is."""
    flag: tuple[dict[str, bool], dict[str, bool]] = ({"late": False}, {"late": True}) if late else ({}, {})
    uow.events.record(
        kind="refund",
        subject_id=refund["id"],
        action=action,
        actor_role=actor.role,
        actor_id=actor.id,
        at=now,
        before={"status": status[0], **flag[0]},
        after={"status": status[1], **flag[1]},
        data={
            "order_id": refund["order_id"],
            "after_sale_id": refund["after_sale_id"],
            "merchant_id": refund["merchant_id"],
            "amount": refund["amount"],
            "currency": refund["currency"],
            **data,
        },
        meta={"merchant_id": refund["merchant_id"], "buyer_id": refund["buyer_id"]},  # whose it is
    )
