"""The one place a subject (order or case) changes status: rules, deadline, save, event.

`apply` moves one subject in the caller's transaction. The deadline engine fires system actions
whose whole effect is on the subject itself many at a time: `prepare` each in memory, then
`write_many` saves them, re-arms their deadlines and records their events a few statements per
batch. Both go through `prepare`, so the rules and the event a transition writes are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..domain.actions import inputs_of
from ..domain.errors import (
    AmountExceedsRefundable,
    DeadlinePassed,
    PreconditionFailed,
    ValidationFailed,
    VersionConflict,
)
from ..domain.machine import Machine, Transition
from ..domain.roles import TIMER_BOUND
from ..store.repositories import Repo
from ..store.unit_of_work import UnitOfWork
from . import evidence
from .context import SYSTEM as SYSTEM_ACTOR
from .context import Actor, Env, snapshot


@dataclass(frozen=True)
class Kind:
    """What differs between aggregates that move through a machine."""

    name: str  # events.subject_kind / deadlines.subject_kind
    machine: Machine
    deadlines: Mapping[str, tuple[str, str]]  # status -> (system action, policy timer)
    snapshot_fields: tuple[str, ...]
    repo: Callable[[UnitOfWork], Repo[Any]]
    # For a system transition whose whole effect is on the subject (status, stamps): make those
    # changes and return the event's data; None when the transition needs its service (money,
    # other aggregates). Transitions it covers may be fired set-based by the deadline engine.
    # Its last argument is what `batch_context` read for the whole batch.
    set_based: Callable[[Any, Transition, datetime, Any], dict[str, Any] | None] | None = None
    # What set-based firings read besides their subjects (a case's merchant's default return
    # address), read once for a batch of subjects.
    batch_context: Callable[[UnitOfWork, list[Any]], Any] = lambda uow, subjects: None
    # The case whose parties may read evidence the action cites (a dispute's is its case's).
    evidence_case: Callable[[Any], str] = lambda subject: str(subject.id)
    # Changes recorded outside the machine, each with its event (`record`): an order's refund
    # or its request opened and closed, a lapsed platform SLA. The audit accepts these and the
    # machine's steps, nothing else.
    records: frozenset[str] = frozenset()
    created_by: str = "create"  # the creation event's action
    # While true, a timer the subject's status starts is held paused (`pause_deadline`) until
    # `resume_deadline`: an order's auto-complete while a request is open on it.
    paused: Callable[[Any], bool] | None = None


@dataclass
class Act:
    """An action being taken on a subject, as an effect handler or a service's hook sees it."""

    uow: UnitOfWork
    env: Env
    actor: Actor
    subject: Any
    transition: Transition
    inputs: Any  # the action spec's typed inputs
    now: datetime
    order: Any = None  # the order a case belongs to, for money effects


# An action's effect or a service's own follow-up: it changes what it must and returns the
# event's data about it.
Hook = Callable[[Act], dict[str, Any]]


@dataclass
class Step:
    """A transition decided and made on the subject in memory, not yet written."""

    subject: Any
    expected: int  # the version it was read at: the compare-and-set guard
    transition: Transition
    actor: Actor
    now: datetime
    before: dict[str, Any]
    data: dict[str, Any]
    deadline_id: int | None
    original: dict[str, Any] | None = None  # the subject's fields as read (set-based steps)


def check_version(subject: Any, if_match: int | None) -> None:
    if if_match is not None and subject.version != if_match:
        raise PreconditionFailed(
            f"If-Match {if_match} does not match current version {subject.version}",
            version=subject.version,
        )


def deadline_lapsed(subject: Any, now: datetime) -> bool:
    return subject.deadline_due_at is not None and subject.deadline_due_at <= now


