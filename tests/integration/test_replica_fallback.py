"""The read replica's fallback to the primary (store/replica.py) and its setting, without a
replica: one that refuses connections, and the settings it may take."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from aftersales.config import ConfigError, Settings
from aftersales.store.replica import RETRY_AFTER, Replica, create_replica_engine
from conftest import SECRET


def test_after_a_failed_connection_the_replica_rests_before_it_is_tried_again(engine: sa.Engine) -> None:
    """A replica that refuses connections is tried once per RETRY_AFTER, not on every read; the
    primary answers meanwhile (on either backend)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens once the socket is closed
    down = create_replica_engine(f"postgresql+psycopg://postgres@127.0.0.1:{closed}/postgres")
    attempts: list[object] = []
    sa.event.listen(down, "do_connect", lambda *_: attempts.append(1))
    now = [100.0]
    replica = Replica(down, monotonic=lambda: now[0])

    def read() -> sa.Engine:
        with replica.unit_of_work(engine) as uow:
            assert uow.execute(sa.text("SELECT 1")).scalar() == 1
            return uow.engine

    assert read() is engine and len(attempts) == 1 and replica.down
    now[0] += RETRY_AFTER - 0.5
    assert read() is engine and len(attempts) == 1  # resting: not tried
    now[0] += 0.5
    assert read() is engine and len(attempts) == 2  # tried again, still down
    down.dispose()


def test_the_replica_setting_names_a_postgresql_replica_of_a_postgresql_primary() -> None:
    pg = "postgresql+psycopg://app@db-primary/aftersales"
    env = {"AFTERSALES_JWT_SECRET": SECRET, "AFTERSALES_DATABASE_URL": pg}
    assert Settings.from_env(env).database_replica_url is None
    replica = "postgresql+psycopg://reader@db-replica/aftersales"
    assert Settings.from_env({**env, "AFTERSALES_DATABASE_REPLICA_URL": replica}).database_replica_url == replica
    for primary, standby in (("sqlite:///x.db", replica), (pg, "sqlite:///copy.db")):
        with pytest.raises(ConfigError, match="AFTERSALES_DATABASE_REPLICA_URL"):
            Settings.from_env({**env, "AFTERSALES_DATABASE_URL": primary, "AFTERSALES_DATABASE_REPLICA_URL": standby})
