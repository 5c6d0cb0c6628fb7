"""Audit replay: rebuild every subject from its own events alone and compare it with the stored
row, the refund ledger and the deadlines table.

Every change of a subject writes an event of that subject with the fields it changed before and
after (`Kind.snapshot_fields`), so replay needs no knowledge of the kinds beyond the registry:
a creation event's `after` starts the state, each later event must start from where the
timeline is (`before`) and be a step of the kind's machine or one of its declared records
(`Kind.records`: a change outside the machine, such as an order's refund or a lapsed SLA), and
its `after`, the inputs its action spec writes and who took it give the next state.

A mismatch is a change made without its event, a broken chain, a step the machine does not
have, or a row edited behind the engine's back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .kinds import KINDS, Registered

TABLES = {name: entry.table for name, entry in KINDS.items()}
# Each kind's refunds, as the ledger counts them: the column naming the subject, and the state
# field replay keeps their total in (a case's total is no column of its own row).
_LEDGER = {"order": (t.refunds.c.order_id, "refunded_amount"), "after_sale": (t.refunds.c.after_sale_id, "refunded")}


def replay(
    events: Iterable[Any],
    *,
    subject: tuple[str, str] | None = None,
    problems: list[str] | None = None,
    kinds: Mapping[str, Registered] = KINDS,
) -> dict[str, Any]:
    """The state of `subject` (default: the first event's) rebuilt from its `events` (rows or
    mappings of the events table, any order; others' events are ignored). Broken chains and steps
    the machine does not have are appended to `problems`."""
    evs = sorted((_mapping(e) for e in events), key=lambda e: e["id"])
    if not evs:
        return {}
    kind, sid = subject or (evs[0]["subject_kind"], evs[0]["subject_id"])
    fold = _Fold(kinds[kind], sid, [] if problems is None else problems)
    for e in evs:
        if (e["subject_kind"], e["subject_id"]) == (kind, sid):
            fold.apply(e)
    return fold.state


class _Fold:
    def __init__(self, entry: Registered, subject_id: str, problems: list[str]) -> None:
        self.entry, self.id, self.problems = entry, subject_id, problems
        self.state: dict[str, Any] = {}

    def apply(self, e: dict[str, Any]) -> None:
        before, after = e["before"], e["after"] or {}
        where = f"{self.entry.name} {self.id}: event #{e['id']} ({e['action']})"
        if before is None:
            self.state = {**self._initial(), **{f: _value(f, v) for f, v in after.items()}}
        elif not self.state:
            self.problems.append(f"{where} comes before its creation")
            return
        else:
            tr = self._transition(e)
            self._check_chain(where, e, tr)
            self.state.update({f: _value(f, v) for f, v in after.items()})
            self._inputs(e, tr)

    def _initial(self) -> dict[str, Any]:
        """What replay fills in besides the snapshots, at its value before any action."""
        specs = self.entry.machine.specs.values()
        fields = {f for s in specs for f in [*s.writes.values(), s.actor_field] if f}
        ledger = _LEDGER.get(self.entry.name)
        return {**dict.fromkeys(sorted(fields)), **({ledger[1]: 0} if ledger else {})}

    def _check_chain(self, where: str, e: dict[str, Any], tr: Any) -> None:
        before, after = e["before"], e["after"] or {}
        for f, v in before.items():
            if _value(f, v) != self.state.get(f):
                self.problems.append(f"{where} starts from {f}={v!r}, the timeline had {_show(self.state.get(f))}")
        machine = self.entry.machine
        if e["action"] in self.entry.kind.records:
            return
        step = (before.get("status"), after.get("status", before.get("status")))
        if tr is None:
            self.problems.append(f"{where} moves {step[0]} -> {step[1]}, which the {machine.name} machine has not")

    def _transition(self, e: dict[str, Any]) -> Any:
        """The machine's step this event took (None: not a step of the machine)."""
        before, after = e["before"] or {}, e["after"] or {}
        source = before.get("status", self.state.get("status"))
        target = after.get("status", source)
        return next(
            (
                tr
                for tr in self.entry.machine.transitions
                if tr.action == e["action"] and source in tr.source and tr.target == target
            ),
            None,
        )

    def _inputs(self, e: dict[str, Any], tr: Any) -> None:
        """The fields the action's spec writes from its inputs, who took it, and refunds paid."""
        data = e["data"] or {}
        ledger = _LEDGER.get(self.entry.name)
        if ledger and ledger[1] == "refunded" and data.get("refund_amount"):
            self.state["refunded"] += int(data["refund_amount"])
        spec = self.entry.machine.specs.get(e["action"])
        if spec is None:
            return
        ignored = self.entry.machine.ignored_inputs(spec.name, tr)
        for name, field in spec.writes.items():
            if name in data and name not in ignored:
                self.state[field] = data[name]
        if spec.actor_field:
            self.state[spec.actor_field] = e["actor_id"]


def verify(uow: UnitOfWork, kind: str, subject_id: str) -> list[str]:
    """What differs between the stored `kind` row `subject_id` and its replayed timeline."""
    return _Stored.load(uow, (kind, subject_id)).verify(kind, subject_id)


def verify_all(uow: UnitOfWork) -> list[str]:
    """`verify` for every subject of every kind, reading each table once."""
    stored = _Stored.load(uow, None)
    return [p for kind in KINDS for subject_id in sorted(stored.rows[kind]) for p in stored.verify(kind, subject_id)]


class _Stored:
    """What the database holds about one subject (or all of them), read in a few queries."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.events: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.deadlines: dict[tuple[str, str], Any] = {}
        self.refunded: dict[tuple[str, str], int] = {}  # (kind, id) -> the refund ledger's total

    @classmethod
    def load(cls, uow: UnitOfWork, one: tuple[str, str] | None) -> _Stored:
        out, e, dl, r = cls(), t.events.c, t.deadlines.c, t.refunds.c

        def about(kind_column: Any, id_column: Any) -> list[Any]:
            return [] if one is None else [kind_column == one[0], id_column == one[1]]

        for kind, entry in KINDS.items():
            where = [] if one is None else [entry.table.c.id == one[1]] if kind == one[0] else [sa.false()]
            out.rows[kind] = {row.id: row._mapping for row in uow.execute(sa.select(entry.table).where(*where))}
        for row in uow.execute(sa.select(t.events).where(*about(e.subject_kind, e.subject_id)).order_by(e.id)):
            ev = _mapping(row)
            out.events.setdefault((ev["subject_kind"], ev["subject_id"]), []).append(ev)
        for row in uow.execute(sa.select(t.deadlines).where(*about(dl.subject_kind, dl.subject_id))):
            out.deadlines[(row.subject_kind, row.subject_id)] = row
        for kind, (column, _) in _LEDGER.items():
            if one is not None and one[0] != kind:
                continue
            query = sa.select(column, sa.func.sum(r.amount)).where(column.is_not(None))
            if one is not None:
                query = query.where(column == one[1])
            totals: Any = uow.execute(query.group_by(column))
            out.refunded.update({(kind, k): int(v) for k, v in totals})
        return out

    def verify(self, kind: str, subject_id: str) -> list[str]:
        stored = self.rows[kind].get(subject_id)
        if stored is None:
            return [f"{kind} {subject_id}: no such row"]
        problems: list[str] = []
        state = replay(self.events.get((kind, subject_id), []), subject=(kind, subject_id), problems=problems)
        if not state:
            return [f"{kind} {subject_id}: no events"]
        for field, value in state.items():
            if field in stored and _norm(stored[field]) != _norm(value):
                problems.append(
                    f"{kind} {subject_id}: {field} is {_show(stored[field])}, its events give {_show(value)}"
                )
        ledger = _LEDGER.get(kind)
        if ledger and self.refunded.get((kind, subject_id), 0) != state[ledger[1]]:
            held = self.refunded.get((kind, subject_id), 0)
            problems.append(f"{kind} {subject_id}: the refund ledger holds {held}, its events give {state[ledger[1]]}")
        row = self.deadlines.get((kind, subject_id))
        want = (state.get("deadline_action"), _norm(state.get("deadline_due_at")))
        have = (row.action, _norm(row.due_at)) if row is not None else (None, None)
        if want != have:
            problems.append(
                f"{kind} {subject_id}: the deadlines table arms {_show(have)}, its events give {_show(want)}"
            )
        return problems


def _mapping(e: Any) -> dict[str, Any]:
    return dict(e if isinstance(e, Mapping) else e._mapping)


def _value(field: str, v: Any) -> Any:
    """Event snapshots hold times as ISO text."""
    return datetime.fromisoformat(v) if field.endswith("_at") and isinstance(v, str) else v


def _norm(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def _show(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(_show(x) for x in v) + ")"
    return repr(_norm(v))
