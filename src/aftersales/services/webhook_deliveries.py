"""The webhook queue: fanning outbox messages out to endpoints, claiming due deliveries in order
per subject, and recording what each attempt came to (retry, success, dead letter, disable).

Each function runs in the caller's unit of work and does no I/O but the database's: the relay
(worker/relay.py) sends between `claim` and `record`, outside any transaction.

Ordering: deliveries of one endpoint and one subject go one at a time, oldest first; a delivery
waits (no `next_attempt_at`) while an older one of its endpoint and subject is pending, and falls
due when that one succeeds or is dead-lettered.
Fan-out takes outbox rows in id order, and on PostgreSQL one relay at a time fans out (a
transaction-level advisory lock): two fanning out at once could each commit a later event of a
subject before the earlier one's delivery exists, and the later would be sent first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..integrations import envelope
from ..integrations.envelope import Message
from ..integrations.webhooks import Outcome
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork

# Seconds: the cap of each retry's full jitter (the wait is uniform in [0, cap]); the last repeats.
SCHEDULE = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800)
GIVE_UP_AFTER = timedelta(hours=24)  # after the first attempt: a failure then is a dead letter
DISABLE_AFTER = 5  # deliveries dead-lettered in a row, no attempt succeeding between them
FANOUT_LOCK = 0x61667401  # pg_try_advisory_xact_lock keys: one fanning out, one publishing
STREAM_LOCK = 0x61667402

d, e, o = t.webhook_deliveries.c, t.webhook_endpoints.c, t.outbox.c


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to one sender, with what sending it needs."""

    id: int
    endpoint_id: str
    url: str
    secrets: list[str]  # the current secret, then the previous one during a rotation's overlap
    message: Message
    attempts: int
    failure_streak: int = 0  # the endpoint's, when leased: a success resets it


def leads(uow: UnitOfWork, key: int) -> bool:
    """Whether this transaction may do the one-at-a-time work `key` names (PostgreSQL; SQLite
    has one relay and BEGIN IMMEDIATE already serialises writers)."""
    if uow.dialect != "postgresql":
        return True
    return bool(uow.execute(sa.select(sa.func.pg_try_advisory_xact_lock(key))).scalar())


