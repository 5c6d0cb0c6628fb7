"""Disputes: opening, evidence, assignment, the agents' queue and notes. Rulings and appeals,
which move money and sanctions, live in `rulings.py`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..domain import disputes as domain
from ..domain.actions import inputs_of, typed
from ..domain.cases import Case
from ..domain.disputes import DISPUTE_MACHINE, Dispute
from ..domain.errors import Conflict, DeadlinePassed, Forbidden, ValidationFailed
from ..domain.ids import new_id
from ..domain.roles import ADMIN, AUDIENCE, PARTIES, PLATFORM
from ..store import tables as t
from ..store.repositories import Repo
from ..store.unit_of_work import UnitOfWork
from .context import Actor, Env, visible
from .transitions import Act, Kind, apply, creation, notice

DISPUTE = Kind(
    name="dispute",
    machine=DISPUTE_MACHINE,
    deadlines=domain.DEADLINES,
    snapshot_fields=(
        "status",
        "assignee",
        "outcome",
        "amount",
        "liable_party",
        "ruled_at",
        "sla_breached",
        "deadline_action",
        "deadline_due_at",
    ),
    records=frozenset({"ruling_overdue", "deadline_approaching"}),
    created_by="open",
    repo=lambda uow: repo(uow),
    evidence_case=lambda dispute: str(dispute.after_sale_id),
)


SPECS = DISPUTE_MACHINE.specs


def repo(uow: UnitOfWork) -> Repo[Dispute]:
    return Repo(uow.conn, t.disputes, Dispute)


def open_for(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    case: Case,
    params: dict[str, Any],
    now: datetime,
    kind: str = "intervention",
) -> str:
    """Open a dispute with what both sides said so far; the ruling SLA and evidence periods start."""
    policy = env.policy(case.policy)
    negotiation = [
        {"actor_role": e.actor_role, "actor_id": e.actor_id, "action": e.action, "at": e.at.isoformat(), "data": e.data}
        for e in uow.events.for_subject("after_sale", case.id)
    ]
    evidence_until = (now + policy.timer("evidence_period")).isoformat()
    dispute = Dispute(
        id=new_id("dp", now),
        after_sale_id=case.id,
        order_id=case.order_id,
        buyer_id=case.buyer_id,
        merchant_id=case.merchant_id,
        kind=kind,
        status="applied" if kind == "arbitration" else "open",
        policy=case.policy,
        opened_by=actor.role,
        created_at=now,
        updated_at=now,
        reason=params.get("reason") or case.reason,
        statements=[_statement(actor, params, now)],
        ruling_due_at=now + policy.timer("platform_ruling_sla"),
        evidence_due={"buyer": evidence_until, "merchant": evidence_until},
        extra={"negotiation": negotiation},
    )
    repo(uow).insert(dispute)
    creation(uow, DISPUTE, dispute, actor, now, {"after_sale_id": case.id, "kind": kind})
    return dispute.id


def _statement(actor: Actor, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "party": actor.role,
        "actor_id": actor.id,
        "statement": params.get("statement"),
        "evidence": params.get("evidence", []),
        "at": now.isoformat(),
    }


def check_audience(actor: Actor) -> None:
    if actor.role not in AUDIENCE:
        raise Forbidden("disputes are for the parties and platform agents")


def get(uow: UnitOfWork, actor: Actor, dispute_id: str) -> Dispute:
    check_audience(actor)
    return visible(repo(uow).get(dispute_id), actor, "dispute")


def submit_evidence(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    dispute_id: str,
    inputs: domain.SubmitEvidence | Mapping[str, Any],
    if_match: int | None = None,
) -> Dispute:
    args: domain.SubmitEvidence = SPECS["submit_evidence"].typed(inputs)
    dispute = get(uow, actor, dispute_id)
    now = env.clock.now()
    due = dispute.evidence_due.get(actor.role)
    if actor.role in PARTIES and due and datetime.fromisoformat(due) <= now:
        raise DeadlinePassed(f"the {actor.role}'s evidence period ended at {due}", due_at=due)

    def then(step: Act) -> dict[str, Any]:
        dispute.statements = [*dispute.statements, _statement(actor, inputs_of(args), now)]
        return {}

    apply(uow, env, actor, DISPUTE, dispute, "submit_evidence", args, if_match=if_match, then=then, now=now)
    return dispute


def request_evidence(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    dispute_id: str,
    inputs: domain.RequestEvidence | Mapping[str, Any],
    if_match: int | None = None,
) -> Dispute:
    """补充举证: re-open one party's evidence period; nothing else pauses."""
    args: domain.RequestEvidence = SPECS["request_evidence"].typed(inputs)
    dispute = get(uow, actor, dispute_id)
    now = env.clock.now()

    def then(step: Act) -> dict[str, Any]:
        until = (now + env.policy(dispute.policy).timer("evidence_period")).isoformat()
        dispute.evidence_due = {**dispute.evidence_due, args.party: until}
        return {"until": until, "note": args.note}

    apply(uow, env, actor, DISPUTE, dispute, "request_evidence", args, if_match=if_match, then=then, now=now)
    return dispute


