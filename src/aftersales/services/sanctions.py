"""A merchant's standing: active points against the policy's escalating thresholds, and
warnings or penalties an agent records by hand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..domain.actions import typed
from ..domain.errors import Forbidden, ValidationFailed
from ..domain.roles import PLATFORM
from ..domain.sanctions import KINDS, NewViolation, check_violation
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
    uow: UnitOfWork, env: Env, actor: Actor, merchant_id: str, data: NewViolation | Mapping[str, Any]
) -> dict[str, Any]:
    """警示 / 处罚 an agent decides on (e.g. after a merchant will not cooperate)."""
    args = typed(NewViolation, data)
    if actor.role not in PLATFORM:
        raise Forbidden("violations are recorded by platform agents")
    if args.kind not in KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(KINDS)}", fields=["kind"])
    check_violation(args.kind, args.points, args.amount, args.currency)
    row = refunds.record_violation(
        uow,
        merchant_id=merchant_id,
        kind=args.kind,
        points=args.points,
        cause=args.cause,
        now=env.clock.now(),
        after_sale_id=args.after_sale_id,
        amount=args.amount,
        currency=args.currency,
    )
    uow.events.record(
        kind="merchant",
        subject_id=merchant_id,
        action=f"violation_{args.kind}",
        actor_role=actor.role,
        actor_id=actor.id,
        at=env.clock.now(),
        before=None,
        after=None,
        data={"violation_id": row["id"], "cause": row["cause"], "points": row["points"]},
        meta={"merchant_id": merchant_id},
    )
    return row
