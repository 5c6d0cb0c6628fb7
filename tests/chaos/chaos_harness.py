"""What the fault-injection tests share: real `aftersales` processes, a throwaway PostgreSQL
cluster to restart at will, due cases laid down with generate_series, and the checks that every
deadline fired exactly once, in time."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

SECRET = "chaos-secret-of-at-least-thirty-two-bytes"
LONG = os.environ.get("AFTERSALES_CHAOS", "") == "long"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_bin() -> Path:
    """Where initdb and pg_ctl are: AFTERSALES_PG_BIN, Debian's newest, or the PATH."""
    if os.environ.get("AFTERSALES_PG_BIN"):
        return Path(os.environ["AFTERSALES_PG_BIN"])
    debian = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.parts[-3].isdigit()),
        key=lambda p: int(p.parts[-3]),
    )
    found = debian[-1] if debian else shutil.which("initdb")
    return Path(found).parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False


def healthy(port: int) -> bool:
    """`aftersales serve` on this port answers its health check."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def with_query(url: str, **params: str) -> str:
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Processes:
    """Every process a test spawns, so a finally can end them all (ours only, by pid)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.live: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self.crashes: list[str] = []  # exits we did not cause
        self._noted: set[int] = set()
        self._spawned = 0

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        self._spawned += 1
        log = self.log_dir / f"{name}-{self._spawned}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "aftersales.cli", *args],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.live[name], self.logs[name] = proc, log
        return proc

    def kill(self, name: str) -> int:
        """SIGKILL `name`; its pid."""
        proc = self.live[name]
        self.check(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        return proc.pid

    def check(self, name: str) -> None:
        """Note it if `name` exited by itself (a crash: nothing here ever asks a process to stop)."""
        proc = self.live[name]
        if proc.poll() is not None and proc.pid not in self._noted:
            self._noted.add(proc.pid)
            tail = self.logs[name].read_text(errors="replace")[-3000:]
            self.crashes.append(f"{name} (pid {proc.pid}) exited {proc.returncode}:\n{tail}")

    def alive(self, name: str) -> bool:
        return self.live[name].poll() is None

    def stop_all(self) -> None:
        for proc in self.live.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)


def worker_env(db_url: str, data_dir: Path, app_name: str) -> dict[str, str]:
    # application_name lets the test find this worker's connections in pg_stat_activity.
    return {
        "AFTERSALES_DATABASE_URL": with_query(db_url, application_name=app_name),
        "AFTERSALES_JWT_SECRET": SECRET,
        "AFTERSALES_DATA_DIR": str(data_dir),
        "AFTERSALES_CLOCK": "system",
    }


def worker_args(lease: float, batch: int) -> list[str]:
    return ["worker", "--lease", str(lease), "--batch", str(batch), "--poll", "0.1"]


def terminate_backends(engine: sa.Engine, app_prefix: str) -> int:
    """pg_terminate_backend on every connection whose application_name starts with the prefix."""
    with engine.connect() as conn:
        return len(
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE :p"),
                {"p": app_prefix + "%"},
            ).all()
        )


def connected(engine: sa.Engine, app_prefix: str) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.text("SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name LIKE :p"),
                {"p": app_prefix + "%"},
            ).scalars()
        )


