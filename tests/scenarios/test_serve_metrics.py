"""`aftersales serve --workers 2` (SQLite): every server process answers a scrape with the same
totals, summed over both processes and the supervisor's deadline worker; every line on stderr is
JSON, with one request line per request (uvicorn's access log does not double it)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from aftersales.api.auth import mint
from aftersales.domain.clock import SystemClock
from aftersales.store import tables
from bodies import order_body
from waiting import wait_until

pytestmark = [pytest.mark.slow]
SECRET = "x" * 32
ROUTE = "/v1/orders/{order_id}"


def _headers(role: str, sub: str) -> dict[str, str]:
    token = mint(SECRET, sub=sub, role=role, now=SystemClock().now(), ttl=timedelta(minutes=10))
    return {"Authorization": f"Bearer {token}"}


def _scrape(base: str) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=10) as fresh:  # a new connection: any process may answer
        r = fresh.get("/metrics", headers=_headers("admin", "admin-1"))
    assert r.status_code == 200, r.text
    samples: dict[str, Any] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples.setdefault(s.name, []).append(s)
    return samples


def _total(samples: dict[str, Any], name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


def _served_by(metrics_dir: Path) -> dict[str, float]:
    """Per process (its histogram file), how many order reads it answered."""
    served = {}
    for path in metrics_dir.glob("histogram_*.db"):
        for metric in MultiProcessCollector.merge([str(path)], accumulate=True):
            count = sum(
                s.value
                for s in metric.samples
                if s.name == "aftersales_http_request_duration_seconds_count" and s.labels.get("route") == ROUTE
            )
            if count:
                served[path.name] = count
    return served


def test_every_process_answers_a_scrape_with_the_same_totals(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")  # must be cleared, not summed
    env = {k: v for k, v in os.environ.items() if k not in ("AFTERSALES_DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(
        {
            "AFTERSALES_JWT_SECRET": SECRET,
            "AFTERSALES_DATA_DIR": str(tmp_path),
            "AFTERSALES_LOG_FORMAT": "json",
        }
    )
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aftersales.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    market = _headers("integration", "marketplace")
    try:
        assert wait_until(lambda: proc.poll() is not None or _answers(base), 60, poll=0.05), "serve did not come up"
        assert proc.poll() is None, stderr_path.read_text()
        assert not (metrics_dir / "counter_1.db").exists()
        oid = f"o-m{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.post("/v1/orders", json=order_body(oid), headers=market).status_code == 201
        # The unpaid order's 24 h auto-cancel, made due now: the supervisor's worker fires it.
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'aftersales.db'}")
        with engine.begin() as conn:
            conn.execute(tables.deadlines.update().values(due_at=datetime(2000, 1, 1, tzinfo=UTC)))
        engine.dispose()
        assert wait_until(lambda: _total(_scrape(base), "aftersales_deadlines_fired_total") == 1, 30)
        # ...and reports it in its next heartbeat (every 5 s), the figure of workers anywhere.
        assert wait_until(lambda: _total(_scrape(base), "aftersales_deadline_workers_fired_total") == 1, 30)

        reads = 0
        buyer = _headers("buyer", "b-1")
        while reads < 60 and (reads < 10 or len(_served_by(metrics_dir)) < 2):
            with httpx.Client(base_url=base, timeout=10) as fresh:
                assert fresh.get(f"/v1/orders/{oid}", headers=buyer).status_code == 200
            reads += 1
        assert len(_served_by(metrics_dir)) == 2, "one process answered every read"
        for _ in range(6):
            samples = _scrape(base)
            count = _total(samples, "aftersales_http_request_duration_seconds_count", method="GET", route=ROUTE)
            assert count == reads
            assert _total(samples, "aftersales_deadlines_fired_total") == 1
            assert _total(samples, "aftersales_deadline_workers_fired_total") == 1
            assert _total(samples, "aftersales_deadlines_due") == 0
            assert _total(samples, "aftersales_deadline_lag_seconds_count") == 1
        health = httpx.get(f"{base}/healthz", timeout=5).json()
        assert health["database"] == {"status": "ok"} and health["deadline_worker"]["ok"] is True
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group of the server this test started
        proc.wait(timeout=20)

    lines = [line for line in stderr_path.read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line, uvicorn's and the worker's too
    order_reads = [p for p in parsed if p.get("event") == "request" and p.get("route") == ROUTE]
    assert len(order_reads) == reads
    assert len({p["request_id"] for p in order_reads}) == reads
    assert all(p["role"] == "buyer" and p["sub"] == "b-1" and p["status"] == 200 for p in order_reads)
    assert any(p.get("logger") == "aftersales.worker" for p in parsed)
    assert any(p.get("logger", "").startswith("uvicorn") for p in parsed)
    assert buyer["Authorization"].split()[1] not in stderr_path.read_text()


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
