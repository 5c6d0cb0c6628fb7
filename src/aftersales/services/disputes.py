"""Opening a dispute and reading it; the platform's ruling workflow builds on this."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.cases import Case
from ..domain.disputes import Dispute
from ..domain.errors import Forbidden
from ..domain.ids import new_id
from ..store.repositories import Repo
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import Actor, Env, visible


def repo(uow: UnitOfWork) -> Repo[Dispute]:
    return Repo(uow.conn, t.disputes, Dispute)


def open_for(uow: UnitOfWork, env: Env, actor: Actor, case: Case, params: dict[str, Any], now: datetime) -> str:
    """Open the dispute with what both sides said so far; the ruling SLA starts now."""
    negotiation = [
        {"actor_role": e.actor_role, "actor_id": e.actor_id, "action": e.action, "at": e.at.isoformat(),
         "data": e.data}
        for e in uow.events.for_subject("after_sale", case.id)
    ]
    statement = {"party": actor.role, "actor_id": actor.id, "statement": params.get("statement"),
                 "evidence": params.get("evidence", []), "at": now.isoformat()}
    dispute = Dispute(
        id=new_id("dp", now), after_sale_id=case.id, order_id=case.order_id, buyer_id=case.buyer_id,
        merchant_id=case.merchant_id, status="open", opened_by=actor.role, created_at=now, updated_at=now,
        reason=params.get("reason"), statements=[statement],
        deadline_due_at=now + env.policy(case.policy).timer("platform_ruling_sla"),
        extra={"negotiation": negotiation},
    )
    repo(uow).insert(dispute)
    return dispute.id


def get(uow: UnitOfWork, actor: Actor, dispute_id: str) -> Dispute:
    return visible(repo(uow).get(dispute_id), actor, "dispute")


def queue_filters(actor: Actor, *, status: str | None, assignee: str | None) -> list[Any]:
    if actor.role not in ("agent", "admin"):
        raise Forbidden("the dispute queue is for platform agents")
    d = t.disputes.c
    where = [d.status == status] if status else []
    if assignee:
        where.append(d.assignee == assignee)
    return where


def mark_sla_breached(uow: UnitOfWork, dispute_id: str, now: datetime) -> None:
    r = repo(uow)
    dispute = r.get(dispute_id)
    if dispute is None or dispute.sla_breached:
        return
    expected = dispute.version
    dispute.sla_breached, dispute.updated_at = True, now
    r.save(dispute, expected)


def close(uow: UnitOfWork, dispute_id: str, now: datetime, outcome: str) -> None:
    """The case ended outside a ruling (e.g. the buyer withdrew): the dispute is final."""
    r = repo(uow)
    dispute = r.get(dispute_id)
    if dispute is None or dispute.status == "final":
        return
    expected = dispute.version
    dispute.status, dispute.updated_at = "final", now
    dispute.extra = {**dispute.extra, "outcome": outcome}
    r.save(dispute, expected)
