"""What the marketplace hears: every event's message names its subject, version, actor, shop,
policy and next deadline; order-side changes a case makes are order events too."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from aftersales.integrations import envelope
from aftersales.store import tables as t
from builders import World


@pytest.fixture
def w(runtime, clock) -> World:
    return World(runtime, clock)


def _messages(w: World) -> list[envelope.Message]:
    with w.runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(t.outbox.c.topic, t.outbox.c.payload).order_by(t.outbox.c.id))
        return [envelope.from_outbox(topic, payload) for topic, payload in rows]


def _about(messages: list[envelope.Message], subject: str) -> list[dict[str, Any]]:
    return [m.data | {"type": m.type} for m in messages if m.subject == subject]


def test_a_case_s_messages_carry_its_shop_version_policy_and_next_deadline(w: World) -> None:
    case = w.case()  # a return request, filed by b-1 on m-1's delivered order
    done = w.walk(case, "approve", "ship_return", "confirm_receipt")
    seen = _about(_messages(w), f"after_sale:{case.id}")
    assert [m["type"] for m in seen] == [
        "after_sale.created",
        "after_sale.approved",
        "after_sale.return_shipped",
        "after_sale.receipt_confirmed",
    ]
    assert [m["version"] for m in seen] == [1, 2, 3, 4] and done.version == 4
    assert {(m["merchant_id"], m["buyer_id"], m["policy"]) for m in seen} == {("m-1", "b-1", case.policy)}
    created, approved = seen[0], seen[1]
    assert created["actor"] == {"role": "buyer", "id": "b-1"}
    assert created["next_deadline"]["action"] == "auto_approve"
    approved_case = approved["after"]
    assert approved["next_deadline"] == {
        "action": approved_case["deadline_action"],
        "due_at": approved_case["deadline_due_at"],
    }
    assert approved["next_deadline"]["action"] == "auto_close"  # the buyer's 7 days to ship back
    assert seen[-1]["next_deadline"] is None and seen[-1]["after"]["status"] == "refunded"


def test_the_order_side_of_a_case_is_heard_as_order_events(w: World) -> None:
    case = w.case()
    w.walk(case, "approve", "ship_return", "confirm_receipt")
    order_types = [m["type"] for m in _about(_messages(w), f"order:{case.order_id}")]
    assert order_types[-3:] == ["order.after_sale_opened", "order.refunded", "order.after_sale_closed"]


def test_every_change_to_an_order_is_an_order_event(w: World) -> None:
    """The order's version counts its changes; each must have been told (an event each)."""
    case = w.case()
    w.walk(case, "approve", "ship_return", "confirm_receipt")
    second = w.case(w.order())
    w.act(second.id, "reject", {"reason": "no_quality_issue", "note": "works as described"})
    for order_id in {case.order_id, second.order_id}:
        order = w.get_order(order_id)
        messages = _about(_messages(w), f"order:{order_id}")
        assert [m["version"] for m in messages] == list(range(1, order.version + 1))


def test_deadlines_fired_in_a_batch_carry_the_same(w: World) -> None:
    """The engine writes a batch's events in one statement (store/bulk.py on PostgreSQL)."""
    filed = [w.case() for _ in range(3)]  # returns: approval only arms the next timer
    w.advance(hours=48)
    messages = _messages(w)
    for case in filed:
        lapsed = _about(messages, f"after_sale:{case.id}")[-1]
        assert lapsed["type"] == "after_sale.auto_approved" and lapsed["actor"]["role"] == "system"
        assert (lapsed["merchant_id"], lapsed["policy"], lapsed["version"]) == ("m-1", case.policy, 2)