def apply(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    kind: Kind,
    subject: Any,
    action: str,
    inputs: Any = None,
    **options: Any,
) -> Transition:
    """Move `subject` by `action` in the caller's transaction, or raise and change nothing.
    `options` are `prepare`'s: if_match, then, order, deadline_id, now."""
    try:
        step = prepare(uow, env, actor, kind, subject, action, inputs, **options)
    except AmountExceedsRefundable:
        # The refundable amount is read from the order after the subject was read. On READ
        # COMMITTED a racing winner may commit between the two reads: the order then shows its
        # refund while the subject still looks as before it. Refused on a stale view of the subject,
        # the action lost a race (409), as it would have seeing the subject current; else it stands.
        if kind.repo(uow).version_of(subject.id) != subject.version:
            raise VersionConflict(f"{kind.name} {subject.id} was changed by someone else") from None
        raise
    assert step is not None
    # Compare-and-set first: a racing transaction fails here, before touching the deadline row.
    kind.repo(uow).save(subject, step.expected)
    write_deadline(uow, kind, subject, step.now)
    uow.events.record(**_event(kind, step))
    return step.transition


def prepare(
    uow: UnitOfWork | None,
    env: Env,
    actor: Actor,
    kind: Kind,
    subject: Any,
    action: str,
    inputs: Any = None,
    *,
    if_match: int | None = None,
    then: Hook | None = None,
    order: Any = None,
    deadline_id: int | None = None,
    set_based: bool = False,
    context: Any = None,
    now: datetime | None = None,
) -> Step | None:
    """Check `action` and make it on `subject` in memory: its transition, the inputs its spec
    writes, its effect and the service's `then`. With `set_based` (no unit of work), None when
    the transition needs its service (see Kind.set_based); the subject is then to be discarded.
    `context`: what the kind's `batch_context` read for a set-based batch. `now`: the time the
    caller's use case read, so that what its effects stamp and the event agree to the
    microsecond on a real clock."""
    check_version(subject, if_match)
    tr = kind.machine.resolve(subject, action, actor.role, actor, _options(inputs))
    spec = kind.machine.specs[action]
    inputs = spec.typed(inputs)
    now = now or env.clock.now()
    if actor.role in TIMER_BOUND and deadline_lapsed(subject, now):
        # The system owns the step once its timer lapsed, even before a worker fired it.
        raise DeadlinePassed(
            f"the deadline for this step passed at {subject.deadline_due_at.isoformat()}",
            due_at=subject.deadline_due_at.isoformat(),
        )
    missing = [name for name in tr.requires if getattr(inputs, name) in (None, "", ())]
    if missing:
        raise ValidationFailed(
            f"{action} {tr.when or ''} needs {', '.join(missing)}".replace("  ", " "), fields=missing
        )
    before = snapshot(subject, kind.snapshot_fields)
    original = dict(vars(subject)) if set_based else None
    expected = subject.version
    subject.status = tr.target
    subject.updated_at = now
    if set_based:
        local = kind.set_based(subject, tr, now, context) if kind.set_based else None
        if local is None:
            return None
        data = local
    else:
        assert uow is not None
        data = _take(Act(uow, env, actor, subject, tr, inputs, now, order), kind, then)
    schedule(env, kind, subject, now)
    return Step(subject, expected, tr, actor, now, before, data, deadline_id, original)


def _options(inputs: Any) -> frozenset[str]:
    """The boolean inputs set true (they may select a transition: approve's keep_item)."""
    values = inputs if isinstance(inputs, Mapping) else vars(inputs) if inputs is not None else {}
    return frozenset(name for name, value in values.items() if value is True)


def _take(act: Act, kind: Kind, then: Hook | None) -> dict[str, Any]:
    """What the action writes on the subject from its inputs, its effect and the service's own
    follow-up; the event's data."""
    from .effects import HANDLERS  # (the handlers use the services that use this module)

    spec = kind.machine.specs[act.transition.action]
    data = inputs_of(act.inputs)
    if data.get("evidence"):
        data["evidence"] = cite_evidence(act, kind.evidence_case(act.subject), data["evidence"])
    ignored = kind.machine.ignored_inputs(spec.name, act.transition)
    for name, field in spec.writes.items():
        if name in data and name not in ignored:
            setattr(act.subject, field, data[name])
    if spec.actor_field:
        setattr(act.subject, spec.actor_field, act.actor.id)
    if act.transition.effect is not None:
        data.update(HANDLERS[act.transition.effect](act))
    if then is not None:
        data.update(then(act))
    return data


