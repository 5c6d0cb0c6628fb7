"""PostgreSQL's monthly partitions of events and outbox (store/partitions.py): the migration keeps
every row, the worker creates months ahead as its clock moves, no insert fails for its date, and
retention archives old events and drops delivered outbox months, never an undelivered one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from aftersales import policies
from aftersales.domain.clock import ManualClock
from aftersales.services.context import Env
from aftersales.store import migrate, partitions
from aftersales.store.database import create_engine
from aftersales.store.repositories import Events
from aftersales.worker.engine import DeadlineEngine
from conftest import PG_BASE_URL, START

pytestmark = pytest.mark.postgres
SCHEMA = f"aftersales_partitions_{os.getpid()}"


@pytest.fixture
def pg(pg_engine: sa.Engine) -> Iterator[sa.Engine]:
    """A schema of this test's own (partitions and archives it makes stay out of the session's),
    left unmigrated: the test migrates it."""
    with sa.create_engine(PG_BASE_URL).begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    engine = create_engine(f"{PG_BASE_URL}?options=-csearch_path%3D{SCHEMA}")
    yield engine
    engine.dispose()
    with sa.create_engine(PG_BASE_URL).begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))


def _record(conn: sa.Connection, at: datetime, *, deadline_id: int | None = None) -> int:
    return Events(conn).record(
        kind="order",
        subject_id="o-1",
        action="ship",
        actor_role="merchant",
        actor_id="m-1",
        at=at,
        before={"status": "paid"},
        after={"status": "shipped"},
        deadline_id=deadline_id,
    )


def _where(conn: sa.Connection, table: str) -> dict[int, str]:
    """Each row's id and the partition holding it."""
    return dict(conn.execute(sa.text(f"SELECT id, tableoid::regclass::text FROM {table}")).all())


def _worker(engine: sa.Engine, clock: ManualClock, data_dir: Path, **retention: int | None) -> DeadlineEngine:
    env = Env(clock=clock, policy=policies.get, default_policy="douyin@1", data_dir=data_dir)
    return DeadlineEngine(engine, env, "w-test", retention=partitions.Retention(**retention))


def test_migration_keeps_every_row_and_the_ids_continue(pg: sa.Engine, tmp_path: Path) -> None:
    migrate.upgrade(pg, "0018")
    months = [
        datetime(2025, 1, 31, 23, 59, tzinfo=UTC),
        datetime(2025, 2, 1, tzinfo=UTC),
        datetime(2025, 6, 9, tzinfo=UTC),
    ]
    with pg.begin() as conn:
        ids = [_record(conn, at, deadline_id=i) for i, at in enumerate(months)]
        before = {table: conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all() for table in partitions.KEYS}
    migrate.upgrade(pg)
    with pg.begin() as conn:
        for table in partitions.KEYS:
            assert partitions.is_partitioned(conn, table)
            assert conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all() == before[table]
        assert _where(conn, "events") == {
            ids[0]: "events_p2025_01",
            ids[1]: "events_p2025_02",
            ids[2]: "events_p2025_06",
        }
        assert [m.month for m in partitions.months_held(conn, "outbox")] == [1, 2, 6]  # those with rows
        assert _record(conn, months[2]) > max(ids)  # the sequence went over with its table


def test_migration_goes_down_and_up_again_with_the_rows(pg: sa.Engine, tmp_path: Path) -> None:
    migrate.upgrade(pg)
    with pg.begin() as conn:
        _record(conn, START)
    with pg.begin() as conn:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0018")
    with pg.begin() as conn:
        assert not partitions.is_partitioned(conn, "events")
        assert conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar() == 1
    migrate.upgrade(pg)
    with pg.begin() as conn:
        assert _where(conn, "events").popitem()[1] == "events_p2026_11"


def test_worker_creates_this_month_and_the_next_two_as_its_clock_moves(pg: sa.Engine, tmp_path: Path) -> None:
    migrate.upgrade(pg)
    clock = ManualClock(START)  # 2026-11-24
    worker = _worker(pg, clock, tmp_path)
    assert sorted(worker.maintain_partitions().created) == sorted(
        f"{t}_p{m}" for t in ("events", "outbox") for m in ("2026_11", "2026_12", "2027_01")
    )
    assert worker.maintain_partitions().created == []  # idempotent
    clock.advance(timedelta(days=40))  # 2027-01-03
    assert sorted(worker.maintain_partitions().created) == [
        "events_p2027_02",
        "events_p2027_03",
        "outbox_p2027_02",
        "outbox_p2027_03",
    ]
    with pg.begin() as conn:
        assert _where(conn, "outbox") == {}
        _record(conn, clock.now())
        assert set(_where(conn, "outbox").values()) == {"outbox_p2027_01"}


