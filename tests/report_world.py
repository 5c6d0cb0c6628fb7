"""A small known dataset for the after-sales figures (services/reports.py), written as rows at
fixed times before `now`, so every count, rate and median has one right answer.

Shop m-1 (茶叶铺) in the last 30 days, each order paid ¥100.00:
  c1 damaged       filed now-10d, first merchant event +1h, refund ¥50 succeeded
  c2 damaged       filed now-9d,  first merchant event +3h (a message), refund ¥30 pending, ¥10 failed
  c3 not_received  filed now-5d,  first merchant event +4h, refund ¥100, dispute ruled: merchant liable
  c4 not_received  filed now-2d+20h (22:00 UTC, the next morning in Shanghai), never answered
  old damaged      filed now-40d (outside every period), refund ¥99.99
Shop m-2 (no profile): c5 damaged filed now-3d, answered +10h, refund ¥20, dispute ruled late: buyer liable.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from aftersales.store import tables as t

H, D = timedelta(hours=1), timedelta(days=1)
PAID = 10000


def load(engine: sa.Engine, now: datetime) -> dict[str, datetime]:
    """Writes the dataset; returns when each case was filed."""
    filed = {
        "c1": now - 10 * D,
        "c2": now - 9 * D,
        "c3": now - 5 * D,
        "c4": now - 2 * D + 20 * H,  # 22:00 UTC: the next day in Shanghai
        "c5": now - 3 * D,
        "old": now - 40 * D,
    }
    shop = {"c5": "m-2"}
    reason = {"c1": "damaged", "c2": "damaged", "c3": "not_received", "c4": "not_received", "c5": "damaged"}
    with engine.begin() as conn:
        conn.execute(
            sa.insert(t.merchants),
            [dict(id="m-1", name="茶叶铺", timezone="Asia/Shanghai", created_at=now, updated_at=now)],
        )
        for cid, at in filed.items():
            merchant = shop.get(cid, "m-1")
            conn.execute(sa.insert(t.orders), [_order(f"o-{cid}", merchant, at - H)])
            conn.execute(sa.insert(t.after_sales), [_case(cid, merchant, reason.get(cid, "damaged"), at)])
            conn.execute(sa.insert(t.events), [_event(cid, "file", "buyer", at)])
        answers = {"c1": (1, "approve"), "c2": (3, "message_posted"), "c3": (4, "reject"), "c5": (10, "approve")}
        for cid, (hours, action) in answers.items():
            conn.execute(sa.insert(t.events), [_event(cid, action, "merchant", filed[cid] + hours * H)])
        conn.execute(sa.insert(t.events), [_event("c2", "approve", "merchant", filed["c2"] + 5 * H)])
        refunds = [("c1", 5000, "succeeded"), ("c2", 3000, "pending"), ("c2", 1000, "failed")]
        refunds += [("c3", 10000, "succeeded"), ("c5", 2000, "succeeded"), ("old", 9999, "succeeded")]
        for i, (cid, amount, status) in enumerate(refunds):
            conn.execute(
                sa.insert(t.refunds), [_refund(f"rf-{i}", cid, shop.get(cid, "m-1"), amount, status, filed[cid])]
            )
        # Disputes: in time, late, past due unruled, not yet due, and one long ago.
        disputes = [
            ("d1", "c3", "ruled", now - 5 * D + 5 * H, now - 3 * D, now - 4 * D, "merchant", False),
            ("d2", "c5", "ruled", now - 3 * D + 1 * H, now - 2 * D, now - 1 * D, "buyer", True),
            ("d3", "c2", "under_review", now - 4 * D, now - 1 * H, None, None, False),
            ("d4", "c1", "open", now - 1 * D, now + 2 * D, None, None, False),
            ("d5", "old", "final", now - 39 * D, now - 38 * D, now - 38 * D, "merchant", False),
        ]
        for did, cid, status, opened, due, ruled, liable, breached in disputes:
            conn.execute(
                sa.insert(t.disputes),
                [_dispute(did, cid, shop.get(cid, "m-1"), status, opened, due, ruled, liable, breached)],
            )
        complaints = [("k1", "decided", False), ("k2", "under_review", True), ("k3", "awaiting_reply", False)]
        for kid, status, breached in complaints:
            conn.execute(sa.insert(t.complaints), [_complaint(kid, status, breached, now - 6 * D)])
    return filed


def _order(oid: str, merchant: str, at: datetime) -> dict[str, Any]:
    return dict(
        id=oid, buyer_id="b-1", merchant_id=merchant, payment_method="online", currency="CNY", shipping_fee=0,
        items=[], goods_total=PAID, status="delivered", policy="douyin@1", paid_amount=PAID, version=1,
        created_at=at, updated_at=at,
    )  # fmt: skip


def _case(cid: str, merchant: str, reason: str, at: datetime) -> dict[str, Any]:
    return dict(
        id=cid, order_id=f"o-{cid}", buyer_id="b-1", merchant_id=merchant, payment_method="online",
        type="refund_only", reason=reason, amount=PAID, currency="CNY", status="pending_merchant",
        policy="douyin@1", version=1, created_at=at, updated_at=at,
    )  # fmt: skip


def _event(cid: str, action: str, role: str, at: datetime) -> dict[str, Any]:
    actor = {"merchant": "m-1-staff", "buyer": "b-1"}[role]
    return dict(subject_kind="after_sale", subject_id=cid, action=action, actor_role=role, actor_id=actor, at=at)


def _refund(rid: str, cid: str, merchant: str, amount: int, status: str, at: datetime) -> dict[str, Any]:
    return dict(
        id=rid, order_id=f"o-{cid}", after_sale_id=cid, buyer_id="b-1", merchant_id=merchant, amount=amount,
        currency="CNY", payer="platform", method="original", status=status, created_at=at + 6 * H,
    )  # fmt: skip


def _dispute(did: str, cid: str, merchant: str, status: str, opened: datetime, due: datetime,
             ruled: datetime | None, liable: str | None, breached: bool) -> dict[str, Any]:  # fmt: skip
    return dict(
        id=did, after_sale_id=cid, order_id=f"o-{cid}", buyer_id="b-1", merchant_id=merchant, kind="intervention",
        status=status, policy="douyin@1", opened_by="buyer", ruling_due_at=due, ruled_at=ruled, liable_party=liable,
        outcome="refund" if ruled else None, sla_breached=breached, version=1, created_at=opened, updated_at=opened,
    )  # fmt: skip


def _complaint(kid: str, status: str, breached: bool, at: datetime) -> dict[str, Any]:
    return dict(
        id=kid, complainant_role="buyer", complainant_id="b-1", buyer_id="b-1", merchant_id="m-1",
        category="service_attitude", description="…", status=status, policy="douyin@1", review_breached=breached,
        version=1, created_at=at, updated_at=at,
    )  # fmt: skip