def review_application(
    uow: UnitOfWork, env: Env, actor: Actor, dispute_id: str, action: str, if_match: int | None = None
) -> Dispute:
    """Arbitration is first accepted or declined by the platform."""
    dispute = get(uow, actor, dispute_id)
    if action == "accept":
        # The ruling SLA runs from acceptance, not from the application.
        dispute.ruling_due_at = env.clock.now() + env.policy(dispute.policy).timer("platform_ruling_sla")
    apply(uow, env, actor, DISPUTE, dispute, action, if_match=if_match)
    return dispute


def assign(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    dispute_id: str,
    inputs: domain.Assign | Mapping[str, Any],
    if_match: int | None = None,
) -> Dispute:
    """By hand (`agent_id`) or automatically: the least-loaded active agent with capacity left."""
    args: domain.Assign = SPECS["assign"].typed(inputs)
    dispute = get(uow, actor, dispute_id)
    agent_id = args.agent_id or least_loaded_agent(uow)
    if args.agent_id and not _agent_exists(uow, agent_id):
        raise ValidationFailed(f"unknown or inactive agent {agent_id!r}", fields=["agent_id"])

    def then(step: Act) -> dict[str, Any]:
        previous, dispute.assignee = dispute.assignee, agent_id
        return {"agent_id": agent_id, "previous": previous, "automatic": not args.agent_id}

    apply(uow, env, actor, DISPUTE, dispute, "assign", args, if_match=if_match, then=then)
    return dispute


def _agent_exists(uow: UnitOfWork, agent_id: str) -> bool:
    a = t.agents.c
    return uow.execute(sa.select(a.id).where(a.id == agent_id, a.active.is_(True))).first() is not None


def _agent_load() -> Any:
    """Per agent row: how many live disputes it holds."""
    a, d = t.agents.c, t.disputes.c
    return (
        sa.select(sa.func.count())
        .where(d.assignee == a.id, d.status.in_(domain.IN_HAND))
        .correlate(t.agents)
        .scalar_subquery()
    )


def least_loaded_agent(uow: UnitOfWork) -> str:
    a, load = t.agents.c, _agent_load()
    row = uow.execute(
        sa.select(a.id, load.label("load")).where(a.active.is_(True), load < a.capacity).order_by(load, a.id).limit(1)
    ).first()
    if row is None:
        raise Conflict("no active agent has capacity left", code="no_agent_available")
    return str(row.id)


