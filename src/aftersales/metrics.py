"""The in-process metrics (prometheus-client) and their exposition for GET /metrics.

Two sources make one scrape:

- what a process counts as it goes: request durations (api/request_context.py), deadlines fired,
  skipped and failed, and the lag behind their due time (worker/engine.py). Under
  `aftersales serve --workers N` each process writes its own into PROMETHEUS_MULTIPROC_DIR (set by
  `serve`, cli.py, before anything imports prometheus_client: the library reads it at import) and
  any process answering a scrape sums every process's files, so all answer the same totals.
- what the database holds (deadlines due, the outbox backlog, deliveries and refunds by status,
  heartbeats), read at scrape time by `services/gauges.py`: the same figures from every process
  and every host, including workers that run in processes of their own and expose nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from .services.gauges import Figures

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the classic text format every Prometheus reads

# The metrics this process counts. In multiprocess mode they write to files whatever registry
# holds them; this private one keeps them out of the library's global default registry.
OWN = CollectorRegistry(auto_describe=True)

HTTP_DURATION = Histogram(
    "aftersales_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code.",
    ["method", "route", "status"],
    registry=OWN,
)
DEADLINES_FIRED = Counter(
    "aftersales_deadlines_fired",
    "Deadlines whose effect a deadline worker of this server applied.",
    registry=OWN,
)
DEADLINES_SKIPPED = Counter(
    "aftersales_deadlines_skipped",
    "Deadlines taken but consumed without effect (their subject had moved on).",
    registry=OWN,
)
DEADLINES_FAILED = Counter(
    "aftersales_deadlines_failed",
    "Deadlines of batches that failed and rolled back (they stay due and are retried).",
    registry=OWN,
)
REPLICA_FALLBACKS = Counter(
    "aftersales_replica_fallbacks",
    "Reads meant for the read replica that the primary answered because the replica did not (store/replica.py).",
    registry=OWN,
)
# From a second (a busy poll) to a day (a worker that was down overnight).
LAG_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, float("inf"))
DEADLINE_LAG = Histogram(
    "aftersales_deadline_lag_seconds",
    "How long after its due time a deadline was fired (clock time at firing minus due_at).",
    buckets=LAG_BUCKETS,
    registry=OWN,
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def database_families(figures: Figures | None) -> list[Metric]:
    """The database's figures as metric families; `None`: the database did not answer."""
    up = GaugeMetricFamily("aftersales_database_up", "1 if the database answered this scrape's reads, else 0.")
    up.add_metric([], 0 if figures is None else 1)
    if figures is None:
        return [up]
    f = figures

    def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, value=value)

    deliveries = GaugeMetricFamily(
        "aftersales_webhook_deliveries", "Webhook deliveries in the database, by status.", labels=["status"]
    )
    for status, count in sorted(f.webhook_deliveries.items()):
        deliveries.add_metric([status], count)
    beats = GaugeMetricFamily(
        "aftersales_heartbeat_age_seconds",
        "Seconds since the latest heartbeat of any process of a background loop, by role.",
        labels=["role"],
    )
    for role, age in sorted(f.heartbeat_ages.items()):
        beats.add_metric([role], age)
    families: list[Metric] = [
        up,
        gauge("aftersales_deadlines_due", "Deadlines due (due_at <= now) and not yet fired.", f.deadlines_due),
        gauge(
            "aftersales_deadlines_overdue_seconds",
            "Seconds the oldest due deadline is past its due time (0 when none is due).",
            f.deadlines_overdue_seconds,
        ),
        CounterMetricFamily(
            "aftersales_deadline_workers_fired",
            "Deadlines fired by every deadline worker process anywhere, as of each one's latest heartbeat.",
            value=f.workers_fired,
        ),
        gauge(
            "aftersales_outbox_backlog", "Outbox messages not yet delivered (delivered_at IS NULL).", f.outbox_backlog
        ),
        gauge(
            "aftersales_outbox_oldest_age_seconds",
            "Seconds since the oldest undelivered outbox message was written (0 when none).",
            f.outbox_oldest_age_seconds,
        ),
        deliveries,
        gauge("aftersales_refunds_pending", "Refunds in status pending.", f.refunds_pending),
        gauge("aftersales_refunds_late", "Refunds flagged late and not yet paid.", f.refunds_late),
        gauge("aftersales_refunds_failed", "Refunds given up on, waiting for an agent.", f.refunds_failed),
        beats,
    ]
    return families


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


class _Scrape(Collector):
    def __init__(self, sources: Iterable[Collector]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def exposition(figures: Figures | None) -> bytes:
    """The text of one scrape: this process's (or, in multiprocess mode, every process's) own
    metrics, then the database's figures."""
    path = multiprocess_dir()
    own: Collector = MultiProcessCollector(None, path=path) if path else OWN
    return generate_latest(_Scrape([own, _Families(database_families(figures))]))
