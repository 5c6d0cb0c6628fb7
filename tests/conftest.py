"""Fixtures shared by every suite: a database per backend, a manual clock, a runtime, a real
HTTP server. Every test that takes `runtime` runs on SQLite and, when it answers, PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from aftersales.api.app import create_app
from aftersales.api.auth import mint
from aftersales.api.header_limit import HeaderLimitedProtocol
from aftersales.config import Settings
from aftersales.domain.clock import ManualClock, SystemClock
from aftersales.runtime import Runtime
from aftersales.store import migrate, tables
from aftersales.store.database import create_engine

PG_BASE_URL = os.environ.get("AFTERSALES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Each test session works in a schema of its own, so parallel runs never see each other's rows.
PG_SCHEMA = f"aftersales_test_{os.getpid()}"
PG_URL = f"{PG_BASE_URL}{'&' if '?' in PG_BASE_URL else '?'}options=-csearch_path%3D{PG_SCHEMA}"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SECRET = "test-secret-of-at-least-thirty-two-bytes"
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


_PG_PROBLEM = _postgres_reason()


def pytest_report_header(config: Any) -> str:
    if _PG_PROBLEM is None:
        return f"postgresql: {PG_BASE_URL} (schema {PG_SCHEMA})"
    return f"postgresql: NOT REACHABLE at {PG_BASE_URL} ({_PG_PROBLEM}); PostgreSQL tests are skipped"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if _PG_PROBLEM is not None and IN_CI:
        raise pytest.UsageError(f"CI=true but PostgreSQL is unreachable at {PG_BASE_URL}: {_PG_PROBLEM}")


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


def _truncate(engine: sa.Engine) -> None:
    names = ", ".join(t.name for t in tables.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "aftersales.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    engine = request.getfixturevalue("pg_engine")
    _truncate(engine)
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


class _Server:
    """One real uvicorn server per session; each test points it at its own runtime."""

    def __init__(self) -> None:
        self.app = create_app(None)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", http=HeaderLimitedProtocol
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def http_server() -> Iterator[_Server]:
    server = _Server()
    yield server
    server.stop()


class Api:
    """An HTTP client that speaks as a given role: `api.as_("buyer", "b-1").post(...)`."""

    def __init__(self, base_url: str, clock: ManualClock) -> None:
        self.base_url, self.clock = base_url, clock
        self.anonymous = httpx.Client(base_url=base_url, timeout=30)

    def token(self, role: str, sub: str, merchant_id: str | None = None) -> str:
        # Token expiry is checked against real time (PyJWT), whatever the business clock says.
        return mint(SECRET, sub=sub, role=role, merchant_id=merchant_id, now=SystemClock().now())

    def as_(self, role: str, sub: str | None = None, merchant_id: str | None = None) -> httpx.Client:
        sub = sub or {"merchant": f"{merchant_id or 'm-1'}-staff"}.get(role, f"{role}-1")
        if role == "merchant":
            merchant_id = merchant_id or "m-1"
        headers = {"Authorization": f"Bearer {self.token(role, sub, merchant_id)}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


@pytest.fixture
def api(http_server: _Server, runtime: Runtime, clock: ManualClock) -> Api:
    http_server.app.state.runtime = runtime
    return Api(f"http://127.0.0.1:{http_server.port}", clock)
