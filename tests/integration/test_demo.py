"""The demo marketplace `make run` loads: every order status, cases at every step, the
platform's half, and loading twice writes nothing more."""

import sqlalchemy as sa

from aftersales import demo
from aftersales.domain.orders import STATUSES as ORDER_STATUSES
from aftersales.store import tables as t


def _count(runtime, table, column):
    with runtime.engine.connect() as conn:
        return dict(conn.execute(sa.select(column, sa.func.count()).group_by(column)).all())


def test_the_demo_shows_every_order_status_and_every_step_of_a_case(runtime):
    assert demo.load(runtime) is True
    assert set(_count(runtime, t.orders, t.orders.c.status)) == set(ORDER_STATUSES)
    case_statuses = set(_count(runtime, t.after_sales, t.after_sales.c.status))
    assert {
        "pending_merchant",
        "awaiting_buyer",
        "awaiting_return",
        "return_shipped",
        "awaiting_refund_voucher",
        "rejected",
        "in_intervention",
        "refunded",
        "closed",
        "reshipped",
    } <= case_statuses
    types = set(_count(runtime, t.after_sales, t.after_sales.c.type))
    assert {"reship", "price_protection"} <= types
    with runtime.engine.connect() as conn:
        extras = [r[0] for r in conn.execute(sa.select(t.after_sales.c.extra))]
    assert any("speedy_refund" in e for e in extras)  # a return refunded as it shipped back
    with runtime.engine.connect() as conn:
        actions = {
            r[0] for r in conn.execute(sa.select(t.events.c.action).where(t.events.c.subject_kind == "after_sale"))
        }
    assert {"offer", "extend"} <= actions  # one case awaits the buyer's answer, one was extended
    assert set(_count(runtime, t.disputes, t.disputes.c.status)) == {"open", "appealed"}
    assert _count(runtime, t.complaints, t.complaints.c.status) == {"awaiting_reply": 1}
    # A negotiation 协商记录 on a case, the shop answering from its quick replies 话术.
    assert _count(runtime, t.case_messages, t.case_messages.c.author_role) == {"buyer": 1, "merchant": 1}
    assert _count(runtime, t.reply_templates, t.reply_templates.c.merchant_id) == {"m-1": 2}
    assert _count(runtime, t.reviews, t.reviews.c.status) == {"posted": 2, "replied": 1}
    with runtime.engine.connect() as conn:
        descriptions = [r[0] for r in conn.execute(sa.select(t.after_sales.c.description))]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in d) for d in descriptions)  # in Chinese


def test_loading_the_demo_twice_writes_nothing_more(runtime):
    demo.load(runtime)
    before = _count(runtime, t.events, t.events.c.subject_kind)
    assert demo.load(runtime) is False
    assert _count(runtime, t.events, t.events.c.subject_kind) == before


def test_the_demo_parties_have_chinese_names_local_time_and_return_address_books(runtime):
    demo.load(runtime)
    with runtime.engine.connect() as conn:
        shops = {r.id: r for r in conn.execute(sa.select(t.merchants))}
        buyers = dict(conn.execute(sa.select(t.buyers.c.id, t.buyers.c.display_name)).all())
        approved = conn.execute(
            sa.select(t.after_sales.c.merchant_id, t.after_sales.c.return_address_id).where(
                t.after_sales.c.return_address.is_not(None)
            )
        ).all()
    assert set(shops) == {"m-1", "m-2", "m-3"} and set(buyers) == {"b-1", "b-2", "b-3", "b-4"}
    assert all(s.timezone == "Asia/Shanghai" and s.return_addresses for s in shops.values())
    assert all(
        any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in [*buyers.values(), *(s.name for s in shops.values())]
    )
    # Every approval with goods coming back names an address of its shop's book.
    assert approved and all(
        any(a["id"] == address_id for a in shops[merchant_id].return_addresses) for merchant_id, address_id in approved
    )