class WorkerPool:
    """`size` real `aftersales worker` processes, each findable in pg_stat_activity by name."""

    def __init__(self, procs: Processes, db_url: str, data_dir: Path, size: int, *, lease: float, batch: int) -> None:
        self.procs, self.db_url, self.data_dir, self.size = procs, db_url, data_dir, size
        self.lease, self.batch = lease, batch
        self.prefix = f"chaos-{os.getpid()}-{time.monotonic_ns() % 10**6}-"

    def start(self, i: int) -> subprocess.Popen[bytes]:
        return self.procs.spawn(
            f"w{i}", worker_args(self.lease, self.batch), worker_env(self.db_url, self.data_dir, f"{self.prefix}w{i}")
        )

    def start_all(self, engine: sa.Engine, timeout: float = 60) -> None:
        for i in range(self.size):
            self.start(i)
        up = wait_for(lambda: len(connected(engine, self.prefix)) == self.size, timeout)
        for i in range(self.size):
            self.procs.check(f"w{i}")
        assert up, "workers did not connect:\n" + "\n".join(self.procs.crashes)

    def revive_crashed(self) -> None:
        """Restart any worker that died by itself (noted as a crash): the run goes on."""
        for i in range(self.size):
            self.procs.check(f"w{i}")
            if not self.procs.alive(f"w{i}"):
                self.start(i)

    def ready(self, engine: sa.Engine) -> list[int]:
        """The workers that are up and connected (a restarted one takes a moment to start)."""
        names = connected(engine, self.prefix)
        return [i for i in range(self.size) if f"{self.prefix}w{i}" in names and self.procs.alive(f"w{i}")]

    def mid_batch(self, candidates: list[int], engine: sa.Engine, tries: int) -> int | None:
        """The first of the candidates seen mid-batch within `tries` looks, if any."""
        for _ in range(tries):
            for i in candidates:
                if busy(engine, f"{self.prefix}w{i}"):
                    return i
            time.sleep(0.01)
        return None

    def freeze(self, candidates: list[int], engine: sa.Engine) -> tuple[int, bool]:
        """SIGSTOP one of the candidates (to kill later), preferably caught mid-batch: a hung
        worker holding deadlines. Which one, and whether it is frozen mid-batch."""
        i = self.mid_batch(candidates, engine, tries=100)
        victim = candidates[0] if i is None else i
        self.procs.live[f"w{victim}"].send_signal(signal.SIGSTOP)
        return victim, busy(engine, f"{self.prefix}w{victim}")

    def kill_and_restart(self, i: int, engine: sa.Engine) -> bool:
        """SIGKILL worker i and start it again; whether it was mid-batch just before."""
        was_busy = busy(engine, f"{self.prefix}w{i}")
        self.procs.kill(f"w{i}")
        self.start(i)
        return was_busy


def busy(engine: sa.Engine, app_name: str) -> bool:
    """Whether that connection is mid-batch: its transaction has written (a transaction id is
    assigned at the first write, e.g. deleting the deadline rows it takes)."""
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE a.application_name = :n AND l.locktype = 'transactionid' AND l.granted"
                ),
                {"n": app_name},
            ).scalar_one()
        )