def test_an_event_of_a_month_without_its_partition_is_kept_and_moves_in_once_created(
    pg: sa.Engine, tmp_path: Path
) -> None:
    migrate.upgrade(pg)
    far_past, far_future = datetime(2001, 3, 4, tzinfo=UTC), datetime(2091, 5, 6, tzinfo=UTC)
    with pg.begin() as conn:
        old, new = _record(conn, far_past), _record(conn, far_future)
        assert _where(conn, "events") == {old: "events_default", new: "events_default"}
    clock = ManualClock(far_future)
    _worker(pg, clock, tmp_path).maintain_partitions()
    with pg.begin() as conn:
        assert _where(conn, "events") == {old: "events_default", new: "events_p2091_05"}
        assert _where(conn, "outbox")[new] == "outbox_p2091_05"


def test_deadline_id_stays_unique_in_a_month(pg: sa.Engine, tmp_path: Path) -> None:
    migrate.upgrade(pg)
    _worker(pg, ManualClock(START), tmp_path).maintain_partitions()
    with pg.begin() as conn:
        _record(conn, START, deadline_id=7)
    with pytest.raises(sa.exc.IntegrityError), pg.begin() as conn:
        _record(conn, START + timedelta(minutes=1), deadline_id=7)


def test_retention_archives_delivered_event_months_and_drops_their_outbox(pg: sa.Engine, tmp_path: Path) -> None:
    migrate.upgrade(pg)
    clock = ManualClock(datetime(2026, 1, 10, tzinfo=UTC))
    worker = _worker(pg, clock, tmp_path, events_months=3, outbox_months=3)
    worker.maintain_partitions()  # 2026-01 .. 2026-03
    with pg.begin() as conn:
        january, february = _record(conn, clock.now()), _record(conn, clock.now() + timedelta(days=25))
        conn.execute(sa.text("UPDATE outbox SET delivered_at = created_at WHERE event_id = :e"), {"e": january})
    clock.advance(timedelta(days=90))  # 2026-04-10: three months back is January, still kept
    assert worker.maintain_partitions().archived == []
    clock.advance(timedelta(days=62))  # 2026-06-11: January and February are past, February undelivered
    done = worker.maintain_partitions()
    assert done.archived == ["events_archive_2026_01"]
    assert done.dropped == ["outbox_p2026_01"]
    assert sorted(done.kept) == ["events_p2026_02", "outbox_p2026_02"]
    with pg.begin() as conn:
        assert list(_where(conn, "events")) == [february]
        assert list(_where(conn, "outbox")) == [february]  # the undelivered message is still there
        archived = conn.execute(sa.text("SELECT id, action FROM events_archive_2026_01")).all()
        assert archived == [(january, "ship")]  # kept, and queryable
        conn.execute(sa.text("UPDATE outbox SET delivered_at = created_at"))
    done = worker.maintain_partitions()
    assert (done.archived, done.dropped) == (["events_archive_2026_02"], ["outbox_p2026_02"])


def test_a_configured_stream_keeps_months_it_has_not_published(pg: sa.Engine, tmp_path: Path) -> None:
    migrate.upgrade(pg)
    clock = ManualClock(datetime(2026, 1, 10, tzinfo=UTC))
    worker = _worker(pg, clock, tmp_path, outbox_months=1)
    worker.retention = partitions.Retention(outbox_months=1, streamed=True)
    worker.maintain_partitions()
    with pg.begin() as conn:
        _record(conn, clock.now())
        conn.execute(sa.text("UPDATE outbox SET delivered_at = created_at"))  # fanned out, not streamed
    clock.advance(timedelta(days=62))
    assert worker.maintain_partitions().kept == ["outbox_p2026_01"]
    with pg.begin() as conn:
        conn.execute(sa.text("UPDATE outbox SET streamed_at = created_at"))
    assert worker.maintain_partitions().dropped == ["outbox_p2026_01"]
