"""Operations (docs/api.md "Operations"): GET /metrics, X-Request-Id, the request log line, and
GET /healthz with the database and the loops' heartbeats."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from aftersales import logs, metrics
from aftersales.runtime import Runtime
from aftersales.services import heartbeats
from aftersales.store import tables as t
from aftersales.store.database import create_engine
from aftersales.worker.engine import DeadlineEngine
from api_builders import assert_problem, feed_order, file_case
from live_server import LiveServer
from waiting import wait_until

METRICS_TOKEN = "scraper-token-of-at-least-thirty-two-bytes"
WORKERS_FIRED = ("aftersales_deadline_workers_fired", "aftersales_deadline_workers_fired_total")


def scrape(api: Any) -> dict[str, list[Any]]:
    """Every sample of a scrape by metric family name, parsed by prometheus-client's own parser."""
    r = api.as_("admin", "admin-1").get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(r.text)}


def value(samples: dict[str, list[Any]], family: str, sample: str | None = None, **labels: str) -> float:
    found = [
        s.value
        for s in samples.get(family, [])
        if s.name == (sample or family) and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    return sum(found)


def duration_count(samples: dict[str, list[Any]], **labels: str) -> float:
    return value(
        samples,
        "aftersales_http_request_duration_seconds",
        "aftersales_http_request_duration_seconds_count",
        **labels,
    )


# --- /metrics ----------------------------------------------------------------------------------


def test_a_case_read_counts_under_its_route_template_not_its_id(api):
    feed_order(api)
    case_id = file_case(api)["id"]
    before = scrape(api)
    buyer = api.as_("buyer", "b-1")
    for _ in range(3):
        assert buyer.get(f"/v1/after-sales/{case_id}").status_code == 200
    assert buyer.get("/v1/after-sales/as-missing").status_code == 404
    after = scrape(api)
    route = "/v1/after-sales/{case_id}"
    grown = duration_count(after, method="GET", route=route, status="200") - duration_count(
        before, method="GET", route=route, status="200"
    )
    assert grown == 3
    assert duration_count(after, route=route, status="404") - duration_count(before, route=route, status="404") == 1
    routes = {s.labels["route"] for s in after["aftersales_http_request_duration_seconds"] if "route" in s.labels}
    assert not any(case_id in r or "as-missing" in r for r in routes), routes


def test_a_path_no_route_matches_is_one_label_and_a_405_keeps_its_template(api):
    before = scrape(api)
    for n in range(3):
        assert api.anonymous.get(f"/no/such/{n}").status_code == 404
    assert api.anonymous.delete("/v1/policies").status_code == 405
    after = scrape(api)
    assert duration_count(after, route="unmatched", status="404") - duration_count(before, route="unmatched") == 3
    assert duration_count(after, method="DELETE", route="/v1/policies", status="405") == 1 + duration_count(
        before, method="DELETE", route="/v1/policies", status="405"
    )


def test_metrics_are_for_an_admin_or_the_metrics_token(runtime, serve):
    api = serve(
        dataclasses.replace(runtime, settings=dataclasses.replace(runtime.settings, metrics_token=METRICS_TOKEN))
    )
    assert_problem(api.anonymous.get("/metrics"), 401)
    for role in ("buyer", "merchant", "agent", "integration"):
        assert_problem(api.as_(role).get("/metrics"), 403)
    assert_problem(api.anonymous.get("/metrics", headers={"Authorization": "Bearer not-the-token"}), 401)
    r = api.anonymous.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200 and "aftersales_database_up 1.0" in r.text
    assert api.as_("admin", "admin-1").get("/metrics").status_code == 200


def test_without_a_metrics_token_configured_only_an_admin_reads(api):
    assert_problem(api.anonymous.get("/metrics"), 401)
    assert_problem(api.anonymous.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}), 401)


def test_deadlines_due_move_with_the_clock(api):
    feed_order(api)
    file_case(api)  # the merchant has 48 h to answer
    first = scrape(api)
    assert value(first, "aftersales_deadlines_due") == 0
    assert value(first, "aftersales_deadlines_overdue_seconds") == 0
    api.clock.advance(timedelta(hours=49))
    later = scrape(api)
    assert value(later, "aftersales_deadlines_due") == 1
    assert value(later, "aftersales_deadlines_overdue_seconds") == 3600


