"""bench/_pgcount.py counts what a client makes PostgreSQL do: one round trip per flush that ends
in a Sync or a simple Query, one statement per Execute or Query, whatever the chunks the bytes
arrive in. The API benchmark's round trips per action are these counts: a miscount would
credit or blame the server for work it did not do."""

import struct
import sys
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _pgcount import Frontend, counting_proxy
from conftest import PG_BASE_URL


def _typed(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!I", 4 + len(body)) + body


SSL_REQUEST = struct.pack("!II", 8, 80877103)
STARTUP = struct.pack("!II", 8 + 9, 196608) + b"user\0pg\0\0"
EXTENDED = (
    _typed(b"P", b"\0SELECT $1\0\0\0")
    + _typed(b"B", b"\0\0\0\0\0\1\0\0\0\0011\0\0")
    + _typed(b"D", b"P\0")
    + _typed(b"E", b"\0\0\0\0\0")
    + _typed(b"S")
)


def test_a_flush_ending_in_sync_is_one_round_trip_in_whatever_chunks_it_comes():
    whole = Frontend()
    assert whole.feed(SSL_REQUEST) == (0, 0) and whole.ssl_asked
    assert whole.feed(STARTUP + _typed(b"Q", b"BEGIN\0")) == (1, 1)
    assert whole.feed(EXTENDED) == (1, 1)
    bytewise = Frontend()
    seen = [bytewise.feed(bytes([b])) for b in SSL_REQUEST + STARTUP + EXTENDED + EXTENDED]
    assert sum(t for t, _ in seen) == 2 and sum(s for _, s in seen) == 2
    assert bytewise.feed(_typed(b"X")) == (0, 0)  # Terminate: nothing waits on it


@pytest.mark.postgres
@pytest.mark.slow
def test_the_proxy_counts_begin_statements_and_commit_of_a_real_transaction(pg_engine):
    url = sa.make_url(PG_BASE_URL)
    with counting_proxy(url.host or "127.0.0.1", url.port or 5432) as counter:
        dsn = f"host=127.0.0.1 port={counter.port} user={url.username} dbname={url.database} sslmode=prefer"
        with psycopg.connect(dsn) as conn:  # sslmode=prefer: the proxy says no, the client goes on
            at_start = counter.round_trips(), counter.statements()
            with conn.transaction():
                conn.execute("SELECT 1").fetchall()
                conn.execute("SELECT %s::int", (2,)).fetchall()
            conn.execute("SELECT 3").fetchall()
            conn.commit()
            # BEGIN, two SELECTs, COMMIT; then BEGIN and SELECT 3 (implicit), COMMIT
            assert (counter.round_trips() - at_start[0], counter.statements() - at_start[1]) == (7, 7)
            before = counter.round_trips(), counter.statements()
            with conn.pipeline():  # BEGIN and three statements sent without waiting for each
                for n in range(3):
                    conn.execute("SELECT %s::int", (n,))
            trips, statements = counter.round_trips() - before[0], counter.statements() - before[1]
            assert statements == 4 and trips <= 2  # the batch's flush, and the pipeline's closing sync
