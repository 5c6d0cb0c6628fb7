"""Reviews 评价: the buyer reviews a completed order once, the merchant replies once; both texts
checked against the review rules (policies/review_rules.toml) before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..domain import reviews as domain
from ..domain.actions import typed
from ..domain.errors import Conflict, Forbidden, IllegalTransition, NotFound
from ..domain.ids import new_id
from ..domain.reviews import REVIEW_MACHINE, Review
from ..domain.roles import BUYER
from ..policies import review_rules
from ..store import tables as t
from ..store.repositories import Repo
from ..store.unit_of_work import UnitOfWork
from . import evidence
from .context import Actor, Env, scope, visible
from .transitions import Kind, apply, creation

REVIEW = Kind(
    name="review",
    machine=REVIEW_MACHINE,
    deadlines={},
    snapshot_fields=("status", "deadline_action", "deadline_due_at"),
    created_by="post",
    repo=lambda uow: repo(uow),
)


def repo(uow: UnitOfWork) -> Repo[Review]:
    return Repo(uow.conn, t.reviews, Review)


def post(uow: UnitOfWork, env: Env, actor: Actor, data: domain.NewReview | Mapping[str, Any]) -> Review:
    """The buyer reviews one of their orders: completed, within the review window, not reviewed
    yet, and saying nothing the rules forbid. Refused, nothing is written."""
    args = typed(domain.NewReview, data)
    if actor.role != BUYER:
        raise Forbidden("only the buyer reviews an order")
    order = visible(uow.orders.get(args.order_id), actor, "order")
    now = env.clock.now()
    policy = env.policy(order.policy)
    domain.check_reviewable(order, now, policy.timer("review_window"))
    existing = _of_order(uow, order.id)
    if existing is not None:
        raise _exists(existing)
    domain.check_content(args.text, review_rules())
    review = Review(
        id=new_id("rv", now),
        order_id=order.id,
        buyer_id=order.buyer_id,
        merchant_id=order.merchant_id,
        rating=args.rating,
        text=args.text,
        status="posted",
        policy=order.policy,
        created_at=now,
        updated_at=now,
        evidence=evidence.check(uow, actor, list(args.evidence)),
    )
    _insert(uow, review)
    creation(
        uow,
        REVIEW,
        review,
        actor,
        now,
        {"order_id": review.order_id, "rating": review.rating, "text": review.text, "evidence": review.evidence},
    )
    return review


def _insert(uow: UnitOfWork, review: Review) -> None:
    """Insert the review and its photos. A racing first review of the same order committed since
    the check above loses on the unique order_id: inside a savepoint, so the refusal is a clean
    `review_exists` on PostgreSQL too (whose transaction would otherwise be aborted)."""
    try:
        with uow.conn.begin_nested():
            repo(uow).insert(review)
    except sa.exc.IntegrityError:
        existing = _of_order(uow, review.order_id)
        if existing is None:
            raise
        raise _exists(existing) from None
    if review.evidence:
        uow.execute(t.review_photos.insert(), [{"evidence_id": e, "review_id": review.id} for e in review.evidence])


def _of_order(uow: UnitOfWork, order_id: str) -> Review | None:
    found = repo(uow).find(t.reviews.c.order_id == order_id)
    return found[0] if found else None


def _exists(review: Review) -> Conflict:
    return Conflict(f"order {review.order_id} is reviewed already", code="review_exists", review_id=review.id)


def get(uow: UnitOfWork, actor: Actor, review_id: str) -> Review:
    """A review its buyer, its shop and the platform's people (and the marketplace) may read."""
    found = repo(uow).get(review_id)
    if found is None:
        raise NotFound("review not found")
    return visible(found, actor, "review")


def listing_filters(actor: Actor, **filters: str | None) -> list[Any]:
    return scope(actor, t.reviews.c, **filters)


def act(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    review_id: str,
    action: str,
    inputs: Any = None,
    *,
    if_match: int | None = None,
    deadline_id: int | None = None,
) -> Review:
    """Take `action` (the merchant's reply) on the review: once, and within the rules."""
    review = get(uow, actor, review_id)
    spec = REVIEW_MACHINE.specs[action]
    typed_inputs = spec.typed(inputs)
    try:
        REVIEW_MACHINE.resolve(review, action, actor.role, actor)
    except IllegalTransition:
        if action == "reply":
            raise Conflict("the merchant replies to a review once", code="reply_used") from None
        raise
    if action == "reply":
        domain.check_content(typed_inputs.reply, review_rules(), what="reply")
    apply(uow, env, actor, REVIEW, review, action, typed_inputs, if_match=if_match, deadline_id=deadline_id)
    return review
