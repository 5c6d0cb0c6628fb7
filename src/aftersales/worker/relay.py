"""The outbox relay: what was committed reaches the webhook endpoints and the stream, at least once.

One loop, three steps, each a short transaction with no network inside (but the stream's
publish, which holds PostgreSQL's one-publisher lock until the broker acknowledged the batch):
fan the new outbox rows out to deliveries (services/webhook_deliveries.py), publish them on the
stream when one is configured, and lease due deliveries to a small pool of sending threads, so a
slow receiver holds one thread, not the others. A sender records each attempt in a transaction of
its own. A relay that dies mid-send loses nothing: the lease runs out and the delivery is sent
again with the same `webhook-id`. Any number of relays may run on PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta

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
        self._busy = 0  # deliveries in the pool
        self._lock = threading.Lock()
        self._freed = threading.Event()  # a sender finished: the loop may lease more

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
        """Lease as many due deliveries as there are idle senders and hand them to the pool; the
        number handed over."""
        with self._lock:
            free = self.pool_size - self._busy
        if free <= 0:
            return 0
        with UnitOfWork(self.engine) as uow:
            claimed = queue.claim(uow, self.env.clock.now(), self.lease, free)
            uow.commit()
        futures: list[Future[None]] = []
        for delivery in claimed:
            with self._lock:
                self._busy += 1
            futures.append(self.pool.submit(self._send, delivery))
        if wait_for_sends:
            wait(futures)
        return len(claimed)

    def _send(self, delivery: queue.Claimed) -> None:
        try:
            body = delivery.message.body()
            head = webhooks.headers(delivery.message.id, self.wire_clock.now(), body, delivery.secrets)
            outcome = webhooks.send(self.http, delivery.url, body, head, allow_private=self.allow_private)
            with UnitOfWork(self.engine) as uow:
                status = queue.record(uow, self.env.clock.now(), delivery, outcome, self.rng)
                uow.commit()
            log.debug("delivery %s to %s: %s (%s)", delivery.id, delivery.endpoint_id, status, outcome.error)
        except Exception:
            # The lease runs out and the delivery is taken again: nothing is lost.
            log.exception("delivery %s failed to send or record", delivery.id)
        finally:
            with self._lock:
                self._busy -= 1
            self._freed.set()

    # --- the loop ----------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.2) -> None:
        log.info("relay %s started", self.name)
        last_beat = -HEARTBEAT_SECONDS
        while not stop.is_set():
            try:
                if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                    self.heartbeat()
                    last_beat = time.monotonic()
                self._freed.clear()
                work = self.fan_out() + self.publish() + self.deliver()
                if not work:
                    self._freed.wait(poll_seconds)  # nothing to do, or every sender busy
            except Exception:
                log.exception("relay round failed; retrying")
                stop.wait(poll_seconds)
        self.close()
        log.info("relay %s stopped", self.name)

    def heartbeat(self) -> None:
        with UnitOfWork(self.engine) as uow:
            with self._lock:
                busy = self._busy
            heartbeats.beat(uow, role="relay", name=self.name, at=self.env.clock.now(), detail={"sending": busy})
            uow.commit()

    def close(self) -> None:
        """Let the sends in flight finish (each is bounded by its timeout), then let go."""
        self.pool.shutdown(wait=True)
        self.http.close()
        if self.stream is not None:
            self.stream.close()
