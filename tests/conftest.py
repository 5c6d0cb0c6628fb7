"""Fixtures shared by every suite: a database per backend, a manual clock, a runtime, a real
HTTP server per test. Every test that takes `runtime` runs on SQLite and, when it answers,
PostgreSQL.

Isolation: on SQLite each test copies a migrated template file of its own. On PostgreSQL the
session migrates one schema and each test starts by deleting every row (see `clear_tables`);
that is safe because nothing of the previous test runs any more by then: its servers were
stopped with their requests finished (`serve`) and every thread it started has ended
(`_no_thread_outlives_its_test`)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from aftersales.config import Settings
from aftersales.domain.clock import ManualClock
from aftersales.runtime import Runtime
from aftersales.store import migrate, tables
from aftersales.store.database import create_engine
from live_server import SECRET, Api, LiveServer
from replica_cluster import Cluster
from replica_cluster import reason as replica_reason
from waiting import wait_until

PG_BASE_URL = os.environ.get("AFTERSALES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Each test session works in a schema of its own, so parallel runs never see each other's rows.
PG_SCHEMA = f"aftersales_test_{os.getpid()}"
PG_URL = f"{PG_BASE_URL}{'&' if '?' in PG_BASE_URL else '?'}options=-csearch_path%3D{PG_SCHEMA}"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NATS_URL = os.environ.get("AFTERSALES_TEST_NATS_URL", "nats://127.0.0.1:4222")
__all__ = ["NATS_URL", "PG_URL", "SECRET", "START", "Api", "clear_tables"]
START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def _postgres_reason() -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        engine = sa.create_engine(PG_BASE_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _nats_reason() -> str | None:
    """None if a NATS server with JetStream answers, else why not: its first line is INFO {json}."""
    url = urlsplit(NATS_URL)
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 4222), timeout=3) as sock:
            line = sock.makefile("rb").readline()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    if not line.startswith(b"INFO "):
        return f"not a NATS server (it said {line[:40]!r})"
    if not json.loads(line[5:]).get("jetstream"):
        return "the server runs without JetStream (nats-server -js)"
    return None


CHROMIUM = os.environ.get("AFTERSALES_TEST_CHROMIUM", "/usr/bin/chromium")


def _browser_reason() -> str | None:
    """None if Playwright can drive the system's Chromium (Debian's `chromium`), else why not."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set AFTERSALES_TEST_CHROMIUM)"
    return None


# axe-core, fetched from the npm registry by `make install` into the venv (see the Makefile).
AXE = Path(
    os.environ.get(
        "AFTERSALES_TEST_AXE", Path(__file__).resolve().parents[1] / ".venv/axe/node_modules/axe-core/axe.min.js"
    )
)


def _axe_reason() -> str | None:
    """None if the accessibility checker can run (a browser and axe-core's script), else why not."""
    if _BROWSER_PROBLEM is not None:
        return f"no browser: {_BROWSER_PROBLEM}"
    if not AXE.is_file():
        return f"no axe-core at {AXE} (`make install` fetches it with npm; or set AFTERSALES_TEST_AXE)"
    return None