def fan_out(uow: UnitOfWork, now: datetime, limit: int) -> int:
    """One delivery per undelivered outbox row and endpoint that takes it (an enabled endpoint
    of the event's shop or of the platform, whose filters match); the rows fanned out."""
    if not leads(uow, FANOUT_LOCK):
        return 0
    rows = uow.execute(
        sa.select(o.id, o.event_id, o.topic, o.payload, o.created_at)
        .where(o.delivered_at.is_(None))
        .order_by(o.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    endpoints = uow.execute(sa.select(e.id, e.merchant_id, e.events).where(e.status == "enabled")).all()
    deliveries = []
    for row in rows:
        message = envelope.from_outbox(row.topic, row.payload)
        for endpoint in endpoints:
            if endpoint.merchant_id not in (None, message.merchant_id) or not message.matches(endpoint.events):
                continue
            deliveries.append(
                dict(
                    endpoint_id=endpoint.id,
                    event_id=row.event_id,
                    message_id=message.id,
                    type=message.type,
                    subject=message.subject,
                    payload={"timestamp": message.timestamp.isoformat(), "data": message.data},
                    status="pending",
                    attempts=0,
                    created_at=now,
                )
            )
    if deliveries:
        _chain(uow, now, deliveries)
        insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
        # Unique (endpoint_id, event_id): a row fanned out again adds nothing.
        uow.execute(insert(t.webhook_deliveries).on_conflict_do_nothing(), deliveries)
    # The bounds let PostgreSQL look only in the months these rows are in (store/partitions.py).
    since, until = min(r.created_at for r in rows), max(r.created_at for r in rows)
    uow.execute(
        t.outbox.update()
        .where(o.id.in_([r.id for r in rows]), o.created_at.between(since, until))
        .values(delivered_at=now)
    )
    return len(rows)


def _chain(uow: UnitOfWork, now: datetime, deliveries: list[dict[str, Any]]) -> None:
    """Due now for a subject with nothing pending at its endpoint; otherwise waiting (no
    `next_attempt_at`) until `record` finishes the one before it and promotes it.

    The newest pending delivery of each such subject is locked while this transaction lasts: a
    sender finishing it meanwhile promotes a successor only once this commits, and sees it. (Only
    a subject's head can finish, so a newest one that is no longer pending leaves nothing.)"""
    pairs = sorted({(dl["endpoint_id"], dl["subject"]) for dl in deliveries})
    newest = (
        sa.select(sa.func.max(d.id))
        .where(d.status == "pending", sa.tuple_(d.endpoint_id, d.subject).in_(pairs))
        .group_by(d.endpoint_id, d.subject)
    )
    held = uow.execute(
        sa.select(d.endpoint_id, d.subject)
        .where(d.id.in_(newest), d.status == "pending")
        .order_by(d.id)  # locks in id order, as `record` takes them
        .with_for_update()
    ).all()
    busy = {(row.endpoint_id, row.subject) for row in held}
    for dl in deliveries:  # in event order
        key = (dl["endpoint_id"], dl["subject"])
        dl["next_attempt_at"] = None if key in busy else now
        busy.add(key)


def unstreamed(uow: UnitOfWork, limit: int) -> list[tuple[int, Message]]:
    """The oldest outbox rows not yet published on the stream, with their messages."""
    rows = uow.execute(
        sa.select(o.id, o.topic, o.payload).where(o.streamed_at.is_(None)).order_by(o.id).limit(limit)
    ).all()
    return [(row.id, envelope.from_outbox(row.topic, row.payload)) for row in rows]


def mark_streamed(uow: UnitOfWork, ids: list[int], now: datetime) -> None:
    uow.execute(t.outbox.update().where(o.id.in_(ids)).values(streamed_at=now))


CLAIMED = (d.id, d.endpoint_id, d.message_id, d.type, d.subject, d.payload, d.attempts)


def claim(uow: UnitOfWork, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Lease up to `limit` due deliveries to the caller until `now + lease` (then another relay
    may take them again). Only the oldest pending delivery of an endpoint and subject has a
    `next_attempt_at` (see `_chain`), so each is its subject's next."""
    enabled = sa.exists().where(e.id == d.endpoint_id, e.status == "enabled")
    due = (
        sa.select(d.id)
        .where(
            d.status == "pending",
            d.next_attempt_at <= now,
            sa.or_(d.claimed_until.is_(None), d.claimed_until <= now),
            enabled,
        )
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
        .with_for_update(of=t.webhook_deliveries, skip_locked=True)
        .cte("due")
    )
    lease_them = t.webhook_deliveries.update().where(d.id.in_(sa.select(due.c.id))).values(claimed_until=now + lease)
    endpoint_columns = (e.url, e.secret, e.previous_secret, e.previous_secret_expires_at, e.failure_streak)
    if uow.dialect == "postgresql":  # UPDATE … FROM the endpoints: one round trip
        rows = uow.execute(lease_them.where(e.id == d.endpoint_id).returning(*CLAIMED, *endpoint_columns)).all()
    else:  # SQLite's RETURNING sees only the table it updates
        ids = list(uow.execute(lease_them.returning(d.id)).scalars())
        rows = uow.execute(
            sa.select(*CLAIMED, *endpoint_columns).join(t.webhook_endpoints, e.id == d.endpoint_id).where(d.id.in_(ids))
        ).all()
    return [_claimed(row, now) for row in sorted(rows, key=lambda r: r.id)]


def release(uow: UnitOfWork, ids: list[int]) -> None:
    """Hand leased deliveries back unsent (a relay stopping): due again at once."""
    if ids:
        uow.execute(
            t.webhook_deliveries.update().where(d.id.in_(ids), d.status == "pending").values(claimed_until=None)
        )


def _claimed(row: Any, now: datetime) -> Claimed:
    secrets = [row.secret]
    if row.previous_secret and row.previous_secret_expires_at and row.previous_secret_expires_at > now:
        secrets.append(row.previous_secret)
    message = Message(
        id=row.message_id,
        type=row.type,
        subject=row.subject,
        timestamp=datetime.fromisoformat(row.payload["timestamp"]),
        data=row.payload["data"],
    )
    return Claimed(row.id, row.endpoint_id, row.url, secrets, message, row.attempts, row.failure_streak)


def record(
    uow: UnitOfWork, now: datetime, results: list[tuple[Claimed, Outcome]], rng: random.Random | None = None
) -> list[str]:
    """Log attempts and move their deliveries on: `succeeded`, `pending` (retry at a jittered
    backoff) or `dead` (failing 24 h after its first attempt); the new statuses. Successes, the
    common case, are written a statement per table whatever their number."""
    if not results:
        return []
    results = sorted(results, key=lambda r: r[0].id)  # rows locked in id order, as `_chain` locks them
    uow.execute(
        t.webhook_attempts.insert(),
        [
            dict(delivery_id=dl.id, at=now, status_code=out.status_code, latency_ms=out.latency_ms, error=out.error)
            for dl, out in results
        ],
    )
    ok = [(dl, out) for dl, out in results if out.ok]
    if ok:
        uow.execute(
            t.webhook_deliveries.update()
            .where(d.id == sa.bindparam("_id"), d.status == "pending")
            .values(
                status="succeeded",
                delivered_at=now,
                next_attempt_at=None,
                claimed_until=None,
                attempts=sa.bindparam("_attempts"),
                last_status_code=sa.bindparam("_code"),
                last_latency_ms=sa.bindparam("_ms"),
                last_error=None,
            ),
            [dict(_id=dl.id, _attempts=dl.attempts + 1, _code=out.status_code, _ms=out.latency_ms) for dl, out in ok],
        )
        heard = sorted({dl.endpoint_id for dl, _ in ok if dl.failure_streak})
        if heard:
            uow.execute(
                t.webhook_endpoints.update().where(e.id.in_(heard), e.failure_streak != 0).values(failure_streak=0)
            )
    statuses = ["succeeded" if out.ok else _failed(uow, now, dl, out, rng) for dl, out in results]
    done = [dl for (dl, _), status in zip(results, statuses, strict=True) if status != "pending"]
    if done:
        _promote(uow, now, done)
    return statuses


def _promote(uow: UnitOfWork, now: datetime, done: list[Claimed]) -> None:
    """The next pending delivery of each finished one's endpoint and subject falls due."""
    after = t.webhook_deliveries.alias("after")
    successor = (
        sa.select(sa.func.min(after.c.id))
        .where(
            after.c.endpoint_id == sa.bindparam("_endpoint"),
            after.c.subject == sa.bindparam("_subject"),
            after.c.status == "pending",
        )
        .scalar_subquery()
    )
    uow.execute(
        t.webhook_deliveries.update().where(d.id == successor, d.next_attempt_at.is_(None)).values(next_attempt_at=now),
        [dict(_endpoint=dl.endpoint_id, _subject=dl.message.subject) for dl in done],
    )


def _failed(uow: UnitOfWork, now: datetime, delivery: Claimed, outcome: Outcome, rng: random.Random | None) -> str:
    attempts = delivery.attempts + 1
    last = dict(
        attempts=attempts,
        claimed_until=None,
        last_status_code=outcome.status_code,
        last_latency_ms=outcome.latency_ms,
        last_error=outcome.error,
    )
    mine = t.webhook_deliveries.update().where(d.id == delivery.id, d.status == "pending")
    a = t.webhook_attempts.c
    first = uow.execute(sa.select(sa.func.min(a.at)).where(a.delivery_id == delivery.id)).scalar_one()
    if now - first < GIVE_UP_AFTER:
        cap = SCHEDULE[min(attempts, len(SCHEDULE)) - 1]
        wait = timedelta(seconds=(rng or random).uniform(0, cap))
        uow.execute(mine.values(next_attempt_at=now + wait, **last))
        return "pending"
    uow.execute(mine.values(status="dead", next_attempt_at=None, **last))
    _count_dead(uow, now, delivery.endpoint_id)
    return "dead"


def _count_dead(uow: UnitOfWork, now: datetime, endpoint_id: str) -> None:
    """One more dead letter in a row; the endpoint is disabled at DISABLE_AFTER, and its owner
    hears of it by the event `webhook_endpoint.disabled` (on its other endpoints, the platform's)."""
    endpoint = uow.execute(
        t.webhook_endpoints.update()
        .where(e.id == endpoint_id)
        .values(failure_streak=e.failure_streak + 1)
        .returning(e.id, e.merchant_id, e.url, e.status, e.failure_streak, e.version)
    ).one()
    if endpoint.status != "enabled" or endpoint.failure_streak < DISABLE_AFTER:
        return
    reason = f"{endpoint.failure_streak} deliveries in a row failed every attempt for 24 hours"
    uow.execute(
        t.webhook_endpoints.update()
        .where(e.id == endpoint_id)
        .values(status="disabled", disabled_reason=reason, version=e.version + 1, updated_at=now)
    )
    uow.events.record(
        kind="webhook_endpoint",
        subject_id=endpoint_id,
        action="disabled",
        actor_role="system",
        actor_id="relay",
        at=now,
        before={"status": "enabled"},
        after={"status": "disabled", "disabled_reason": reason},
        data={"url": endpoint.url, "merchant_id": endpoint.merchant_id, "failure_streak": endpoint.failure_streak},
        meta={"merchant_id": endpoint.merchant_id},  # its owner's other endpoints hear it
    )