def cite_evidence(act: Act, case_id: str, ids: list[str]) -> list[str]:
    """Evidence the action cites becomes readable by the case's parties (and joins a case's own)."""
    cited = evidence.cite(act.uow, act.actor, case_id, ids)
    if isinstance(getattr(act.subject, "evidence", None), list):
        act.subject.evidence = list(dict.fromkeys([*act.subject.evidence, *cited]))
    return cited


def write_many(uow: UnitOfWork, kind: Kind, steps: list[Step]) -> None:
    """Write prepared steps of one kind: one compare-and-set statement for all subjects (raises
    VersionConflict if any moved), one for their next deadlines, one each for events and outbox.
    Their current deadline rows must already be gone (the engine consumed them)."""
    if not steps:
        return
    changed = {f for s in steps if s.original for f, v in vars(s.subject).items() if s.original[f] != v}
    kind.repo(uow).save_many([(s.subject, s.expected) for s in steps], changed)
    uow.deadlines.insert_many(kind.name, [s.subject for s in steps if s.subject.deadline_action], steps[0].now)
    uow.events.record_many([_event(kind, s) for s in steps])


def _event(kind: Kind, step: Step) -> dict[str, Any]:
    return dict(
        kind=kind.name,
        subject_id=step.subject.id,
        action=step.transition.action,
        actor_role=step.actor.role,
        actor_id=step.actor.id,
        at=step.now,
        before=step.before,
        after=snapshot(step.subject, kind.snapshot_fields),
        data=step.data,
        deadline_id=step.deadline_id,
        meta=meta(step.subject),
    )


def meta(subject: Any) -> dict[str, Any]:
    """What a subject's event tells the marketplace besides the change (integrations/envelope.py):
    whose it is (the shop's endpoints hear it), the policy it runs under, its version after the
    change and the deadline now running, so a receiver can act without reading it back."""
    due = getattr(subject, "deadline_due_at", None)
    return {
        "merchant_id": getattr(subject, "merchant_id", None),
        "buyer_id": getattr(subject, "buyer_id", None),
        "policy": getattr(subject, "policy", None),
        "version": subject.version,
        "next_deadline": {"action": subject.deadline_action, "due_at": due.isoformat()} if due else None,
    }


@dataclass(frozen=True)
class Seen:
    """A subject as read before a change outside its machine: the version its save expects and
    the snapshot its event starts from."""

    kind: Kind
    subject: Any
    before: dict[str, Any]
    expected: int


def seen(kind: Kind, subject: Any) -> Seen:
    return Seen(kind, subject, snapshot(subject, kind.snapshot_fields), subject.version)


def record(
    uow: UnitOfWork,
    read: Seen,
    *,
    action: str,
    actor: Actor,
    now: datetime,
    data: dict[str, Any] | None = None,
    deadline_id: int | None = None,
    topic: str | None = None,
) -> None:
    """Save a change made outside the subject's machine since it was `read`, with its event (one
    of its kind's records). Its pending deadline is re-armed at the new version (the engine skips
    a row armed at an older one as stale)."""
    kind, subject = read.kind, read.subject
    if action not in kind.records:
        raise ValueError(f"{action!r} is not a record of {kind.name}")
    subject.updated_at = now
    kind.repo(uow).save(subject, read.expected)
    write_deadline(uow, kind, subject, now)
    uow.events.record(
        kind=kind.name,
        subject_id=subject.id,
        action=action,
        actor_role=actor.role,
        actor_id=actor.id,
        at=now,
        before=read.before,
        after=snapshot(subject, kind.snapshot_fields),
        data=data or {},
        deadline_id=deadline_id,
        topic=topic,
        meta=meta(subject),
    )


