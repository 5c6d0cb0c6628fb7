"""JSON representations of aggregates, with the actions the caller may take next."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.cases import CASE_MACHINE, Case
from ..domain.complaints import COMPLAINT_MACHINE, Complaint
from ..domain.disputes import DISPUTE_MACHINE, Dispute
from ..domain.machine import Machine
from ..domain.orders import ORDER_MACHINE, Order
from ..domain.reviews import REVIEW_MACHINE, Review
from ..services import parties
from ..services.context import Actor
from ..services.negotiation import EXTENSION, live_offer
from ..services.parties import Names
from ..store.unit_of_work import UnitOfWork


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def deadline(action: str | None, due_at: datetime | None) -> dict[str, Any] | None:
    return {"action": action, "due_at": iso(due_at)} if action and due_at else None


def shown(uow: UnitOfWork, view: Any, subject: Any, actor: Actor) -> dict[str, Any]:
    """`view` of one subject, with the names of its parties looked up."""
    return view(subject, actor, parties.names(uow, [subject]))


def _named(subject: Any, names: Names) -> dict[str, Any]:
    """The parties' names beside their ids: people read names (null: no profile yet)."""
    return {"buyer_name": names.buyer(subject.buyer_id), "merchant_name": names.merchant(subject.merchant_id)}


def order_view(o: Order, actor: Actor, names: Names) -> dict[str, Any]:
    return {
        "id": o.id,
        "buyer_id": o.buyer_id,
        "merchant_id": o.merchant_id,
        **_named(o, names),
        "payment_method": o.payment_method,
        "status": o.status,
        "currency": o.currency,
        "items": o.items,
        "goods_total": o.goods_total,
        "shipping_fee": o.shipping_fee,
        "discount": o.discount,
        "total": o.total,
        "paid_amount": o.paid_amount,
        "refunded_amount": o.refunded_amount,
        "open_after_sale_id": next(iter(o.open_case_ids), None),
        "open_after_sale_ids": o.open_case_ids,
        "policy": o.policy,
        "creator_id": o.creator_id,
        "carrier": o.carrier,
        "tracking_number": o.tracking_number,
        "cancel_reason": o.cancel_reason,
        "deadline": deadline(o.deadline_action, o.deadline_due_at),
        "version": o.version,
        "created_at": iso(o.created_at),
        "updated_at": iso(o.updated_at),
        "paid_at": iso(o.paid_at),
        "shipped_at": iso(o.shipped_at),
        "delivered_at": iso(o.delivered_at),
        "completed_at": iso(o.completed_at),
        "cancelled_at": iso(o.cancelled_at),
        "actions": _actions(ORDER_MACHINE, o, actor),
    }


def eligibility_view(e: dict[str, Any]) -> dict[str, Any]:
    return {**e, "window_ends_at": iso(e["window_ends_at"])}


def case_view(c: Case, actor: Actor, names: Names) -> dict[str, Any]:
    return {
        "id": c.id,
        "order_id": c.order_id,
        "buyer_id": c.buyer_id,
        "merchant_id": c.merchant_id,
        **_named(c, names),
        "type": c.type,
        "reason": c.reason,
        "status": c.status,
        "items": c.items,
        "amount": c.amount,
        "price_protection": c.extra.get("price_protection"),
        "currency": c.currency,
        "version": c.version,
        "policy": c.policy,
        "deadline": deadline(c.deadline_action, c.deadline_due_at),
        "description": c.description,
        "evidence": c.evidence,
        "payment_method": c.payment_method,
        "return_address": c.return_address,
        "return_address_id": c.return_address_id,
        "return_shipment": _shipment(c.return_carrier, c.return_tracking),
        "exchange_shipment": _shipment(c.exchange_carrier, c.exchange_tracking),
        "reject_reason": c.reject_reason,
        "reject_note": c.reject_note,
        # 协商: the partial refund the buyer is answering (amount, note, expires_at), and the
        # merchant's one extension of its deadline (hours, reason, from, to), if any.
        "offer": live_offer(c),
        "extension": c.extra.get(EXTENSION),
        "dispute_id": c.dispute_id,
        "ruled_amount": c.ruled_amount,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "closed_at": iso(c.closed_at),
        "actions": _actions(CASE_MACHINE, c, actor),
    }


