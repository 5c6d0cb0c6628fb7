"""A merchant's standing: active points against the policy's escalating thresholds, and
warnings or penalties an agent records by hand."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..domain.errors import Forbidden
from ..domain.roles import PLATFORM
from ..domain.sanctions import check_violation
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import refunds
from .context import Actor, Env


def standing(uow: UnitOfWork, env: Env, merchant_id: str) -> dict[str, Any]:
    v = t.violations.c
    points = uow.execute(
        sa.select(sa.func.coalesce(sa.func.sum(v.points), 0)).where(v.merchant_id == merchant_id, v.status == "active")
    ).scalar_one()
    policy = env.policy(env.default_policy)
    return {
        "merchant_id": merchant_id,
        "active_points": int(points),
        "policy": policy.key,
        "restrictions": policy.restrictions_at(int(points)),
        "thresholds": [{"points": p, "restriction": r} for p, r in policy.sanctions],
    }


def record_by_agent(
    uow: UnitOfWork, env: Env, actor: Actor, merchant_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """警示 / 处罚 an agent decides on (e.g. after a merchant will not cooperate)."""
    if actor.role not in PLATFORM:
        raise Forbidden("violations are recorded by platform agents")
    check_violation(params["kind"], params.get("points") or 0, params.get("amount"), params.get("currency"))
    row = refunds.record_violation(
        uow,
        merchant_id=merchant_id,
        kind=params["kind"],
        points=params.get("points") or 0,
        cause=params["cause"],
        now=env.clock.now(),
        after_sale_id=params.get("after_sale_id"),
        amount=params.get("amount"),
        currency=params.get("currency"),
    )
    uow.events.record(
        kind="merchant",
        subject_id=merchant_id,
        action=f"violation_{params['kind']}",
        actor_role=actor.role,
        actor_id=actor.id,
        at=env.clock.now(),
        before=None,
        after=None,
        data={"violation_id": row["id"], "cause": row["cause"], "points": row["points"]},
    )
    return row