def test_outbox_backlog_and_its_age_come_from_the_rows(api):
    feed_order(api)  # writes outbox messages of its own
    base = value(scrape(api), "aftersales_outbox_backlog")
    with api.runtime.engine.begin() as conn:
        conn.execute(t.outbox.update().values(delivered_at=api.clock.now()))  # all fanned out
        rows = [
            {"event_id": n, "topic": "order.created", "payload": {}, "created_at": api.clock.now(), "attempts": 0}
            for n in (1, 2)
        ]
        conn.execute(t.outbox.insert(), rows)
    assert base > 0
    api.clock.advance(timedelta(minutes=10))
    samples = scrape(api)
    assert value(samples, "aftersales_outbox_backlog") == 2
    assert value(samples, "aftersales_outbox_oldest_age_seconds") == 600
    with api.runtime.engine.begin() as conn:
        conn.execute(t.outbox.update().values(delivered_at=api.clock.now()))
    samples = scrape(api)
    assert value(samples, "aftersales_outbox_backlog") == 0
    assert value(samples, "aftersales_outbox_oldest_age_seconds") == 0


def test_webhook_deliveries_and_pending_refunds_are_counted_by_status(api):
    feed_order(api)
    now = api.clock.now()
    with api.runtime.engine.begin() as conn:
        conn.execute(
            t.webhook_endpoints.insert().values(
                id="we-1",
                url="https://example.com/hook",
                events=["*"],
                secret="whsec_x",
                status="enabled",
                failure_streak=0,
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            t.webhook_deliveries.insert(),
            [
                {
                    "endpoint_id": "we-1",
                    "event_id": n,
                    "message_id": f"msg-{n}",
                    "type": "order.created",
                    "subject": "order:o-1001",
                    "payload": {},
                    "status": status,
                    "attempts": 1,
                    "created_at": now,
                }
                for n, status in enumerate(["dead", "dead", "pending", "succeeded"])
            ],
        )
        for n, (status, late) in enumerate(
            [("pending", False), ("pending", True), ("succeeded", True), ("failed", True), ("failed", False)]
        ):
            conn.execute(
                t.refunds.insert().values(
                    id=f"rf-{n}",
                    order_id="o-1001",
                    buyer_id="b-1",
                    merchant_id="m-1",
                    amount=100,
                    currency="CNY",
                    payer="platform",
                    method="original_payment",
                    status=status,
                    late=late,
                    evidence=[],
                    created_at=now,
                )
            )
    samples = scrape(api)
    assert value(samples, "aftersales_webhook_deliveries", status="dead") == 2
    assert value(samples, "aftersales_webhook_deliveries", status="pending") == 1
    assert value(samples, "aftersales_webhook_deliveries", status="succeeded") == 1
    assert value(samples, "aftersales_refunds_pending") == 2
    assert value(samples, "aftersales_refunds_late") == 2  # a late refund since paid no longer counts
    assert value(samples, "aftersales_refunds_failed") == 2


def test_the_engine_counts_what_it_fires_and_how_late(api):
    feed_order(api, "o-late", upto="created")  # unpaid: cancelled after 24 h
    fired = metrics.OWN.get_sample_value("aftersales_deadlines_fired_total") or 0.0
    lag_count = metrics.OWN.get_sample_value("aftersales_deadline_lag_seconds_count") or 0.0
    lag_sum = metrics.OWN.get_sample_value("aftersales_deadline_lag_seconds_sum") or 0.0
    engine = DeadlineEngine(api.runtime.engine, api.runtime.env, "test-worker")
    engine.beat()
    assert value(scrape(api), *WORKERS_FIRED) == 0
    api.clock.advance(timedelta(hours=26))  # fired two hours late
    assert engine.run_until_idle() == 1
    assert metrics.OWN.get_sample_value("aftersales_deadlines_fired_total") == fired + 1
    assert metrics.OWN.get_sample_value("aftersales_deadline_lag_seconds_count") == lag_count + 1
    assert metrics.OWN.get_sample_value("aftersales_deadline_lag_seconds_sum") == pytest.approx(lag_sum + 7200)
    assert value(scrape(api), *WORKERS_FIRED) == 0  # until its next heartbeat says so
    engine.beat()
    samples = scrape(api)
    assert value(samples, *WORKERS_FIRED) == 1
    assert (
        value(samples, "aftersales_deadlines_fired", "aftersales_deadlines_fired_total") == fired + 1
    )  # the same process's counter
    assert value(samples, "aftersales_deadlines_due") == 0


# --- X-Request-Id and the log line -------------------------------------------------------------


def test_a_valid_request_id_is_echoed_and_a_missing_one_generated(api):
    r = api.anonymous.get("/healthz", headers={"X-Request-Id": "lb-7f3a:42_x.y"})
    assert r.headers["X-Request-Id"] == "lb-7f3a:42_x.y"
    generated = {api.anonymous.get("/healthz").headers["X-Request-Id"] for _ in range(2)}
    assert len(generated) == 2 and all(len(g) == 32 and int(g, 16) >= 0 for g in generated)


@pytest.mark.parametrize(
    "request_and_status",
    [("GET", "/v1/orders/o-1", 401), ("GET", "/no/such/page", 404), ("DELETE", "/v1/policies", 405)],
)
def test_errors_carry_the_request_id_too(api, request_and_status):
    method, path, status = request_and_status
    r = api.anonymous.request(method, path, headers={"X-Request-Id": "req-1"})
    assert r.status_code == status and r.headers["X-Request-Id"] == "req-1"


def test_a_hostile_request_id_is_replaced(api):
    too_long = api.anonymous.get("/healthz", headers={"X-Request-Id": "a" * 129})
    assert too_long.headers["X-Request-Id"] != "a" * 129 and len(too_long.headers["X-Request-Id"]) == 32
    assert api.anonymous.get("/healthz", headers={"X-Request-Id": "a" * 128}).headers["X-Request-Id"] == "a" * 128
    for hostile in (b"has space", b'quote"d', "ü-nicode".encode(), b"semi;colon"):
        r = api.anonymous.get("/healthz", headers={"X-Request-Id": hostile})
        assert r.headers["X-Request-Id"].encode() != hostile and len(r.headers["X-Request-Id"]) == 32
    # A bare line feed inside a header value (no client library sends one): on a raw socket.
    head = _raw_get(api.port, "/healthz", b"X-Request-Id: forged\nX-Injected: 1\r\n")
    echoed = [line for line in head.split(b"\r\n") if line.lower().startswith(b"x-request-id:")]
    assert b"forged" not in head and len(echoed) <= 1, head


def _raw_get(port: int, path: str, extra: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode() + extra + b"\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


class JsonLines(logging.Handler):
    """The root handler a process has (logs.configure), writing to a list: each record is
    rendered as it is emitted, in the thread and context that logged it."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logs.formatter("json"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def parsed(self, logger: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in list(self.lines)]
        return [x for x in found if logger is None or x["logger"] == logger]


@pytest.fixture
def json_log() -> Any:
    handler, root = JsonLines(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def test_one_json_log_line_per_request_with_who_and_how_long_and_no_token(api, json_log):
    order = feed_order(api)
    buyer = api.as_("buyer", "b-1")
    r = buyer.get(f"/v1/orders/{order['id']}", headers={"X-Request-Id": "trace-123"})
    assert r.status_code == 200
    lines = [line for line in json_log.parsed("aftersales.access") if line.get("request_id") == "trace-123"]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["event"] == "request" and line["level"] == "info" and line["logger"] == "aftersales.access"
    assert line["method"] == "GET" and line["route"] == "/v1/orders/{order_id}" and line["status"] == 200
    assert line["path"] == f"/v1/orders/{order['id']}"
    assert line["role"] == "buyer" and line["sub"] == "b-1"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert "timestamp" in line
    token = buyer.headers["Authorization"].split()[1]
    assert token not in json.dumps(line) and "Authorization" not in json.dumps(line)


def test_no_request_line_when_the_access_log_is_off(runtime, serve, json_log):
    quiet = dataclasses.replace(runtime, settings=dataclasses.replace(runtime.settings, access_log=False))
    api = serve(quiet)
    r = api.anonymous.get("/healthz", headers={"X-Request-Id": "quiet-1"})
    assert r.headers["X-Request-Id"] == "quiet-1"
    assert not [x for x in json_log.parsed("aftersales.access") if x.get("request_id") == "quiet-1"]
    assert duration_count(scrape(api), route="/healthz") >= 1  # still measured


def test_an_anonymous_refusal_is_logged_without_a_principal(api, json_log):
    api.anonymous.get("/v1/orders", headers={"X-Request-Id": "anon-1", "Authorization": "Bearer forged.token.x"})
    (line,) = [x for x in json_log.parsed("aftersales.access") if x.get("request_id") == "anon-1"]
    assert line["status"] == 401 and "role" not in line and "sub" not in line
    assert "forged" not in json.dumps(line)


# --- /healthz ----------------------------------------------------------------------------------


def test_healthz_reports_a_fresh_then_a_stale_worker_heartbeat_without_failing(api):
    r = api.anonymous.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == {"status": "ok"}
    assert body["deadline_worker"] == {"last_beat": None, "age_seconds": None, "ok": False}
    assert body["status"] == "degraded"
    with api.runtime.uow() as uow:
        heartbeats.beat(uow, role="deadline_worker", name="deadline-worker:h:1", at=api.clock.now())
        heartbeats.beat(uow, role="relay", name="relay:h:1", at=api.clock.now() - timedelta(seconds=5))
        uow.commit()
    body = api.anonymous.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["deadline_worker"] == {"last_beat": api.clock.now().isoformat(), "age_seconds": 0.0, "ok": True}
    assert body["relay"]["age_seconds"] == 5.0 and body["relay"]["ok"] is True
    api.clock.advance(timedelta(minutes=2))
    r = api.anonymous.get("/healthz")
    # A stale loop is reported, but this process still serves: 200, not 503.
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded"
    assert body["deadline_worker"]["ok"] is False and body["deadline_worker"]["age_seconds"] == 120.0
    ages = value(scrape(api), "aftersales_heartbeat_age_seconds", role="deadline_worker")
    assert ages == 120.0


def test_the_deadline_worker_loop_beats(runtime, clock):
    engine = DeadlineEngine(runtime.engine, runtime.env, "beating")
    stop = threading.Event()
    thread = threading.Thread(target=engine.run_forever, args=(stop,), kwargs={"poll_seconds": 0.05})
    thread.start()
    try:

        def beat() -> Any:
            with runtime.uow() as uow:
                return heartbeats.latest(uow).get("deadline_worker")

        assert wait_until(lambda: beat() is not None, 10)
        assert beat() == clock.now()
        with runtime.engine.connect() as conn:
            (name,) = conn.execute(sa.select(t.heartbeats.c.name)).scalars().all()
        assert name.startswith(f"deadline-worker:{socket.gethostname()}:")
    finally:
        stop.set()
        thread.join(10)


def test_a_worker_whose_heartbeat_cannot_be_written_still_fires(api, json_log):
    feed_order(api, "o-unbeaten", upto="created")  # unpaid: cancelled after 24 h
    with api.runtime.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE heartbeats RENAME TO heartbeats_away"))
    try:
        api.clock.advance(timedelta(hours=25))
        engine = DeadlineEngine(api.runtime.engine, api.runtime.env, "unbeaten")
        stop = threading.Event()
        thread = threading.Thread(target=engine.run_forever, args=(stop,), kwargs={"poll_seconds": 0.05})
        thread.start()
        try:
            assert wait_until(lambda: engine.stats.fired == 1, 10)
        finally:
            stop.set()
            thread.join(10)
    finally:
        with api.runtime.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE heartbeats_away RENAME TO heartbeats"))
    assert api.as_("buyer", "b-1").get("/v1/orders/o-unbeaten").json()["status"] == "cancelled"
    assert any(x["event"] == "heartbeat not recorded" for x in json_log.parsed("aftersales.worker"))


def test_healthz_is_503_promptly_when_the_database_is_unreachable(settings, clock, serve, json_log):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens once it is closed
    dead = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{closed}/nothing")
    api = serve(Runtime.build(settings, clock=clock, engine=dead))
    started = time.monotonic()
    r = api.anonymous.get("/healthz", headers={"X-Request-Id": "lb-probe"})
    assert time.monotonic() - started < 10  # the connect timeout, not the OS's
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and body["database"]["status"] == "error"
    assert body["database"]["error"] == "OperationalError"
    # The warning logged on the way carries the request's id.
    warnings = json_log.parsed("aftersales.api")
    assert any(w.get("request_id") == "lb-probe" and w["level"] == "warning" for w in warnings), warnings
    samples = scrape(api)
    assert value(samples, "aftersales_database_up") == 0
    assert "aftersales_deadlines_due" not in samples
    dead.dispose()


# --- settings ----------------------------------------------------------------------------------


def test_log_format_defaults_to_console_in_development_and_json_elsewhere():
    from aftersales.config import ConfigError, Settings

    base = {"AFTERSALES_JWT_SECRET": "z" * 32}
    assert Settings.from_env(base).log_format == "console"
    assert Settings.from_env(base | {"AFTERSALES_ENV": "production"}).log_format == "json"
    assert Settings.from_env(base | {"AFTERSALES_ENV": "test"}).log_format == "json"
    assert Settings.from_env(base | {"AFTERSALES_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="AFTERSALES_LOG_FORMAT"):
        Settings.from_env(base | {"AFTERSALES_LOG_FORMAT": "xml"})
    assert Settings.from_env(base).access_log is True
    assert Settings.from_env(base | {"AFTERSALES_ACCESS_LOG": "false"}).access_log is False


def test_a_production_metrics_token_is_as_long_as_a_secret():
    from aftersales.config import ConfigError, Settings

    prod = {"AFTERSALES_JWT_SECRET": "z" * 32, "AFTERSALES_ENV": "production"}
    assert Settings.from_env(prod).metrics_token is None
    assert Settings.from_env(prod | {"AFTERSALES_METRICS_TOKEN": METRICS_TOKEN}).metrics_token == METRICS_TOKEN
    with pytest.raises(ConfigError, match="AFTERSALES_METRICS_TOKEN"):
        Settings.from_env(prod | {"AFTERSALES_METRICS_TOKEN": "short"})


def test_an_unexpected_failure_still_carries_its_request_id_and_is_logged(runtime, json_log, monkeypatch):
    def broken() -> None:
        raise RuntimeError("a bug")

    server = LiveServer(runtime)
    monkeypatch.setattr(logging.getLogger("uvicorn"), "propagate", True)  # as logs.configure has it
    try:
        server.app.add_api_route("/broken-for-test", broken)
        r = server.api.anonymous.get("/broken-for-test", headers={"X-Request-Id": "bug-1"})
        assert r.status_code == 500 and r.headers["X-Request-Id"] == "bug-1"
    finally:
        server.stop()
    (line,) = [x for x in json_log.parsed("aftersales.access") if x.get("request_id") == "bug-1"]
    assert line["status"] == 500 and line["route"] == "/broken-for-test"
    failures = [x for x in json_log.parsed() if x["level"] == "error" and x.get("request_id") == "bug-1"]
    assert failures and "a bug" in json.dumps(failures[0]["exception"])


def test_a_request_refused_before_routing_is_labelled_with_the_route_it_would_have_taken():
    """The rate limit answers 429 before the router runs: the label is found by matching."""
    from aftersales.api.app import create_app
    from aftersales.api.request_context import route_template

    app = create_app(None)

    def scope(method: str, path: str) -> dict:
        return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "app": app}

    assert route_template(scope("POST", "/v1/after-sales/as_1/approve")) == "/v1/after-sales/{subject_id}/approve"
    assert route_template(scope("PATCH", "/v1/orders")) == "/v1/orders"  # a 405: the path's template
    assert route_template(scope("GET", "/v1/nothing/here")) == "unmatched"


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_a_logged_traceback_shows_no_local_variables(fmt):
    """Frames' locals may hold a token or a buyer's data (and rendering them is slow)."""
    from aftersales import logs

    def failing() -> None:
        token = "eyJ-do-not-log-me"  # noqa: F841 (a local the traceback must not show)
        raise RuntimeError("boom")

    try:
        failing()
    except RuntimeError:
        record = logging.LogRecord("aftersales.test", logging.ERROR, __file__, 1, "it failed", (), sys.exc_info())
    text = logs.formatter(fmt).format(record)
    assert "boom" in text and "failing" in text
    assert "eyJ-do-not-log-me" not in text
