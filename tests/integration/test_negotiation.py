"""协商 and 延长时效 through the services: partial-refund offers and the buyer's answer, the
merchant's clock paused meanwhile, its one extension, refunds without the goods back and the
reject-reason catalogue. Timers checked just short of and just past their deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.errors import (
    AmountExceedsRefundable,
    Conflict,
    DeadlinePassed,
    IllegalTransition,
    ValidationFailed,
)
from aftersales.services import audit
from aftersales.services.reminders import REMINDED  # reminders are system events too, not firings
from builders import World

H = timedelta(hours=1)


def _offered(w: World, amount: int = 5000, method: str = "online", policy: str | None = None):
    case = w.case(w.order(method, policy=policy))
    return w.act(case.id, "offer", {"amount": amount, "note": "部分退款"})


def _problems(runtime) -> list[str]:
    with runtime.uow() as uow:
        return audit.verify_all(uow)


def test_an_offer_waits_for_the_buyer_and_shows_on_the_case_and_its_timeline(runtime, clock):
    w = World(runtime, clock)
    case = _offered(w)
    assert case.status == "awaiting_buyer"
    assert (case.deadline_action, case.deadline_due_at) == ("offer_lapsed", clock.now() + 48 * H)
    offer = w.events(case.id)[-1]
    assert (offer.action, offer.data["amount"], offer.data["amount_asked"]) == ("offer", 5000, 19800)
    assert case.amount == 19800  # the request's amount is the buyer's until accepted
    assert _problems(runtime) == []


def test_accepting_refunds_the_offered_amount_online_and_the_case_amount_becomes_it(runtime, clock):
    w = World(runtime, clock)
    case = w.act(_offered(w).id, "accept_offer")
    assert (case.status, case.amount) == ("refunded", 5000)
    assert [(r.amount, r.method) for r in w.refunds(after_sale_id=case.id)] == [(5000, "original_payment")]
    assert w.get_order(case.order_id).refunded_amount == 5000
    assert w.events(case.id)[-1].data["amount_asked"] == 19800
    assert _problems(runtime) == []


def test_accepting_on_cod_owes_a_voucher_for_the_offered_amount(runtime, clock):
    w = World(runtime, clock)
    case = w.act(_offered(w, method="cod").id, "accept_offer")
    assert (case.status, case.amount, case.deadline_action) == ("awaiting_refund_voucher", 5000, "advance_compensation")
    assert w.refunds(after_sale_id=case.id) == []


@pytest.mark.parametrize("amount", [0, -1, 19801])
def test_an_offer_must_be_positive_and_within_the_request(runtime, clock, amount):
    w = World(runtime, clock)
    case = w.case()
    with pytest.raises(ValidationFailed) as refused:
        w.act(case.id, "offer", {"amount": amount})
    assert isinstance(refused.value, AmountExceedsRefundable) == (amount > 0)
    assert w.get_case(case.id).status == "pending_merchant"


def test_past_the_policy_cap_an_offer_is_offer_limit_reached(runtime, clock):
    w = World(runtime, clock)
    case = w.case()
    for _ in range(3):  # douyin@1: three offers
        w.act(case.id, "offer", {"amount": 5000})
        w.act(case.id, "decline_offer")
    with pytest.raises(Conflict) as refused:
        w.act(case.id, "offer", {"amount": 4000})
    assert refused.value.code == "offer_limit_reached"
    tiktok = _offered(w, policy="tiktok_shop@1")
    w.act(tiktok.id, "decline_offer")
    with pytest.raises(Conflict, match="1 offers"):
        w.act(tiktok.id, "offer", {"amount": 4000})


def test_a_declined_offer_gives_the_merchant_back_only_the_time_it_had_left(runtime, clock):
    w = World(runtime, clock)
    case = w.case()
    clock.advance(10 * H)  # 38 h left
    w.act(case.id, "offer", {"amount": 5000})
    clock.advance(30 * H)  # the buyer thinks it over; the merchant's clock waits
    case = w.act(case.id, "decline_offer")
    assert (case.status, case.deadline_action) == ("pending_merchant", "auto_approve")
    assert case.deadline_due_at == clock.now() + 38 * H
    assert [d.due_at for d in w.deadlines(case.id)] == [case.deadline_due_at]
    assert w.advance(hours=38, seconds=-1) == 0
    assert w.get_case(case.id).status == "pending_merchant"
    assert w.advance(seconds=1) == 1
    assert w.get_case(case.id).status == "awaiting_return"  # auto_approve of a return
    assert _problems(runtime) == []


def test_an_unanswered_offer_lapses_at_its_deadline_back_to_the_merchant(runtime, clock):
    w = World(runtime, clock)
    case = w.case()
    clock.advance(47 * H)  # one hour left for the merchant
    w.act(case.id, "offer", {"amount": 5000})
    assert w.advance(hours=48, seconds=-1) == 0
    assert w.get_case(case.id).status == "awaiting_buyer"
    assert w.advance(seconds=1) == 1
    case = w.get_case(case.id)
    assert (case.status, case.deadline_due_at) == ("pending_merchant", clock.now() + H)
    assert [e.action for e in w.events(case.id) if e.actor_role == "system" and e.action != REMINDED] == [
        "offer_lapsed"
    ]
    with pytest.raises(IllegalTransition):  # the offer is gone with the buyer's window
        w.act(case.id, "accept_offer")
    w.advance(hours=1)
    assert w.get_case(case.id).status == "awaiting_return"
    assert _problems(runtime) == []


def test_the_buyer_answering_after_the_offer_lapsed_is_refused_before_any_worker_fires(runtime, clock):
    w = World(runtime, clock)
    case = _offered(w)
    clock.advance(48 * H)
    with pytest.raises(DeadlinePassed):
        w.act(case.id, "accept_offer")
    assert w.refunds(after_sale_id=case.id) == []


def test_an_extension_moves_the_deadline_once_within_the_policy(runtime, clock):
    w = World(runtime, clock)
    case = w.case()
    due = case.deadline_due_at
    clock.advance(5 * H)
    with pytest.raises(ValidationFailed) as too_long:
        w.act(case.id, "extend", {"hours": 73, "reason": "等待质检"})
    assert too_long.value.code == "extension_out_of_bounds"
    with pytest.raises(ValidationFailed):
        w.act(case.id, "extend", {"hours": 0, "reason": "等待质检"})
    case = w.act(case.id, "extend", {"hours": 72, "reason": "等待质检"})
    assert (case.status, case.deadline_action, case.deadline_due_at) == (
        "pending_merchant",
        "auto_approve",
        due + 72 * H,
    )
    event = w.events(case.id)[-1]
    assert (event.action, event.data["due_at_before"], event.data["due_at_after"]) == (
        "extend",
        due.isoformat(),
        (due + 72 * H).isoformat(),
    )
    with pytest.raises(Conflict) as again:
        w.act(case.id, "extend", {"hours": 1, "reason": "再延长"})
    assert again.value.code == "extension_used"
    assert [d.due_at for d in w.deadlines(case.id)] == [due + 72 * H]
    assert _problems(runtime) == []


def test_the_extended_deadline_fires_at_its_new_time_not_the_old(runtime, clock):
    w = World(runtime, clock)
    case = w.case(type_="refund_only")
    w.act(case.id, "extend", {"hours": 24, "reason": "等待物流核实"})
    assert w.advance(hours=48) == 0
    assert w.advance(hours=24, seconds=-1) == 0
    assert w.get_case(case.id).status == "pending_merchant"
    assert w.advance(seconds=1) == 1
    assert w.get_case(case.id).status == "refunded"


def test_an_extension_survives_a_declined_offer(runtime, clock):
    w = World(runtime, clock)
    case = w.case()
    w.act(case.id, "extend", {"hours": 24, "reason": "等待质检"})  # 72 h left
    clock.advance(2 * H)
    w.act(case.id, "offer", {"amount": 5000})
    clock.advance(40 * H)
    case = w.act(case.id, "decline_offer")
    assert case.deadline_due_at == clock.now() + 70 * H
    with pytest.raises(Conflict, match="extended already"):
        w.act(case.id, "extend", {"hours": 1, "reason": "再延长"})


def test_the_merchant_may_extend_its_receipt_confirmation_too(runtime, clock):
    w = World(runtime, clock)
    case = w.walk(w.case(), "approve", "ship_return")
    due = case.deadline_due_at
    case = w.act(case.id, "extend", {"hours": 48, "reason": "退货尚在途中"})
    assert (case.status, case.deadline_action, case.deadline_due_at) == (
        "return_shipped",
        "auto_confirm_receipt",
        due + 48 * H,
    )


def test_tiktok_shop_allows_no_extension(runtime, clock):
    w = World(runtime, clock)
    case = w.case(w.order(policy="tiktok_shop@1"))
    with pytest.raises(ValidationFailed, match="1 to 0 hours"):
        w.act(case.id, "extend", {"hours": 1, "reason": "等待质检"})


@pytest.mark.parametrize("method,status", [("online", "refunded"), ("cod", "awaiting_refund_voucher")])
def test_a_return_request_approved_with_keep_item_is_refunded_without_the_goods(runtime, clock, method, status):
    w = World(runtime, clock)
    case = w.case(method=method)
    case = w.act(case.id, "approve", {"keep_item": True})
    assert (case.status, case.return_address) == (status, None)
    assert len(w.refunds(after_sale_id=case.id)) == (1 if method == "online" else 0)
    assert w.events(case.id)[-1].data["keep_item"] is True
    assert _problems(runtime) == []


def test_keep_item_is_not_for_an_exchange(runtime, clock):
    w = World(runtime, clock)
    case = w.case(type_="exchange")
    with pytest.raises(ValidationFailed, match="keep_item"):
        w.act(case.id, "approve", {"keep_item": True, "return_address": "杭州"})
    assert w.get_case(case.id).status == "pending_merchant"


def test_a_reject_reason_comes_from_the_catalogue_and_some_need_evidence(runtime, clock):
    w = World(runtime, clock)
    case = w.case()
    with pytest.raises(ValidationFailed, match="unknown reject reason"):
        w.act(case.id, "reject", {"reason": "no"})
    with pytest.raises(ValidationFailed) as bare:
        w.act(case.id, "reject", {"reason": "buyer_damaged"})
    assert bare.value.code == "evidence_required"
    assert w.act(case.id, "reject", {"reason": "beyond_period"}).status == "rejected"


def test_the_buyer_may_withdraw_while_an_offer_waits_and_the_paused_timer_goes_with_it(runtime, clock):
    w = World(runtime, clock)
    case = w.act(_offered(w).id, "withdraw")
    assert (case.status, case.deadline_action, w.deadlines(case.id)) == ("closed", None, [])
    assert "paused_deadline" not in case.extra
    assert w.get_order(case.order_id).open_case_ids == []
    assert _problems(runtime) == []


def test_the_merchant_cannot_offer_once_its_own_deadline_lapsed(runtime, clock):
    w = World(runtime, clock)
    case = w.case()
    clock.advance(48 * H)  # due, not yet fired
    with pytest.raises(DeadlinePassed):
        w.act(case.id, "offer", {"amount": 5000})
    with pytest.raises(DeadlinePassed):
        w.act(case.id, "extend", {"hours": 24, "reason": "来不及了"})
