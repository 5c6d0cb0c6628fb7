"""Messages on a case 协商记录: posted by its buyer, its merchant and customer service, read by
everyone who sees the case, each one an event on the case's timeline (a record of the case kind)
and carried into its disputes and its case file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..domain import messages as domain
from ..domain.actions import typed
from ..domain.disputes import Dispute
from ..domain.errors import Conflict, Forbidden, ValidationFailed
from ..domain.ids import new_id
from ..domain.roles import MERCHANT
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import cases, disputes, evidence
from .context import Actor, Env
from .pages import page
from .reads import Page
from .transitions import record, seen

POSTED = "message_posted"  # the case's record of a message (services/cases.CASE.records)


def post(
    uow: UnitOfWork, env: Env, actor: Actor, case_id: str, data: domain.NewMessage | Mapping[str, Any]
) -> dict[str, Any]:
    """Post a message on the case, citing evidence (which the case's parties may then read)."""
    args = typed(domain.NewMessage, data)
    case = cases.get(uow, actor, case_id)
    if actor.role not in domain.POSTERS:
        raise Forbidden("messages are posted by the case's buyer, its merchant and customer service")
    case = _locked(uow, case.id)
    if not domain.takes_messages(case.status, _dispute_statuses(uow, case.id)):
        raise Conflict(
            f"the case is {case.status} and no dispute about it is live: it takes no more messages",
            code="case_closed",
            current_status=case.status,
        )
    c = t.case_messages.c
    count = uow.execute(sa.select(sa.func.count()).where(c.after_sale_id == case.id)).scalar_one()
    if count >= domain.MESSAGES_PER_CASE:
        raise Conflict(f"a case takes at most {domain.MESSAGES_PER_CASE} messages", code="too_many_messages")
    body = args.body
    if args.template_id is not None:
        template = _template(uow, actor, args.template_id)
        body = body if body is not None and body.strip() else template["body"]
    body = domain.text(body, "body", domain.BODY_MAX)
    now = env.clock.now()
    read = seen(cases.CASE, case)
    cited = evidence.cite(uow, actor, case.id, list(args.evidence))
    case.evidence = list(dict.fromkeys([*case.evidence, *cited]))
    message = {
        "id": new_id("msg", now),
        "after_sale_id": case.id,
        "author_role": actor.role,
        "author_id": actor.id,
        "body": body,
        "evidence": cited,
        "template_id": args.template_id,
        "created_at": now,
    }
    event = {"message_id": message["id"], "body": body, "evidence": cited}
    if args.template_id:
        event["template_id"] = args.template_id
    record(uow, read, action=POSTED, actor=actor, now=now, data=event)
    uow.execute(t.case_messages.insert().values(**message))
    return message


def listing(
    uow: UnitOfWork, actor: Actor, case_id: str, *, cursor: str | None = None, limit: int = 50
) -> Page[dict[str, Any]]:
    """The case's messages, oldest first (the order they were posted), for whoever sees the case."""
    case = cases.get(uow, actor, case_id)
    rows, nxt = page(uow.conn, t.case_messages, [t.case_messages.c.after_sale_id == case.id], cursor, limit, False)
    return Page([dict(r._mapping) for r in rows], nxt)


def of_case(uow: UnitOfWork, case_id: str) -> list[dict[str, Any]]:
    """Every message of a case, oldest first: for a dispute's read and the case file (the caller
    has been shown to see the case)."""
    c = t.case_messages.c
    query = sa.select(t.case_messages).where(c.after_sale_id == case_id).order_by(c.created_at, c.id)
    return [dict(r._mapping) for r in uow.execute(query)]


def with_dispute(uow: UnitOfWork, actor: Actor, dispute_id: str) -> tuple[Dispute, list[dict[str, Any]]]:
    """A dispute the caller may see and its case's messages: the agent rules with the negotiation
    in view, including what was said after the dispute opened."""
    dispute = disputes.get(uow, actor, dispute_id)
    return dispute, of_case(uow, dispute.after_sale_id)


def _locked(uow: UnitOfWork, case_id: str) -> Any:
    """The case as committed now, its row held until the end of the transaction on PostgreSQL:
    posters queue behind each other instead of losing the case's compare-and-set (409). SQLite
    has no row locks and needs none here: its writers already queue (BEGIN IMMEDIATE)."""
    a = t.after_sales.c
    return uow.cases.load(uow.execute(sa.select(t.after_sales).where(a.id == case_id).with_for_update()).one())


def _dispute_statuses(uow: UnitOfWork, case_id: str) -> set[str]:
    d = t.disputes.c
    return set(uow.execute(sa.select(d.status).where(d.after_sale_id == case_id)).scalars())


def _template(uow: UnitOfWork, actor: Actor, template_id: str) -> dict[str, Any]:
    """The merchant's own quick reply; anyone else's (or a buyer's or an agent's try) is unknown."""
    r = t.reply_templates.c
    row = (
        uow.execute(sa.select(t.reply_templates).where(r.id == template_id, r.merchant_id == actor.merchant_id)).first()
        if actor.role == MERCHANT
        else None
    )
    if row is None:
        raise ValidationFailed(f"unknown reply template {template_id!r}", fields=["template_id"])
    return dict(row._mapping)