def upsert_agent(
    uow: UnitOfWork, env: Env, actor: Actor, agent_id: str, data: domain.AgentProfile | Mapping[str, Any]
) -> dict[str, Any]:
    args = typed(domain.AgentProfile, data)
    if actor.role != ADMIN:
        raise Forbidden("only an admin manages the agent roster")
    row = {
        "id": agent_id,
        "name": args.name,
        "capacity": args.capacity,
        "active": args.active,
        "updated_at": env.clock.now(),
    }
    a = t.agents.c
    if uow.execute(sa.select(a.id).where(a.id == agent_id)).first():
        uow.execute(t.agents.update().where(a.id == agent_id).values(**row))
    else:
        uow.execute(t.agents.insert().values(**row))
    return row


def agents_with_load(uow: UnitOfWork, actor: Actor, agent_id: str | None = None) -> list[dict[str, Any]]:
    """The roster (or one agent on it) with each agent's load: for the platform's staff."""
    if actor.role not in PLATFORM:
        raise Forbidden("the roster is for platform staff")
    query = sa.select(t.agents, _agent_load().label("load")).order_by(t.agents.c.id)
    if agent_id is not None:
        query = query.where(t.agents.c.id == agent_id)
    return [dict(r._mapping) for r in uow.execute(query)]


def add_note(uow: UnitOfWork, env: Env, actor: Actor, dispute_id: str, body: str) -> dict[str, Any]:
    if actor.role not in PLATFORM:
        raise Forbidden("notes are for agents")
    dispute = get(uow, actor, dispute_id)
    row = {
        "id": new_id("nt", env.clock.now()),
        "dispute_id": dispute.id,
        "agent_id": actor.id,
        "body": body,
        "created_at": env.clock.now(),
    }
    uow.execute(t.dispute_notes.insert().values(**row))
    return row


def notes(uow: UnitOfWork, actor: Actor, dispute_id: str) -> list[dict[str, Any]]:
    if actor.role not in PLATFORM:
        raise Forbidden("notes are for agents")
    get(uow, actor, dispute_id)
    n = t.dispute_notes.c
    return [
        dict(r._mapping)
        for r in uow.execute(sa.select(t.dispute_notes).where(n.dispute_id == dispute_id).order_by(n.created_at, n.id))
    ]


def queue_filters(actor: Actor, now: datetime, **filters: Any) -> list[Any]:
    """The agents' queue: status, kind, merchant, reason, assignee, and SLA urgency
    (`sla=breached`: past its ruling deadline; `sla=due_24h`: due within a day)."""
    if actor.role not in PLATFORM:
        raise Forbidden("the dispute queue is for platform agents")
    d = t.disputes.c
    where = [getattr(d, name) == value for name, value in filters.items() if value and name != "sla"]
    sla = filters.get("sla")
    if sla == "breached":
        where += [d.status.in_(domain.AWAITING_RULING), d.ruling_due_at <= now]
    elif sla == "due_24h":
        where += [d.status.in_(domain.AWAITING_RULING), d.ruling_due_at <= now + timedelta(hours=24)]
    elif sla:
        raise ValidationFailed(f"sla must be one of {', '.join(domain.SLA_FILTERS)}", fields=["sla"])
    return where


def mark_sla_breached(uow: UnitOfWork, env: Env, dispute_id: str) -> None:
    """The platform's ruling SLA lapsed (its deadline runs on the case): flagged on the record."""
    dispute = repo(uow).get(dispute_id)
    if dispute is None or dispute.sla_breached:
        return
    notice(
        uow,
        env,
        DISPUTE,
        dispute,
        "ruling_overdue",
        flag="sla_breached",
        deadline_id=None,
        topic="dispute.sla_breached",
    )


def close(uow: UnitOfWork, env: Env, actor: Actor, dispute_id: str) -> None:
    """The buyer withdrew the request before a ruling: the dispute is final, with nothing ruled."""
    dispute = repo(uow).get(dispute_id)
    if dispute is None or dispute.status not in domain.ACTIVE:
        return

    def then(step: Act) -> dict[str, Any]:
        dispute.extra = {**dispute.extra, "outcome": "withdrawn"}
        return {"outcome": "withdrawn"}

    apply(uow, env, actor, DISPUTE, dispute, "close", then=then)
