"""Audit replay: rebuild orders, cases, disputes and complaints from their events alone and
compare them with the stored rows, the refund ledger and the deadlines table.

A mismatch is a change made without its event, a broken chain (an event's `before` is not what
the timeline had reached), a step the state machine does not have, or a row edited behind the
engine's back. Besides its own events, a subject's timeline holds those of the subjects that move
it: an order's cases and disputes (refunds, the open request), a case's dispute (an overturned
partial ruling pays the rest), a dispute's case (a withdrawal closes it, a lapsed SLA flags it).

What the events do not carry, and replay therefore derives: the first deadline (creation events
hold the status only; it follows from the status's timer), the policy of orders and complaints
(taken from the row, fixed for life), an order's refunded amount and open request (moved by case
and dispute events, with no order event), the rest paid when a partial ruling is overturned (the
dispute's amount grows; no event names that refund), a dispute finalised by a withdrawal or
flagged by a lapsed SLA (only the case's event says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import policies
from ..domain import cases as case_rules
from ..domain import complaints as complaint_rules
from ..policies.calendar_cn import CHINA
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .cases import CASE
from .complaints import COMPLAINT
from .disputes import DISPUTE
from .orders import ORDER
from .transitions import Kind

KINDS: dict[str, Kind] = {k.name: k for k in (ORDER, CASE, DISPUTE, COMPLAINT)}
TABLES = {ORDER.name: t.orders, CASE.name: t.after_sales, DISPUTE.name: t.disputes, COMPLAINT.name: t.complaints}
# Lapsed platform SLAs: the deadline is cleared, the status stays (transitions.notice).
NOTICES = {CASE.name: case_rules.SYSTEM_NOTICES, COMPLAINT.name: complaint_rules.NOTICES}
_LIVE_DISPUTE = ("applied", "open", "under_review")  # what disputes.close finalises
# Fields each kind's creation event leaves at their defaults.
_INITIAL: dict[str, dict[str, Any]] = {
    ORDER.name: {"paid_amount": 0, "refunded_amount": 0, "open_case_id": None},
    CASE.name: {
        "refunded": 0,
        "dispute_id": None,
        "closed_at": None,
        "reject_reason": None,
        "return_carrier": None,
        "return_tracking": None,
    },
    DISPUTE.name: {
        "assignee": None,
        "outcome": None,
        "amount": None,
        "liable_party": None,
        "sla_breached": False,
        "ruled_by": None,
        "ruled_at": None,
    },
    COMPLAINT.name: {"review_breached": False, "reply": None, "solution": None, "decision": None, "decided_by": None},
}
# Derived totals compared with a ledger rather than a column of the row.
_LEDGER_ONLY = frozenset({"refunded"})

Due = Callable[[str, str, datetime], datetime]


def preset_due(policy_key: str, timer: str, start: datetime) -> datetime:
    return policies.get(policy_key).due_at(timer, start, CHINA)


def replay(
    events: Iterable[Any],
    *,
    subject: tuple[str, str] | None = None,
    policy: str | None = None,
    due: Due = preset_due,
    problems: list[str] | None = None,
) -> dict[str, Any]:
    """The state of `subject` (default: the first event's) rebuilt from `events` (rows or
    mappings of the events table, any order). `policy` is the subject's policy when its creation
    event does not name it (orders, complaints): it fixes the first deadline. Broken chains and
    steps the machine does not have are appended to `problems`."""
    evs = sorted((_mapping(e) for e in events), key=lambda e: e["id"])
    if not evs:
        return {}
    fold = _Fold(
        subject or (evs[0]["subject_kind"], evs[0]["subject_id"]), policy, due, [] if problems is None else problems
    )
    for e in evs:
        fold.apply(e)
    return fold.state


class _Fold:
    def __init__(self, subject: tuple[str, str], policy: str | None, due: Due, problems: list[str]) -> None:
        self.kind, self.id = subject
        self.policy, self.due, self.problems = policy, due, problems
        self.state: dict[str, Any] = {}
        self.case_of: dict[str, str | None] = {}  # dispute -> its case
        self.dispute_of: dict[str, str] = {}  # case -> its intervention
        self.refunded: dict[str, int] = {}  # case -> refunded so far

    def apply(self, e: dict[str, Any]) -> None:
        kind, sid, data = e["subject_kind"], e["subject_id"], e["data"] or {}
        if kind == DISPUTE.name and e["action"] == "open":
            self.case_of[sid] = data.get("after_sale_id")
        if kind == CASE.name and data.get("dispute_id"):
            self.dispute_of[sid] = data["dispute_id"]
        case_id, paid = self._money(e)
        if (kind, sid) == (self.kind, self.id):
            self._own(e)
        elif self.kind == DISPUTE.name and kind == CASE.name:
            self._case_moves_dispute(e)
        elif self.kind == ORDER.name and kind == CASE.name:
            self._case_moves_order(e)
        if paid and self.kind == ORDER.name:
            self.state["refunded_amount"] += paid
        elif paid and self.kind == CASE.name and case_id == self.id:
            self.state["refunded"] += paid

    def _money(self, e: dict[str, Any]) -> tuple[str | None, int]:
        """(case, amount) a buyer received by this event: a case's refund, or what a ruling or an
        appeal granted beyond what the case was already refunded (an overturned partial ruling)."""
        data = e["data"] or {}
        if e["subject_kind"] == CASE.name and data.get("refund_amount"):
            case_id, paid = e["subject_id"], int(data["refund_amount"])
        elif e["subject_kind"] == DISPUTE.name and (e["after"] or {}).get("amount"):
            case_id = self.case_of.get(e["subject_id"])
            if case_id is None:
                return None, 0
            paid = max(0, int(e["after"]["amount"]) - self.refunded.get(case_id, 0))
        else:
            return None, 0
        self.refunded[case_id] = self.refunded.get(case_id, 0) + paid
        return case_id, paid

    def _own(self, e: dict[str, Any]) -> None:
        kind = KINDS[self.kind]
        action, before, after, data = e["action"], e["before"], e["after"], e["data"] or {}
        if before is None and after is not None:
            self._create(kind, e)
            return
        if not self.state:
            self.problems.append(f"{self.kind} {self.id}: event #{e['id']} ({action}) comes before its creation")
            return
        if after is None and action in NOTICES.get(self.kind, ()):
            self.state.update(deadline_action=None, deadline_due_at=None)
            if self.kind == COMPLAINT.name:
                self.state["review_breached"] = True
            return
        self._check_chain(kind, e)
        self.state.update({f: _value(f, after.get(f)) for f in kind.snapshot_fields})
        if self.kind == CASE.name:
            self._case_inputs(e)
        elif self.kind == DISPUTE.name and action == "rule":
            self.state.update(ruled_by=e["actor_id"], ruled_at=e["at"])
        elif self.kind == COMPLAINT.name:
            for name in ("reply", "solution", "rationale"):
                if data.get(name):
                    self.state[name] = data[name]
            if action == "decide":
                self.state.update(decision=data.get("decision") or "decided", decided_by=e["actor_id"])

    def _create(self, kind: Kind, e: dict[str, Any]) -> None:
        after, data = e["after"], e["data"] or {}
        self.state = {**_INITIAL[self.kind], "status": after["status"]}
        if "amount" in after:
            self.state["amount"] = after["amount"]
        # Creation events do not carry the first deadline: it follows from the status's timer.
        self.state.update(deadline_action=None, deadline_due_at=None)
        step = kind.deadlines.get(after["status"])
        policy = data.get("policy") or self.policy
        if step and not policy:
            self.problems.append(f"{self.kind} {self.id}: its creation names no policy for its first deadline")
        elif step:
            self.state.update(deadline_action=step[0], deadline_due_at=self.due(str(policy), step[1], e["at"]))

    def _check_chain(self, kind: Kind, e: dict[str, Any]) -> None:
        before, after = e["before"], e["after"]
        where = f"{self.kind} {self.id}: event #{e['id']} ({e['action']})"
        for f in kind.snapshot_fields:
            if f in before and _value(f, before[f]) != self.state.get(f):
                self.problems.append(
                    f"{where} starts from {f}={before[f]!r}, the timeline had {_show(self.state.get(f))}"
                )
        step = (before.get("status"), after.get("status"))
        if not any(
            tr.action == e["action"] and step[0] in tr.source and tr.target == step[1]
            for tr in kind.machine.transitions
        ):
            self.problems.append(f"{where} moves {step[0]} -> {step[1]}, which the {kind.machine.name} machine has not")

    def _case_inputs(self, e: dict[str, Any]) -> None:
        action, data, status = e["action"], e["data"] or {}, e["after"]["status"]
        if data.get("dispute_id"):
            self.state["dispute_id"] = data["dispute_id"]
        if action == "reject":
            self.state["reject_reason"] = data.get("reason")
        elif action == "ship_return":
            self.state.update(return_carrier=data.get("carrier"), return_tracking=data.get("tracking_number"))
        if status in case_rules.TERMINAL:
            self.state["closed_at"] = e["at"]

    def _case_moves_dispute(self, e: dict[str, Any]) -> None:
        data = e["data"] or {}
        if (
            e["action"] == "withdraw"
            and self.dispute_of.get(e["subject_id"]) == self.id
            and self.state.get("status") in _LIVE_DISPUTE
        ):
            self.state["status"] = "final"  # disputes.close: the buyer withdrew the request
        if e["action"] in case_rules.SYSTEM_NOTICES and data.get("dispute_id") == self.id:
            self.state["sla_breached"] = True

    def _case_moves_order(self, e: dict[str, Any]) -> None:
        if e["action"] == "file":
            self.state["open_case_id"] = e["subject_id"]
        elif (e["after"] or {}).get("status") in case_rules.TERMINAL and self.state.get("open_case_id") == e[
            "subject_id"
        ]:
            self.state["open_case_id"] = None


def verify(uow: UnitOfWork, kind: str, subject_id: str, *, due: Due = preset_due) -> list[str]:
    """What differs between the stored `kind` row `subject_id` and its replayed timeline."""
    return _Stored.load(uow, _scope(uow, kind, subject_id)).verify(kind, subject_id, due)


def verify_all(uow: UnitOfWork, *, due: Due = preset_due) -> list[str]:
    """`verify` for every order, case, dispute and complaint, reading each table once."""
    stored = _Stored.load(uow, None)
    return [
        p for kind in TABLES for subject_id in sorted(stored.rows[kind]) for p in stored.verify(kind, subject_id, due)
    ]


def _scope(uow: UnitOfWork, kind: str, subject_id: str) -> dict[str, set[str]]:
    """The subject and the subjects whose events move it."""
    c, d = t.after_sales.c, t.disputes.c
    scope: dict[str, set[str]] = {k: set() for k in TABLES}
    scope[kind].add(subject_id)
    if kind == ORDER.name:
        scope[CASE.name] |= set(uow.execute(sa.select(c.id).where(c.order_id == subject_id)).scalars())
        scope[DISPUTE.name] |= set(uow.execute(sa.select(d.id).where(d.order_id == subject_id)).scalars())
    elif kind == CASE.name:
        scope[DISPUTE.name] |= set(uow.execute(sa.select(d.id).where(d.after_sale_id == subject_id)).scalars())
    elif kind == DISPUTE.name:
        scope[CASE.name] |= set(uow.execute(sa.select(d.after_sale_id).where(d.id == subject_id)).scalars())
    return scope


class _Stored:
    """What the database holds about some subjects (all when scope is None), read in a few queries."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.events: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.deadlines: dict[tuple[str, str], Any] = {}
        self.refunded: dict[tuple[str, str], int] = {}  # (order|after_sale, id) -> refund ledger total
        self.linked: dict[tuple[str, str], list[tuple[str, str]]] = {}  # subject -> subjects that move it

    @classmethod
    def load(cls, uow: UnitOfWork, scope: dict[str, set[str]] | None) -> _Stored:
        def within(column: Any, kind: str) -> list[Any]:
            return [] if scope is None else [column.in_(sorted(scope[kind]))]

        out, e, dl, r = cls(), t.events.c, t.deadlines.c, t.refunds.c
        for kind, table in TABLES.items():
            out.rows[kind] = {
                row.id: row._mapping for row in uow.execute(sa.select(table).where(*within(table.c.id, kind)))
            }
        for row in uow.execute(
            sa.select(t.events).where(*_subjects(scope, e.subject_kind, e.subject_id)).order_by(e.id)
        ):
            ev = _mapping(row)
            out.events.setdefault((ev["subject_kind"], ev["subject_id"]), []).append(ev)
        for row in uow.execute(sa.select(t.deadlines).where(*_subjects(scope, dl.subject_kind, dl.subject_id))):
            out.deadlines[(row.subject_kind, row.subject_id)] = row
        for case in out.rows[CASE.name].values():
            out.linked.setdefault((ORDER.name, case["order_id"]), []).append((CASE.name, case["id"]))
        for dispute in out.rows[DISPUTE.name].values():
            out.linked.setdefault((ORDER.name, dispute["order_id"]), []).append((DISPUTE.name, dispute["id"]))
            out.linked.setdefault((CASE.name, dispute["after_sale_id"]), []).append((DISPUTE.name, dispute["id"]))
            out.linked[(DISPUTE.name, dispute["id"])] = [(CASE.name, dispute["after_sale_id"])]
        for kind, column in ((ORDER.name, r.order_id), (CASE.name, r.after_sale_id)):
            query = sa.select(column, sa.func.sum(r.amount)).where(column.is_not(None), *within(column, kind))
            totals: Any = uow.execute(query.group_by(column))
            out.refunded.update({(kind, k): int(v) for k, v in totals})
        return out

    def verify(self, kind: str, subject_id: str, due: Due) -> list[str]:
        stored = self.rows[kind].get(subject_id)
        if stored is None:
            return [f"{kind} {subject_id}: no such row"]
        problems: list[str] = []
        state = replay(
            self._timeline(kind, subject_id),
            subject=(kind, subject_id),
            policy=stored.get("policy"),
            due=due,
            problems=problems,
        )
        if not state:
            return [f"{kind} {subject_id}: no events"]
        for field, value in state.items():
            if field not in _LEDGER_ONLY and field in stored and _norm(stored[field]) != _norm(value):
                problems.append(
                    f"{kind} {subject_id}: {field} is {_show(stored[field])}, its events give {_show(value)}"
                )
        shown = state.get("refunded_amount", state.get("refunded"))
        ledger = self.refunded.get((kind, subject_id), 0)
        if shown is not None and ledger != shown:
            problems.append(f"{kind} {subject_id}: the refund ledger holds {ledger}, its events give {shown}")
        row = self.deadlines.get((kind, subject_id))
        want = (state["deadline_action"], _norm(state["deadline_due_at"]))
        have = (row.action, _norm(row.due_at)) if row is not None else (None, None)
        if want != have:
            problems.append(
                f"{kind} {subject_id}: the deadlines table arms {_show(have)}, its events give {_show(want)}"
            )
        return problems

    def _timeline(self, kind: str, subject_id: str) -> list[dict[str, Any]]:
        """The subject's events and those of the subjects that move it, in order."""
        subjects = [(kind, subject_id), *self.linked.get((kind, subject_id), [])]
        return sorted((e for s in subjects for e in self.events.get(s, [])), key=lambda e: e["id"])


def _subjects(scope: dict[str, set[str]] | None, kind_column: Any, id_column: Any) -> list[Any]:
    """WHERE clauses for rows about the subjects in scope (none: every row)."""
    if scope is None:
        return []
    return [sa.or_(*(sa.and_(kind_column == k, id_column.in_(sorted(ids))) for k, ids in scope.items() if ids))]


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
