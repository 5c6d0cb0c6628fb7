"""The case file 案件档案: everything about one after-sales case, for consumer associations,
regulators or legal aid, as JSON a machine can verify (and the PDF rendered from it).

Verifying a file: take the JSON, remove its `integrity` member, serialise the rest with sorted
keys, separators `(",", ":")` and `ensure_ascii=False`, encode as UTF-8, and compare the SHA-256
hex digest with `integrity.digest`. Each evidence entry carries the SHA-256 of its file, so the
files handed over beside it can be checked one by one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import __version__
from ..domain.cases import Case
from ..domain.errors import Forbidden
from ..domain.roles import PARTIES, PLATFORM
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import cases, messages, parties
from .context import Actor, Env

MAY_EXPORT = frozenset({*PARTIES, *PLATFORM})


def build(uow: UnitOfWork, env: Env, actor: Actor, case_id: str) -> dict[str, Any]:
    if actor.role not in MAY_EXPORT:
        raise Forbidden("case files are for the parties and the platform")
    case = cases.get(uow, actor, case_id)
    order = uow.orders.get(case.order_id)
    assert order is not None
    dispute_rows = _rows(uow, t.disputes, t.disputes.c.after_sale_id == case.id, t.disputes.c.created_at)
    dispute_ids = [d["id"] for d in dispute_rows]
    body = {
        "format": "aftersales.case-file/1",
        "order": _plain(order.__dict__, drop={"extra", "units", "deadline_action", "deadline_due_at"}),
        "case": _plain(case.__dict__, drop={"extra"}),
        "parties": _parties(uow, case),
        "timeline": _timeline(
            uow, [("order", order.id), ("after_sale", case.id), *(("dispute", d) for d in dispute_ids)]
        ),
        "disputes": [
            _plain(d, drop={"extra"}) | {"negotiation": d["extra"].get("negotiation", [])} for d in dispute_rows
        ],
        # The negotiation record 协商记录, oldest first.
        "messages": [_plain(m) for m in messages.of_case(uow, case.id)],
        "appeals": _rows(uow, t.appeals, t.appeals.c.dispute_id.in_(dispute_ids), t.appeals.c.created_at),
        "evidence": _evidence(uow, case.id),
        "refunds": _rows(uow, t.refunds, t.refunds.c.after_sale_id == case.id, t.refunds.c.created_at),
        "violations": _rows(uow, t.violations, t.violations.c.after_sale_id == case.id, t.violations.c.created_at),
    }
    body["integrity"] = {
        "algorithm": "sha256",
        "digest": digest(body),
        "generated_at": env.clock.now().isoformat(),
        "generated_for": {"role": actor.role, "id": actor.id},
        "generator": f"aftersales {__version__}",
    }
    return body


def digest(body: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of everything but `integrity`."""
    payload = {k: v for k, v in body.items() if k != "integrity"}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _parties(uow: UnitOfWork, case: Case) -> dict[str, Any]:
    """Who the buyer and the merchant are by name (null: no profile), beside their ids."""
    names = parties.names(uow, [case])
    merchant = parties.merchant_profile(uow, case.merchant_id)
    return {
        "buyer": {"id": case.buyer_id, "display_name": names.buyer(case.buyer_id)},
        "merchant": {
            "id": case.merchant_id,
            "name": names.merchant(case.merchant_id),
            "timezone": merchant.timezone if merchant else None,
        },
    }


def _timeline(uow: UnitOfWork, subjects: list[tuple[str, str]]) -> list[dict[str, Any]]:
    e = t.events.c
    where = sa.or_(*(sa.and_(e.subject_kind == kind, e.subject_id == sid) for kind, sid in subjects))
    rows = uow.execute(sa.select(t.events).where(where).order_by(e.at, e.id))
    return [_plain(dict(r._mapping)) for r in rows]


def _evidence(uow: UnitOfWork, case_id: str) -> list[dict[str, Any]]:
    ev, link = t.evidence.c, t.evidence_links.c
    rows = uow.execute(
        sa.select(ev.id, ev.kind, ev.media_type, ev.size, ev.sha256, ev.uploader_role, ev.filename, ev.created_at)
        .join(t.evidence_links, link.evidence_id == ev.id)
        .where(link.after_sale_id == case_id)
        .order_by(ev.created_at, ev.id)
    )
    return [_plain(dict(r._mapping)) for r in rows]


def _rows(uow: UnitOfWork, table: sa.Table, where: Any, order: Any) -> list[dict[str, Any]]:
    return [_plain(dict(r._mapping)) for r in uow.execute(sa.select(table).where(where).order_by(order, table.c.id))]


def _plain(values: dict[str, Any], drop: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items() if k not in drop}
