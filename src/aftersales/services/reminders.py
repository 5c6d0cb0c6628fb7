"""Reminders before a party's deadline 超时提醒: `<kind>.deadline_approaching` events, so the
marketplace can tell a merchant its 48 h are nearly up, or a buyer that the return must ship.

The policy names the thresholds (`[reminders] hours_before`, e.g. 24 and 4). A deadline is
reminded once per threshold it crosses, to the parties it lapses against (`REMINDED_PARTIES`
by the status's timer: an order's auto-complete or the platform's SLA remind nobody). Each deadline row keeps the
threshold it was last considered at (`deadlines.reminded_hours`); claiming a threshold is a
conditional UPDATE, so any number of workers send each reminder once. Re-arming a deadline
resets it: a new deadline is reminded anew.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from .. import policies
from ..domain.policy import REMINDED_PARTIES
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import SYSTEM, Env
from .kinds import KINDS
from .transitions import meta

REMINDED = "deadline_approaching"  # a record of each kind that reminds
BATCH = 500

d = t.deadlines.c


def thresholds() -> list[int]:
    """Every policy's reminder hours, largest first."""
    return sorted({h for p in policies.presets().values() for h in p.reminders}, reverse=True)


def parties(kind: Any, subject: Any) -> list[str]:
    """Whom the subject's running deadline lapses against: they are the ones to remind."""
    step = kind.deadlines.get(subject.status)
    return list(REMINDED_PARTIES.get(step[1], ())) if step else []


def send_due(uow: UnitOfWork, env: Env, now: datetime) -> int:
    """Write the reminders due at `now` in the caller's transaction; the number written."""
    hours = thresholds()
    reminding = [name for name, entry in KINDS.items() if REMINDED in entry.kind.records]
    if not hours or not reminding:
        return 0
    # A row is a candidate while it has crossed a threshold it was not yet considered at.
    crossed = sa.or_(
        *(
            sa.and_(d.due_at <= now + timedelta(hours=h), sa.or_(d.reminded_hours.is_(None), d.reminded_hours > h))
            for h in hours
        )
    )
    rows = uow.execute(
        sa.select(t.deadlines)
        .where(d.subject_kind.in_(reminding), d.due_at > now, crossed)
        .order_by(d.due_at, d.id)
        .limit(BATCH)
    ).all()
    return sum(_remind(uow, env, row, hours, now) for row in rows)


def _remind(uow: UnitOfWork, env: Env, row: Any, hours: list[int], now: datetime) -> int:
    left = row.due_at - now
    threshold = min(h for h in hours if left <= timedelta(hours=h))
    claimed = uow.execute(
        t.deadlines.update()
        .where(
            d.id == row.id,
            d.armed_version == row.armed_version,
            sa.or_(d.reminded_hours.is_(None), d.reminded_hours > threshold),
        )
        .values(reminded_hours=threshold)
    ).rowcount
    entry = KINDS[row.subject_kind]
    subject = entry.kind.repo(uow).get(row.subject_id) if claimed else None
    if subject is None or subject.version != row.armed_version:
        return 0  # another worker has it, or the subject moved on and its deadline will be re-armed
    who = parties(entry.kind, subject)
    # The subject's own policy says whether this threshold reminds (presets may differ).
    if not who or threshold not in env.policy(subject.policy).reminders:
        return 0
    uow.events.record(
        kind=row.subject_kind,
        subject_id=row.subject_id,
        action=REMINDED,
        actor_role=SYSTEM.role,
        actor_id=SYSTEM.id,
        at=now,
        before={},  # nothing changes: a notice on the subject's timeline (services/audit.py)
        after={},
        data={
            "deadline": row.action,
            "due_at": row.due_at.isoformat(),
            "hours_before": threshold,
            "seconds_left": int(left.total_seconds()),
            "parties": who,
        },
        meta=meta(subject),
    )
    return 1
