"""Engine creation for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

CONNECT_TIMEOUT = 5  # seconds, PostgreSQL
# A pooled connection idle longer than this is pinged before use (one round trip); one in steady
# use is not. (SQLAlchemy's pool_pre_ping pings on every checkout: a round trip per request.)
PING_AFTER_IDLE = 2.0  # seconds


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, **kwargs: Any) -> sa.Engine:
    if is_sqlite(url):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # The connection used last is used next: at a low rate one stays warm and the rest idle
    # (a FIFO pool rotates through them all, each idle long enough to need its ping).
    kwargs.setdefault("pool_use_lifo", True)
    # A server that does not answer fails a connection in seconds, not after the OS's TCP timeout
    # (minutes): requests answer 503 and /healthz says so while it is away.
    kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", CONNECT_TIMEOUT)
    engine = sa.create_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: sa.Engine) -> None:
    """Ping a pooled connection before use only when it sat idle (the database may have restarted
    meanwhile); a dead one is replaced transparently. A connection cut while in steady use fails
    its request once (503) and SQLAlchemy then invalidates the whole pool."""

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
            dbapi_conn.rollback()  # the ping began a transaction: the connection goes out idle
        except Exception as exc:
            # The pool discards this connection and checks out another (a fresh one if need be).
            raise sa.exc.DisconnectionError(str(exc)) from exc


def _sqlite_setup(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transactions into our own hands so BEGIN can be IMMEDIATE (below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # IMMEDIATE takes the write lock up front: two writers queue on busy_timeout
        # instead of failing when a reader tries to upgrade to a writer. A connection marked
        # `read_only` (the simulated clock, read inside other transactions) must not queue
        # behind its own caller's lock: a plain BEGIN reads a WAL snapshot without it.
        read_only = conn.get_execution_options().get("read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