def notice(
    uow: UnitOfWork,
    env: Env,
    kind: Kind,
    subject: Any,
    action: str,
    *,
    deadline_id: int | None,
    flag: str | None = None,
    topic: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """A lapsed platform SLA changes no status: `flag` (if any) goes up, the subject's deadline
    (if it was this one) is cleared, and the breach goes on the record."""
    read = seen(kind, subject)
    if flag:
        setattr(subject, flag, True)
    if subject.deadline_action == action:
        subject.deadline_action = subject.deadline_due_at = None
    record(
        uow,
        read,
        action=action,
        actor=SYSTEM_ACTOR,
        now=env.clock.now(),
        data=data,
        deadline_id=deadline_id,
        topic=topic,
    )


def creation(uow: UnitOfWork, kind: Kind, subject: Any, actor: Actor, now: datetime, data: dict[str, Any]) -> None:
    """The event of a subject's creation: its whole snapshot, first deadline included."""
    uow.events.record(
        kind=kind.name,
        subject_id=subject.id,
        action=kind.created_by,
        actor_role=actor.role,
        actor_id=actor.id,
        at=now,
        before=None,
        after=snapshot(subject, kind.snapshot_fields),
        data=data,
        meta=meta(subject),
    )


PAUSED = "paused_deadline"  # subject.extra key: a timer stopped with the time it had left


def schedule(env: Env, kind: Kind, subject: Any, now: datetime) -> None:
    """Set the subject's deadline fields for its (new) status: the step's timer, or none. A
    timer paused in this status (`pause_deadline`) resumes with the time it had left instead of
    starting afresh."""
    step = kind.deadlines.get(subject.status)
    paused = getattr(subject, "extra", {}).get(PAUSED)  # (a kind without `extra` never pauses)
    if paused is not None and (step is None or paused["status"] == subject.status):
        # (a new dict: the set-based writer sees only fields that are replaced, not mutated)
        subject.extra = {k: v for k, v in subject.extra.items() if k != PAUSED}
        if step is not None:
            subject.deadline_action = paused["action"]
            subject.deadline_due_at = now + timedelta(microseconds=paused["left_us"])
            return
    if step is None:
        subject.deadline_action = subject.deadline_due_at = None
        return
    action, timer = step
    subject.deadline_action = action
    subject.deadline_due_at = env.due(subject.policy, timer, now)
    if kind.paused is not None and kind.paused(subject):
        pause_deadline(subject, now)


def resume_deadline(env: Env, kind: Kind, subject: Any, now: datetime) -> None:
    """Restart a timer `pause_deadline` held, with the time it had left, if the subject is still
    in the status it was paused in (else the pause is void)."""
    paused = subject.extra.get(PAUSED)
    if paused is None:
        return
    if paused["status"] == subject.status:
        schedule(env, kind, subject, now)
    else:
        subject.extra = {k: v for k, v in subject.extra.items() if k != PAUSED}


def pause_deadline(subject: Any, now: datetime, *, status: str | None = None, plus: timedelta = timedelta(0)) -> None:
    """Stop the subject's pending timer, keeping the time it has left (never less than none), and
    `plus` more for an extension, for when `schedule` next puts the subject in `status` (default:
    its status; an effect runs once the subject has its new status, so it names the step it
    leaves). The caller saves the subject (its deadline row follows its fields)."""
    if subject.deadline_due_at is None:
        return
    left = max(timedelta(0), subject.deadline_due_at - now) + plus
    held = {
        "status": status or subject.status,
        "action": subject.deadline_action,
        "left_us": left // timedelta(microseconds=1),
    }
    subject.extra = {**subject.extra, PAUSED: held}
    subject.deadline_action = subject.deadline_due_at = None


def write_deadline(uow: UnitOfWork, kind: Kind, subject: Any, now: datetime) -> None:
    """Make the deadlines table agree with the subject's (saved) deadline fields."""
    if subject.deadline_action is None:
        uow.deadlines.disarm(kind.name, subject.id)
    else:
        uow.deadlines.arm(kind.name, subject.id, subject.deadline_action, subject.deadline_due_at, subject.version, now)


def arm_deadline(uow: UnitOfWork, env: Env, kind: Kind, subject: Any, now: datetime) -> None:
    """For a subject being created: schedule its first step and write the deadline row."""
    schedule(env, kind, subject, now)
    write_deadline(uow, kind, subject, now)
