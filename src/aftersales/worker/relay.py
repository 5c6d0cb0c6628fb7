"""The outbox relay: what was committed reaches the webhook endpoints and the stream, at least once.

One loop, three steps, each a short transaction with no network inside (but the stream's
publish, which holds PostgreSQL's one-publisher lock until the broker acknowledged the batch):
fan the new outbox rows out to deliveries (services/webhook_deliveries.py), publish them on the
stream when one is configured, and lease due deliveries to a small pool of sending threads, so a
slow receiver holds one thread, not the others. The senders hand their outcomes back to the loop,
which records every attempt that came back in the transaction that leases the next deliveries. A relay that dies mid-send loses nothing: the lease runs out and the delivery is sent
again with the same `webhook-id`. Any number of relays may run on PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import timedelta
from queue import SimpleQueue

import sqlalchemy as sa

from ..domain.clock import Clock, SystemClock
from ..integrations import webhooks
from ..integrations.streams import Stream
from ..services import heartbeats
from ..services import webhook_deliveries as queue
from ..services.context import Env
from ..store.unit_of_work import UnitOfWork

log = logging.getLogger("aftersales.relay")
HEARTBEAT_SECONDS = 5.0
WINDOW_PER_SENDER = 32
RETRIES, RETRYABLE = 3, ("40P01", "40001")  # deadlock detected, serialization failure


def relay_name() -> str:
    return f"relay:{socket.gethostname()}:{os.getpid()}"


class Relay:
    def __init__(
        self,
        engine: sa.Engine,
        env: Env,
        *,
        allow_private: bool,
        stream: Stream | None = None,
        name: str | None = None,
        batch_size: int = 500,
        pool_size: int = 8,
        lease: timedelta = timedelta(seconds=60),
        timeout: float = 10.0,
        rng: random.Random | None = None,
        wire_clock: Clock | None = None,
    ) -> None:
        self.engine, self.env, self.stream = engine, env, stream
        self.allow_private, self.name = allow_private, name or relay_name()
        self.batch_size, self.pool_size, self.lease = batch_size, pool_size, lease
        self.rng = rng or random.Random()
        # webhook-timestamp is when the request leaves, checked by the receiver against its own
        # wall clock for replay protection: not business time, which may be simulated.
        self.wire_clock = wire_clock or SystemClock()
        self.http = webhooks.client(pool_size, timeout)
        self.pool = ThreadPoolExecutor(pool_size, thread_name_prefix="relay-send")
        # Deliveries leased and not yet recorded: many per sender, so one transaction leases (and
        # records) many while the senders work through them. What the senders finish during one
        # round of the loop waits for the next, so the window must hold that and the senders'
        # queue: at 8 per sender the senders ran dry during a round on a loaded machine.
        self.window = pool_size * WINDOW_PER_SENDER
        self._busy = 0
        self._queued: defaultdict[str, deque[queue.Claimed]] = defaultdict(deque)  # by endpoint
        self._running: Counter[str] = Counter()  # sends under way, by endpoint
        self._outcomes: SimpleQueue[tuple[queue.Claimed, webhooks.Outcome | None]] = SimpleQueue()
        self._lock = threading.Lock()
        self._wake = threading.Event()  # an attempt came back, or new deliveries: lease more

    # --- one round -------------------------------------------------------------------------

    def run_once(self) -> int:
        """Fan out, publish and send one batch, waiting for its sends; the work done (rows fanned
        out and published, attempts made)."""
        return self.fan_out() + self.publish() + self.deliver(wait_for_sends=True)

    def fan_out(self) -> int:
        done = 0
        with UnitOfWork(self.engine) as uow:
            done = queue.fan_out(uow, self.env.clock.now(), self.batch_size)
            uow.commit()
        return done

    def publish(self) -> int:
        """Publish the oldest unpublished rows on the stream; marked only once it acknowledged."""
        if self.stream is None:
            return 0
        with UnitOfWork(self.engine) as uow:
            if self.engine.dialect.name == "postgresql":
                # One publisher at a time keeps the stream in outbox order; the lock ends with
                # this transaction, which stays open over the publish.
                if not queue.leads(uow, queue.STREAM_LOCK):
                    return 0
                batch = queue.unstreamed(uow, self.batch_size)
                if batch:
                    self.stream.publish([m for _, m in batch])
                    queue.mark_streamed(uow, [i for i, _ in batch], self.env.clock.now())
                uow.commit()
                return len(batch)
            batch = queue.unstreamed(uow, self.batch_size)
        # SQLite: one relay; the write lock is not held over the broker's round trip.
        if batch:
            self.stream.publish([m for _, m in batch])
            with UnitOfWork(self.engine) as uow:
                queue.mark_streamed(uow, [i for i, _ in batch], self.env.clock.now())
                uow.commit()
        return len(batch)

    def deliver(self, *, wait_for_sends: bool = False) -> int:
        """Record the attempts that came back and fill the lease window again, in one transaction
        (one commit for many attempts under load), then queue the new leases for the senders;
        the attempts recorded and deliveries leased."""
        outcomes = self._returned()
        with self._lock:
            if not outcomes and self._busy >= self.window:
                return 0  # every sender busy, nothing came back: nothing to write
        try:
            for tries in range(1, RETRIES + 1):
                try:
                    with UnitOfWork(self.engine) as uow:
                        self._record(uow, outcomes)
                        with self._lock:
                            free = self.window - self._busy + len(outcomes)
                        claimed = queue.claim(uow, self.env.clock.now(), self.lease, free) if free > 0 else []
                        uow.commit()
                    break
                except sa.exc.OperationalError as exc:
                    # A fan-out locking the same subjects can deadlock with this (PostgreSQL
                    # ends one of the two): the outcomes are still here, so try again.
                    if getattr(exc.orig, "sqlstate", None) not in RETRYABLE or tries == RETRIES:
                        raise
                    log.info("recording attempts: %s; trying again", exc.orig)
        finally:
            with self._lock:
                self._busy -= len(outcomes)  # recorded, or left to their lease if that failed
        with self._lock:
            self._busy += len(claimed)
        with self._lock:
            for delivery in claimed:
                self._queued[delivery.endpoint_id].append(delivery)
        futures = [self.pool.submit(self._next) for _ in claimed]
        if wait_for_sends and futures:
            wait(futures)
            self._record_returned()
        return len(outcomes) + len(claimed)

    def _returned(self) -> list[tuple[queue.Claimed, webhooks.Outcome | None]]:
        out = []
        while not self._outcomes.empty():
            out.append(self._outcomes.get())
        return out

    def _record_returned(self) -> None:
        outcomes = self._returned()
        try:
            with UnitOfWork(self.engine) as uow:
                self._record(uow, outcomes)
                uow.commit()
        finally:
            with self._lock:
                self._busy -= len(outcomes)

    def _record(self, uow: UnitOfWork, outcomes: list[tuple[queue.Claimed, webhooks.Outcome | None]]) -> None:
        results = [(delivery, outcome) for delivery, outcome in outcomes if outcome is not None]
        queue.record(uow, self.env.clock.now(), results, self.rng)

    def _next(self) -> None:
        """Send one queued delivery, of the endpoint with the fewest sends running: a slow
        receiver's backlog takes the senders only while no other endpoint has work queued."""
        with self._lock:
            endpoint = min((e for e, q in self._queued.items() if q), key=self._running.__getitem__)
            delivery = self._queued[endpoint].popleft()
            if not self._queued[endpoint]:
                del self._queued[endpoint]
            self._running[endpoint] += 1
        try:
            self._send(delivery)
        finally:
            with self._lock:
                self._running[endpoint] -= 1

    def _send(self, delivery: queue.Claimed) -> None:
        outcome = None
        try:
            body = delivery.message.body()
            head = webhooks.headers(delivery.message.id, self.wire_clock.now(), body, delivery.secrets)
            outcome = webhooks.send(self.http, delivery.url, body, head, allow_private=self.allow_private)
        except Exception:
            # Nothing to record: the lease runs out and the delivery is taken again.
            log.exception("delivery %s failed to send", delivery.id)
        finally:
            self._outcomes.put((delivery, outcome))
            self._wake.set()

    # --- the loop ----------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.2) -> None:
        """Deliver until `stop`, with the outbox scanned in a thread of its own (each waits on the
        database apart); never raises: a failed round is logged and tried again."""
        log.info("relay %s started", self.name)
        scanner = threading.Thread(target=self._scan, args=(stop, poll_seconds), name="relay-scan", daemon=True)
        scanner.start()
        last_beat = -float("inf")
        while not stop.is_set():
            try:
                if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                    self.heartbeat()
                    last_beat = time.monotonic()
                self._wake.clear()
                if not self.deliver():
                    self._wake.wait(poll_seconds)  # nothing due, or every lease still out
            except sa.exc.OperationalError as exc:
                log.warning("database unavailable; the relay retries: %s", str(exc.orig).strip())
                stop.wait(poll_seconds)
            except Exception:
                log.exception("relay round failed; retrying")
                stop.wait(poll_seconds)
        scanner.join()
        self.close()
        log.info("relay %s stopped", self.name)

    def _scan(self, stop: threading.Event, poll_seconds: float) -> None:
        """Fan out and publish new outbox rows: every poll, or at once while a backlog drains."""
        while not stop.is_set():
            try:
                fanned, published = self.fan_out(), self.publish()
                if fanned:
                    self._wake.set()
                if max(fanned, published) < self.batch_size:
                    stop.wait(poll_seconds)
            except sa.exc.OperationalError as exc:
                log.warning("database unavailable; the relay's scan retries: %s", str(exc.orig).strip())
                stop.wait(poll_seconds)
            except Exception:
                log.exception("relay scan failed; retrying")
                stop.wait(poll_seconds)

    def heartbeat(self) -> None:
        with UnitOfWork(self.engine) as uow:
            with self._lock:
                busy = self._busy
            heartbeats.beat(uow, role="relay", name=self.name, at=self.env.clock.now(), detail={"sending": busy})
            uow.commit()

    def close(self) -> None:
        """Let the sends under way finish (each bounded by its timeout), record them, and hand
        the leases not yet sent back at once, for this relay or another to take."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            unsent = [delivery.id for waiting in self._queued.values() for delivery in waiting]
            self._queued.clear()
        try:
            self._record_returned()
            with UnitOfWork(self.engine) as uow:
                queue.release(uow, unsent)
                uow.commit()
        except sa.exc.SQLAlchemyError:
            log.exception("the last attempts could not be recorded; their leases will run out")
        finally:
            self.http.close()
            if self.stream is not None:
                self.stream.close()
