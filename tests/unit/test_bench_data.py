"""bench/scale.py's generated marketplace is one the product could have made: every case's events
replay through the case machine to its stored status, deadlines are the ones its status arms,
disputes belong to escalated cases. A benchmark on impossible data would measure nothing."""

import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from aftersales.domain import cases, disputes
from scale import CASE_COLS, DISPUTE_COLS, generate

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _rows(n):
    out = {"orders": [], "after_sales": [], "events": [], "deadlines": [], "disputes": []}
    named = {"after_sales": CASE_COLS.split(", "), "disputes": DISPUTE_COLS.split(", ")}
    for table, row in generate(n, NOW):
        out[table].append(dict(zip(named[table], row, strict=True)) if table in named else row)
    return out


def test_events_replay_to_the_stored_status_and_deadlines_match_it():
    rows = _rows(3000)
    events = {}
    for e in rows["events"]:
        events.setdefault(e[1], []).append((e[2], e[3]))
    deadlines = {d[1]: d[2] for d in rows["deadlines"]}
    orders = {o[0] for o in rows["orders"]}
    statuses = set()
    for c in rows["after_sales"]:
        case_id, order_id, case_type, status = c["id"], c["order_id"], c["type"], c["status"]
        assert order_id in orders
        history = events[case_id]
        assert history[0] == ("file", "buyer")
        subject = SimpleNamespace(
            status="pending_merchant", type=case_type, payment_method="online", ruled_amount=None, extra={}
        )
        for action, role in history[1:]:
            subject.status = cases.CASE_MACHINE.resolve(subject, action, role).target
        assert subject.status == status, (case_id, history)
        assert c["version"] == len(history)  # one per event
        armed = cases.DEADLINES.get(status)
        assert deadlines.get(case_id) == c["deadline_action"] == (armed[0] if armed else None)
        statuses.add(status)
    assert {"pending_merchant", "awaiting_return", "return_shipped", "refunded", "closed"} <= statuses


def test_disputes_belong_to_escalated_cases():
    rows = _rows(3000)
    by_id = {c["id"]: c for c in rows["after_sales"]}
    assert rows["disputes"]
    for d in rows["disputes"]:
        case = by_id[d["after_sale_id"]]
        assert d["status"] in disputes.STATUSES and case["dispute_id"] == d["id"]
        assert (case["status"] == "in_intervention") == (d["status"] != "final")


def test_the_loaded_columns_are_the_tables_own_and_cover_every_required_one():
    """COPY fills only the columns it names and applies no Python-side default: a column the
    schema gained (NOT NULL, no server default) must be generated, one it lost must not be."""
    import sqlalchemy as sa

    from aftersales.store import tables as t
    from scale import DEADLINE_COLS, EVENT_COLS, ORDER_COLS

    loaded = {"orders": ORDER_COLS, "after_sales": CASE_COLS, "disputes": DISPUTE_COLS}
    loaded |= {"events": EVENT_COLS, "deadlines": DEADLINE_COLS}
    for name, cols in loaded.items():
        table, named = t.metadata.tables[name], cols.split(", ")
        assert set(named) <= set(table.c.keys()), (name, set(named) - set(table.c.keys()))
        required = {
            c.name
            for c in table.columns
            if not c.nullable and c.server_default is None and not (c.primary_key and isinstance(c.type, sa.Integer))
        }
        assert required <= set(named), (name, required - set(named))
    for table, row in generate(200, NOW):  # each row has a value for each column it names
        assert len(row) == len(loaded[table].split(", ")), table