def _axe_version() -> str:
    try:
        return str(json.loads((AXE.parent / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "of unknown version"


_PG_PROBLEM = _postgres_reason()
_NATS_PROBLEM = _nats_reason()
_BROWSER_PROBLEM = _browser_reason()
_AXE_PROBLEM = _axe_reason()
_REPLICA_PROBLEM = replica_reason()


def pytest_report_header(config: Any) -> list[str]:
    if _PG_PROBLEM is None:
        lines = [f"postgresql: {PG_BASE_URL} (schema {PG_SCHEMA})"]
    else:
        lines = [f"postgresql: NOT REACHABLE at {PG_BASE_URL} ({_PG_PROBLEM}); PostgreSQL tests are skipped"]
    if _NATS_PROBLEM is None:
        lines.append(f"nats: {NATS_URL} (JetStream)")
    else:
        lines.append(f"nats: NOT REACHABLE at {NATS_URL} ({_NATS_PROBLEM}); NATS tests are skipped")
    if _BROWSER_PROBLEM is None:
        lines.append(f"browser: {CHROMIUM} through Playwright")
    else:
        lines.append(f"browser: NONE ({_BROWSER_PROBLEM}); the console's browser tests are skipped")
    if _AXE_PROBLEM is None:
        lines.append(f"accessibility: axe-core {_axe_version()} at {AXE}")
    else:
        lines.append(f"accessibility: NONE ({_AXE_PROBLEM}); the accessibility tests are skipped")
    if _REPLICA_PROBLEM is None:
        lines.append("replica: a streaming primary/standby pair of the tests' own, when a test asks for one")
    else:
        lines.append(f"replica: NONE ({_REPLICA_PROBLEM}); the read-replica tests are skipped")
    return lines


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if _PG_PROBLEM is not None and IN_CI:
        raise pytest.UsageError(f"CI=true but PostgreSQL is unreachable at {PG_BASE_URL}: {_PG_PROBLEM}")
    if _NATS_PROBLEM is not None and IN_CI and any(item.get_closest_marker("nats") for item in items):
        raise pytest.UsageError(f"CI=true but NATS JetStream is unreachable at {NATS_URL}: {_NATS_PROBLEM}")
    if _BROWSER_PROBLEM is not None and IN_CI and any(item.get_closest_marker("browser") for item in items):
        raise pytest.UsageError(f"CI=true but no browser can be had: {_BROWSER_PROBLEM}")
    if _AXE_PROBLEM is not None and IN_CI and any(item.get_closest_marker("accessibility") for item in items):
        raise pytest.UsageError(f"CI=true but the accessibility checker cannot run: {_AXE_PROBLEM}")
    if _REPLICA_PROBLEM is not None and IN_CI and any(item.get_closest_marker("replica") for item in items):
        raise pytest.UsageError(f"CI=true but no streaming replica can be set up: {_REPLICA_PROBLEM}")


@pytest.fixture
def nats_url() -> str:
    """The NATS server tests publish to (AFTERSALES_TEST_NATS_URL); skipped when none answers,
    which CI=true refuses (above)."""
    if _NATS_PROBLEM is not None:
        pytest.skip(f"NATS JetStream not reachable at {NATS_URL}: {_NATS_PROBLEM}")
    return NATS_URL


@pytest.fixture(scope="session")
def replica_cluster() -> Iterator[Cluster]:
    """A PostgreSQL primary and its streaming hot standby (tests/replica_cluster.py), started once
    for the session, stopped and removed after it. Skipped where it cannot run, which CI=true
    refuses (above); a start that fails where it could run fails in CI and skips elsewhere."""
    if _REPLICA_PROBLEM is not None:
        pytest.skip(f"no streaming replica: {_REPLICA_PROBLEM}")
    cluster = Cluster()
    try:
        cluster.start()
    except Exception as exc:
        cluster.stop()
        if IN_CI:
            raise
        pytest.skip(f"the streaming replica did not start: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[sa.Engine]:
    if _PG_PROBLEM is not None:
        pytest.skip(f"PostgreSQL not reachable at {PG_BASE_URL}: {_PG_PROBLEM}")
    with sa.create_engine(PG_BASE_URL).begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {PG_SCHEMA}"))
    engine = create_engine(PG_URL)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    with sa.create_engine(PG_BASE_URL).begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))


def clear_tables(engine: sa.Engine) -> None:
    """Every table of the session schema emptied and its sequences restarted.

    DELETE, not TRUNCATE: on tables holding a test's few rows it costs ~15 ms where TRUNCATE
    (new files for every table and index) costs ~400 ms, and a PostgreSQL test clears once. The
    tables are first locked exclusively, so, as with TRUNCATE, the clearing waits for any
    transaction still open on them (a killed worker process's, say) and none can slip in until
    it commits. A fresh schema per test would cost as much as TRUNCATE (creating the tables)."""
    ordered = list(reversed(tables.metadata.sorted_tables))  # children before the rows they cite
    with engine.begin() as conn:
        conn.execute(sa.text(f"LOCK TABLE {', '.join(t.name for t in ordered)} IN ACCESS EXCLUSIVE MODE"))
        for table in ordered:
            conn.execute(table.delete())
        sequences = conn.execute(sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"))
        for (name,) in list(sequences):
            conn.execute(sa.text(f'ALTER SEQUENCE "{name}" RESTART'))


@pytest.fixture(autouse=True)
def _no_thread_outlives_its_test() -> Iterator[None]:
    """A thread a test starts (a server, a racing client, a worker) must end with the test: one
    still running could write into the next test's database after it was cleared."""
    before = set(threading.enumerate())
    yield

    def left() -> list[threading.Thread]:
        return [th for th in threading.enumerate() if th not in before and th.is_alive()]

    if not wait_until(lambda: not left(), timeout=10):
        pytest.fail(f"threads outlived the test: {[th.name for th in left()]}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "aftersales.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    engine = request.getfixturevalue("pg_engine")
    clear_tables(engine)
    return PG_URL


@pytest.fixture
def engine(db_url: str, request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    if db_url == PG_URL:
        yield request.getfixturevalue("pg_engine")
        return
    eng = create_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        jwt_secret=SECRET,
        simulated_clock=False,
        demo=False,
        evidence_max_bytes=64 * 1024,
    )


@pytest.fixture
def runtime(settings: Settings, clock: ManualClock, engine: sa.Engine) -> Runtime:
    return Runtime.build(settings, clock=clock, engine=engine)


@pytest.fixture
def serve() -> Iterator[Callable[..., Api]]:
    """`serve(runtime)`: a real server of its own answering from `runtime` (for instance one a
    test built with a simulated clock), as an `Api`. Each server is stopped when the test ends,
    its requests finished, before the next test's database is cleared."""
    servers: list[LiveServer] = []

    def start(runtime: Runtime, **options: Any) -> Api:
        servers.append(LiveServer(runtime, **options))
        return servers[-1].api

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def api(serve: Callable[..., Api], runtime: Runtime) -> Api:
    return serve(runtime)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (Debian's, driven by Playwright); each test opens
    its own context (cookies, storage) with `browser_page`. Not one per session: while it runs,
    Playwright's sync API holds an asyncio loop on the main thread, and every later test calling
    asyncio.run() (the NATS stream's) would be refused."""
    if _BROWSER_PROBLEM is not None:
        pytest.skip(f"no browser: {_BROWSER_PROBLEM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # The machine's network is closed: no background or component traffic to wait on.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def axe_script(chromium: Any) -> str:
    """axe-core's script, for `console_client.assert_accessible`; skipped where it is missing,
    which CI=true refuses (above). Mark such tests `accessibility`."""
    if _AXE_PROBLEM is not None:
        pytest.skip(f"no accessibility checker: {_AXE_PROBLEM}")
    return AXE.read_text()


@pytest.fixture
def assert_accessible(axe_script: str) -> Callable[..., None]:
    """`assert_accessible(page)`: axe-core finds no serious or critical violation on it."""
    from console_client import assert_accessible as check

    return lambda page, context="": check(page, axe_script, context)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 HTTP API on loopback (moto's server, in a thread of this process), for the S3
    storage backend's tests; credentials are the standard AWS variables, set to dummies."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as env:
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
            env.setenv(name, value)
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            env.delenv(name, raising=False)
        env.setenv("AWS_CONFIG_FILE", "/nonexistent")
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
        server.stop()


@pytest.fixture
def s3_storage(s3_endpoint: str) -> Iterator[Any]:
    """An S3Storage on a bucket of its own, its connections closed when the test ends (each
    open one holds a thread of the server)."""
    import uuid

    from aftersales.integrations.storage import S3Storage

    storage = S3Storage(f"evidence-{uuid.uuid4().hex[:12]}", endpoint_url=s3_endpoint, region="us-east-1")
    storage.client.create_bucket(Bucket=storage.bucket)
    yield storage
    storage.client.close()
