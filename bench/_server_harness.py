"""What the API and scale benchmarks share: a schema of their own on the bench PostgreSQL, a real
`aftersales serve` in a child process, tokens, percentiles and the machine's load."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from aftersales.api.auth import mint  # noqa: E402
from aftersales.config import Settings  # noqa: E402
from aftersales.domain.clock import SystemClock  # noqa: E402
from aftersales.runtime import Runtime  # noqa: E402
from aftersales.store import migrate  # noqa: E402
from aftersales.store.database import create_engine  # noqa: E402

BASE = os.environ.get("AFTERSALES_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-of-at-least-thirty-two-bytes"


def bench_name(name: str) -> str:
    """A schema or database name of this run: `AFTERSALES_BENCH_TAG` suffixes them all, so two
    runs on one server (two engineers, or a run beside another) never drop each other's rows."""
    tag = os.environ.get("AFTERSALES_BENCH_TAG", "")
    if tag and not tag.isidentifier():
        raise SystemExit("AFTERSALES_BENCH_TAG must be letters, digits and underscores")
    return f"{name}_{tag.lower()}" if tag else name


def schema_url(schema: str, base: str = BASE) -> str:
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def fresh_schema(schema: str) -> sa.Engine:
    """Drop and recreate `schema`, migrated to head; an engine whose search_path is that schema."""
    with sa.create_engine(BASE).begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(schema_url(schema))
    migrate.upgrade(engine)
    return engine


def fresh_runtime(schema: str) -> Runtime:
    """A runtime on a fresh `schema` (fresh_schema), to seed a benchmark through the services."""
    settings = Settings(
        data_dir=Path(f"/tmp/{schema}-data"),
        database_url=schema_url(schema),
        jwt_secret=SECRET,
        simulated_clock=False,
        demo=False,
    )
    return Runtime.build(settings, engine=fresh_schema(schema))


def token(role: str, sub: str, merchant_id: str | None = None) -> str:
    return mint(SECRET, sub=sub, role=role, merchant_id=merchant_id, now=SystemClock().now(), ttl=timedelta(hours=6))


def auth(role: str, sub: str, merchant_id: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, sub, merchant_id)}"}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    values = sorted(seconds)
    return {f"p{q}": round(percentile(values, q) * 1000, 2) for q in (50, 95, 99)}


def machine_load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(root: int) -> float:
    """User + system CPU time of process `root` and its children so far (Linux /proc)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        pid, ppid = int(stat.parent.name), int(fields[1])
        if root in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Server(NamedTuple):
    base: str
    pid: int


def _environment(schema: str, database_url: str | None) -> dict[str, str]:
    return {
        **os.environ,
        "AFTERSALES_DATABASE_URL": schema_url(schema, database_url or BASE),
        "AFTERSALES_JWT_SECRET": SECRET,
        "AFTERSALES_DATA_DIR": str(Path("/tmp") / f"{schema}-data"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
    }


@contextlib.contextmanager
def _child(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`aftersales <args>` in a process group of its own, ended (and only it) on the way out."""
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aftersales.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the group of the process we started, and only it
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def serve(
    schema: str, workers: int, log: Path, database_url: str | None = None, relay: bool = True
) -> Iterator[Server]:
    """`aftersales serve --workers N --no-worker` on `schema`, on a loopback port; its base URL.
    The deadline worker is off: a benchmark of the API must not be shared with firings.
    `database_url`: PostgreSQL reached another way (a counting proxy), still on `schema`;
    `relay=False`: no webhook relay in this server (`relay_process` runs it apart)."""
    port = _free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    args += ["--no-worker", "--no-access-log", *([] if relay else ["--no-relay"])]
    base = f"http://127.0.0.1:{port}"
    with _child(args, _environment(schema, database_url), log) as proc:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"aftersales serve exited with {proc.returncode}; see {log}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"aftersales serve did not answer within 60 s; see {log}")
            time.sleep(0.2)
        time.sleep(1.0 if workers > 1 else 0)  # the first process answered: give the others a moment
        yield Server(base, proc.pid)


@contextlib.contextmanager
def relay_process(schema: str, log: Path, database_url: str | None = None) -> Iterator[int]:
    """`aftersales relay` on `schema` (the outbox of the servers' events): its pid."""
    with _child(["relay"], _environment(schema, database_url), log) as proc:
        yield proc.pid