def pending(engine: sa.Engine) -> int:
    """The stream's deadlines not fired yet."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(sa.table("deadlines", sa.column("action")))
            .where(sa.column("action").in_(FIRES))
        ).scalar_one()


# --- due cases, laid down set-based -------------------------------------------------------------

# Case g (1-based) is a delivered order with a return_refund request whose deadline is due at
# :base + (g - 1) * :step: a steady stream of deadlines becoming due in real time. Odd cases are
# cash on delivery awaiting the merchant's refund voucher (advance_compensation: the platform pays
# first, a refund, a violation and a recovery settlement, fired one by one through the service);
# even cases are online and pending the merchant's answer (auto_approve, fired set-based).
_COD = "g % 2 = 1"
_ITEMS = '[{"sku": "tea", "title": "茶", "quantity": 1, "unit_price": 1000}]'  # one unit, held by the case
_ARRANGE = [
    f"""INSERT INTO orders (id, buyer_id, merchant_id, payment_method, currency, shipping_fee, items, goods_total,
       status, policy, paid_amount, refunded_amount, discount, units, extra, version, created_at, updated_at)
     SELECT 'o-' || g, 'b-' || (g % 5000), 'm-' || (g % 200), CASE WHEN {_COD} THEN 'cod' ELSE 'online' END, 'CNY',
            0, '{_ITEMS}', 1000, 'delivered', 'douyin@1', 1000, 0, 0,
            json_build_object('tea', json_build_array(json_build_object(
                'n', 1, 'paid', 1000, 'refunded', 0, 'case', 'as_' || lpad(g::text, 26, '0'), 'done', false))),
            '{{}}', 5, :t0, :t0
     FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g""",
    f"""INSERT INTO after_sales (id, order_id, buyer_id, merchant_id, payment_method, type, reason, amount, currency,
       status, policy, description, evidence, items, deadline_action, deadline_due_at, extra, version, created_at,
       updated_at)
     SELECT 'as_' || lpad(g::text, 26, '0'), 'o-' || g, 'b-' || (g % 5000), 'm-' || (g % 200),
            CASE WHEN {_COD} THEN 'cod' ELSE 'online' END, 'return_refund', 'damaged', 1000, 'CNY',
            CASE WHEN {_COD} THEN 'awaiting_refund_voucher' ELSE 'pending_merchant' END, 'douyin@1', '', '[]',
            '{_ITEMS}',
            CASE WHEN {_COD} THEN 'advance_compensation' ELSE 'auto_approve' END,
            :base + (g - 1) * CAST(:step AS interval), '{{}}', 1, :t0, :t0
     FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g""",
    f"""INSERT INTO deadlines (subject_kind, subject_id, action, due_at, armed_version, created_at)
     SELECT 'after_sale', 'as_' || lpad(g::text, 26, '0'),
            CASE WHEN {_COD} THEN 'advance_compensation' ELSE 'auto_approve' END,
            :base + (g - 1) * CAST(:step AS interval), 1, :t0
     FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g""",
]
FIRES = ("auto_approve", "advance_compensation")


@dataclass
class Stream:
    """N deadlines due one every `step` from `base`, inserted in chunks; a row is eligible from
    max(its due time, its chunk's commit)."""

    n: int
    base: datetime
    step: timedelta
    chunk: int
    committed: list[datetime] = field(default_factory=list)

    def due(self, g: int) -> datetime:
        return self.base + (g - 1) * self.step

    def eligible(self, g: int) -> datetime:
        return max(self.due(g), self.committed[(g - 1) // self.chunk])

    @property
    def last_due(self) -> datetime:
        return self.due(self.n)


def lay_down(engine: sa.Engine, stream: Stream) -> None:
    naive = lambda v: v.astimezone(UTC).replace(tzinfo=None)  # noqa: E731 (raw SQL: naive UTC)
    for first in range(1, stream.n + 1, stream.chunk):
        params = {
            "first": first,
            "last": min(first + stream.chunk - 1, stream.n),
            "t0": naive(utcnow()),
            "base": naive(stream.base),
            "step": stream.step,
        }
        with engine.begin() as conn:
            for statement in _ARRANGE:
                conn.execute(sa.text(statement), params)
        stream.committed.append(utcnow())


def g_of(case_id: str) -> int:
    return int(case_id.removeprefix("as_"))


@dataclass
class Firing:
    """What the database says happened to the stream's deadlines."""

    per_case: dict[int, int]  # g -> events of its deadline's action
    fired_at: dict[int, datetime]  # g -> when its (last) such event happened
    distinct_deadlines: int
    outbox_missing: int
    statuses: dict[str, int]
    left: dict[str, int]  # the cases' deadline rows left, by action
    left_due: int  # rows left that are due already
    money: dict[str, dict[int, int]]  # refunds, violations, settlements: g -> rows


def inspect(engine: sa.Engine) -> Firing:
    e = sa.table("events", sa.column("subject_id"), sa.column("action"), sa.column("at"), sa.column("deadline_id"))
    per_case: dict[int, int] = {}
    fired_at: dict[int, datetime] = {}
    deadline_ids: set[int] = set()
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=20_000).execute(
            sa.select(e.c.subject_id, e.c.at, e.c.deadline_id).where(e.c.action.in_(FIRES))
        )
        for subject_id, at, deadline_id in rows:
            g = g_of(subject_id)
            per_case[g] = per_case.get(g, 0) + 1
            fired_at[g] = at.replace(tzinfo=UTC)  # stored as naive UTC
            deadline_ids.add(deadline_id)
        missing = conn.execute(
            sa.text(
                "SELECT count(*) FROM events e WHERE e.action IN ('auto_approve', 'advance_compensation') "
                "AND (SELECT count(*) FROM outbox o WHERE o.event_id = e.id) <> 1"
            )
        ).scalar_one()
        statuses = dict(conn.execute(sa.text("SELECT status, count(*) FROM after_sales GROUP BY status")).all())
        left = dict(
            conn.execute(
                sa.text("SELECT action, count(*) FROM deadlines WHERE subject_kind = 'after_sale' GROUP BY action")
            ).all()
        )
        left_due = conn.execute(
            sa.text("SELECT count(*) FROM deadlines WHERE due_at <= now() AT TIME ZONE 'utc'")
        ).scalar_one()
        money = {
            table: {
                g_of(case_id): count
                for case_id, count in conn.execute(
                    sa.text(
                        f"SELECT after_sale_id, count(*) FROM {table} WHERE after_sale_id IS NOT NULL "
                        "GROUP BY after_sale_id"
                    )
                )
            }
            for table in ("refunds", "violations", "settlements")
        }
    return Firing(per_case, fired_at, len(deadline_ids - {None}), missing, statuses, left, left_due, money)


def assert_each_fired_once(firing: Firing, n: int) -> None:
    doubles = {g: c for g, c in firing.per_case.items() if c != 1}
    lost = n - len(firing.per_case)
    assert not doubles and lost == 0, (
        f"{lost} deadline(s) never fired; fired more than once: {dict(list(doubles.items())[:10])}"
    )
    assert firing.distinct_deadlines == n, "each firing names its own deadline row"
    assert firing.outbox_missing == 0, f"{firing.outbox_missing} event(s) without exactly one outbox row"
    cod = (n + 1) // 2
    assert firing.statuses == {"refunded": cod, "awaiting_return": n - cod}, firing.statuses
    # Each online case armed its next step once, and nothing due was left behind.
    assert firing.left == ({"auto_close": n - cod} if n - cod else {}) and firing.left_due == 0, (
        firing.left,
        firing.left_due,
    )
    # Each COD case: one advance payment, one violation, one recovery; online cases: no money moved.
    once = dict.fromkeys(range(1, n + 1, 2), 1)
    for table, per_case in firing.money.items():
        assert per_case == once, f"{table}: {sum(per_case.values())} rows for {len(once)} COD cases"


def lateness(
    firing: Firing, stream: Stream, outages: list[tuple[datetime, datetime]] = (), window: timedelta = timedelta(0)
) -> dict[int, float]:
    """Seconds from becoming eligible to firing, per case. A database outage beginning within
    `window` of a deadline's eligibility moves it to the outage's end: nothing fires meanwhile."""
    late: dict[int, float] = {}
    for g, at in firing.fired_at.items():
        eligible = stream.eligible(g)
        for start, end in outages:
            if start <= eligible + window and end >= eligible:
                eligible = max(eligible, end)
        late[g] = (at - eligible).total_seconds()
    return late


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# --- a throwaway PostgreSQL cluster -------------------------------------------------------------


class Cluster:
    """A PostgreSQL cluster of the test's own (initdb in a temp dir), so it may be restarted
    without touching the machine's shared server. As root, the binaries run as `postgres`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="aftersales-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self._as_postgres, str(PG_BIN / tool), *args], capture_output=True, timeout=120)
        if done.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {done.stderr.decode(errors='replace')}\n{log}")

    def start(self) -> None:
        # fsync off: a restart of the server, not of the machine, is what these tests inject.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            f"-c fsync=off -c max_connections=200"
        )
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log), "-o", options)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-D", str(self.data), "-m", mode)

    def destroy(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def need_pg_binaries() -> None:
    """Skip on a machine without PostgreSQL's server binaries; in CI their absence is a failure."""
    missing = [tool for tool in ("initdb", "pg_ctl") if not (PG_BIN / tool).exists()]
    if not missing:
        return
    reason = f"PostgreSQL server binaries not found in {PG_BIN} ({', '.join(missing)}); set AFTERSALES_PG_BIN"
    if IN_CI:
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A started throwaway cluster, stopped and deleted whatever happens (import it into a test module)."""
    need_pg_binaries()
    own = Cluster()
    try:
        own.init()
        own.start()
        yield own
    finally:
        own.destroy()
