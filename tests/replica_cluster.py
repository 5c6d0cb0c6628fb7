"""A real streaming replica for the read-replica tests: a PostgreSQL primary of our own and a hot
standby cloned from it with pg_basebackup, each on a free loopback port in a temporary directory.

A pair of its own rather than a standby of the shared server at AFTERSALES_TEST_POSTGRES_URL: that
one need not allow replication connections (pg_hba.conf), and pausing its replay or stopping it
would reach into every other test session. Needs the server binaries (initdb, pg_ctl,
pg_basebackup; AFTERSALES_TEST_PG_BIN or pg_config's bindir); as root they run as the `postgres`
OS user, which PostgreSQL requires.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

from waiting import wait_until

BINARIES = ("initdb", "pg_ctl", "pg_basebackup")
SERVER_USER = "postgres"  # who runs the clusters when the tests run as root


def bin_dir() -> Path | None:
    given = os.environ.get("AFTERSALES_TEST_PG_BIN")
    if given:
        return Path(given)
    try:
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=True)
        return Path(found.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    default = Path("/usr/lib/postgresql/15/bin")
    return default if default.is_dir() else None


def reason() -> str | None:
    """None if this machine can run a primary and its standby, else why not."""
    where = bin_dir()
    if where is None:
        return "no PostgreSQL server binaries (set AFTERSALES_TEST_PG_BIN)"
    missing = [b for b in BINARIES if not os.access(where / b, os.X_OK)]
    if missing:
        return f"no {', '.join(missing)} in {where}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root without a {SERVER_USER!r} OS user to run the servers"
        if shutil.which("runuser") is None:
            return "running as root without runuser to start the servers as postgres"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """The primary at `primary_url`, its hot standby at `replica_url` (both superuser `postgres`)."""

    def __init__(self) -> None:
        where = bin_dir()
        assert where is not None
        self.bin = where
        self.root = Path(tempfile.mkdtemp(prefix="aftersales-replica-"))
        if os.geteuid() == 0:
            os.chown(self.root, pwd.getpwnam(SERVER_USER).pw_uid, -1)
        self.primary_dir, self.standby_dir = self.root / "primary", self.root / "standby"
        self.primary_port, self.standby_port = _free_port(), _free_port()
        self.primary_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.primary_port}/postgres"
        self.replica_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.standby_port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(args)} failed: {done.stderr or done.stdout}"

    def start(self) -> Cluster:
        # initdb's default pg_hba.conf trusts loopback, replication included; wal_level is replica.
        self._run("initdb", "-D", str(self.primary_dir), "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8")
        settings = (
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\n"
            "shared_buffers = 16MB\nmax_connections = 40\nmax_wal_senders = 4\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        )
        with (self.primary_dir / "postgresql.conf").open("a") as conf:
            conf.write(settings + f"port = {self.primary_port}\n")
        self._pg_ctl(self.primary_dir, "start")
        self._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres"),
            *("-D", str(self.standby_dir), "-R", "-X", "stream"),
        )
        with (self.standby_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.standby_port}\n")  # the last setting of a name wins
        self.start_standby()
        return self

    def _pg_ctl(self, data: Path, action: str) -> None:
        self._run("pg_ctl", "-D", str(data), "-l", str(data.parent / f"{data.name}.log"), "-w", "-m", "fast", action)

    def start_standby(self) -> None:
        self._pg_ctl(self.standby_dir, "start")

    def stop_standby(self) -> None:
        self._pg_ctl(self.standby_dir, "stop")

    def standby_running(self) -> bool:
        return (self.standby_dir / "postmaster.pid").exists()

    def stop(self) -> None:
        for data in (self.standby_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                self._pg_ctl(data, "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    # Replay, on the standby (a superuser's functions) ------------------------------------------

    def _on_standby(self, sql: str) -> object:
        engine = sa.create_engine(self.replica_url, poolclass=sa.NullPool)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(sql)).scalar()
        finally:
            engine.dispose()

    def pause_replay(self) -> None:
        """The standby keeps receiving WAL but applies none of it: it shows the primary as it was."""
        self._on_standby("SELECT pg_wal_replay_pause()")
        assert wait_until(lambda: self._on_standby("SELECT pg_get_wal_replay_pause_state()") == "paused", timeout=10)

    def resume_replay(self) -> None:
        self._on_standby("SELECT pg_wal_replay_resume()")

    def caught_up(self, primary: sa.Engine) -> bool:
        """The standby has replayed everything the primary has written so far."""
        with primary.connect() as conn:
            written = conn.execute(sa.text("SELECT pg_current_wal_lsn()::text")).scalar()
        return bool(self._on_standby(f"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn"))