def dispute_view(d: Dispute, actor: Actor, names: Names) -> dict[str, Any]:
    live = d.status in ("applied", "open", "under_review")
    return {
        "id": d.id,
        "kind": d.kind,
        "after_sale_id": d.after_sale_id,
        "order_id": d.order_id,
        "buyer_id": d.buyer_id,
        "merchant_id": d.merchant_id,
        **_named(d, names),
        "status": d.status,
        "opened_by": d.opened_by,
        "reason": d.reason,
        "policy": d.policy,
        "statements": d.statements,
        "assignee": d.assignee,
        # While open: the platform's own ruling SLA; once ruled: the appeal window.
        "deadline": deadline("platform_ruling", d.ruling_due_at)
        if live
        else deadline(d.deadline_action, d.deadline_due_at),
        "ruling_due_at": iso(d.ruling_due_at),
        "sla_breached": d.sla_breached,
        "evidence_due": d.evidence_due,
        "ruling": {
            "outcome": d.outcome,
            "amount": d.amount,
            "liable_party": d.liable_party,
            "rationale": d.rationale,
            "ruled_by": d.ruled_by,
            "ruled_at": iso(d.ruled_at),
        }
        if d.outcome
        else None,
        "negotiation": d.extra.get("negotiation", []),
        "actions": _actions(DISPUTE_MACHINE, d, actor),
        "version": d.version,
        "created_at": iso(d.created_at),
        "updated_at": iso(d.updated_at),
    }


def complaint_view(c: Complaint, actor: Actor, names: Names) -> dict[str, Any]:
    return {
        "id": c.id,
        "complainant": {"role": c.complainant_role, "id": c.complainant_id},
        "buyer_id": c.buyer_id,
        "merchant_id": c.merchant_id,
        **_named(c, names),
        "order_id": c.order_id,
        "dispute_id": c.dispute_id,
        "review_id": c.review_id,
        "category": c.category,
        "description": c.description,
        "evidence": c.evidence,
        "status": c.status,
        "policy": c.policy,
        "reply": c.reply,
        "solution": c.solution,
        "decision": c.decision,
        "rationale": c.rationale,
        "decided_by": c.decided_by,
        "review_breached": c.review_breached,
        "deadline": deadline(c.deadline_action, c.deadline_due_at),
        "version": c.version,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "actions": _actions(COMPLAINT_MACHINE, c, actor),
    }


def review_view(r: Review, actor: Actor, names: Names) -> dict[str, Any]:
    return {
        "id": r.id,
        "order_id": r.order_id,
        "buyer_id": r.buyer_id,
        "merchant_id": r.merchant_id,
        **_named(r, names),
        "rating": r.rating,
        "text": r.text,
        "evidence": r.evidence,
        "status": r.status,
        "policy": r.policy,
        "reply": r.reply,
        "replied_by": r.replied_by,
        "version": r.version,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "actions": _actions(REVIEW_MACHINE, r, actor),
    }


def row_view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in row.items()}


def event_view(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "action": e.action,
        "actor": {"role": e.actor_role, "id": e.actor_id},
        "at": iso(e.at),
        "before": e.before,
        "after": e.after,
        "data": e.data,
        "deadline_id": e.deadline_id,
    }


def _shipment(carrier: str | None, tracking: str | None) -> dict[str, str] | None:
    return {"carrier": carrier, "tracking_number": tracking} if carrier and tracking else None


def _actions(machine: Machine, subject: Any, actor: Actor) -> list[str]:
    """What this caller may do next: the URL segment it posts to, or the name of an action posted
    on another resource (`appeal`, `decide`); actions only other use cases take are not offered."""
    specs = machine.specs
    return [
        specs[a].segment if specs[a].posted else a.replace("_", "-")
        for a in machine.allowed_actions(subject, actor.role, actor)
        if not specs[a].internal
    ]
