"""`aftersales serve --workers 2` on PostgreSQL: two real server processes under one supervisor
answer the same API, and a write through one is read through the other."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from aftersales.api.auth import mint
from aftersales.domain.clock import SystemClock
from bodies import order_body
from waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
SECRET = "x" * 32


def _server_processes(pid: int) -> set[int]:
    """The children of `pid` that are uvicorn's spawned server processes (not, say, the
    multiprocessing resource tracker that spawning also starts)."""
    return {child for child in _children(pid) if b"spawn_main" in _cmdline(child)}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def _headers(role: str, sub: str, **claims: str) -> dict[str, str]:
    token = mint(SECRET, sub=sub, role=role, now=SystemClock().now(), ttl=timedelta(minutes=10), **claims)
    return {"Authorization": f"Bearer {token}"}


def test_two_server_processes_share_one_database(pg_engine, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "AFTERSALES_DATABASE_URL": pg_engine.url.render_as_string(hide_password=False),
        "AFTERSALES_JWT_SECRET": SECRET,
        "AFTERSALES_DATA_DIR": str(tmp_path),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aftersales.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--no-worker",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        up = wait_until(
            lambda: proc.poll() is not None or (len(_server_processes(proc.pid)) >= 2 and _answers(base)), 60, poll=0.05
        )
        assert proc.poll() is None, "serve exited"
        assert up, "serve --workers 2 did not come up"
        market = _headers("integration", "marketplace")
        body = order_body(f"o-w{port}", quantity=1, unit_price=500, shipping_fee=0)
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.post("/v1/orders", json=body, headers=market).status_code == 201
            # New connections spread over the processes; every one sees the order.
            for _ in range(10):
                with httpx.Client(base_url=base, timeout=10) as fresh:
                    r = fresh.get(f"/v1/orders/o-w{port}", headers=_headers("buyer", "b-1"))
                    assert r.status_code == 200 and r.json()["goods_total"] == 500
        servers = _server_processes(proc.pid)
        assert len(servers) == 2, servers
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group of the server this test started
        proc.wait(timeout=20)
    assert wait_until(lambda: not any(_alive(pid) for pid in servers), 15, poll=0.05), "a server process outlived serve"


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
