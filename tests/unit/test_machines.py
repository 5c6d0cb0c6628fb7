"""The transition tables against the contract's tables (docs/api.md), row by row, written out independently here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from aftersales.domain import cases, disputes, orders
from aftersales.domain.errors import Forbidden, IllegalTransition


@dataclass
class C:  # the fields the case guards read
    status: str
    type: str = "return_refund"
    payment_method: str = "online"
    ruled_amount: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Subject:
    status: str
    payment_method: str = "online"


CASE_ROWS = [
    # (action, role, status, type, payment, expected target)
    ("approve", "merchant", "pending_merchant", "refund_only", "online", "refunded"),
    ("approve", "merchant", "pending_merchant", "refund_only", "cod", "awaiting_refund_voucher"),
    ("approve", "merchant", "pending_merchant", "return_refund", "online", "awaiting_return"),
    ("approve", "merchant", "pending_merchant", "exchange", "cod", "awaiting_return"),
    ("auto_approve", "system", "pending_merchant", "return_refund", "online", "awaiting_return"),
    ("reject", "merchant", "pending_merchant", "return_refund", "online", "rejected"),
    ("ship_return", "buyer", "awaiting_return", "return_refund", "online", "return_shipped"),
    ("auto_close", "system", "awaiting_return", "return_refund", "online", "closed"),
    ("auto_close", "system", "rejected", "refund_only", "online", "closed"),
    ("confirm_receipt", "merchant", "return_shipped", "return_refund", "online", "refunded"),
    ("confirm_receipt", "merchant", "return_shipped", "return_refund", "cod", "awaiting_refund_voucher"),
    ("confirm_receipt", "merchant", "return_shipped", "exchange", "online", "exchange_shipped"),
    ("auto_confirm_receipt", "system", "return_shipped", "return_refund", "online", "refunded"),
    ("auto_confirm_receipt", "system", "return_shipped", "exchange", "online", "refunded"),
    ("refund_voucher", "merchant", "awaiting_refund_voucher", "return_refund", "cod", "refunded"),
    ("advance_compensation", "system", "awaiting_refund_voucher", "return_refund", "cod", "refunded"),
    ("confirm_exchange", "buyer", "exchange_shipped", "exchange", "online", "completed"),
    ("auto_complete", "system", "exchange_shipped", "exchange", "online", "completed"),
    ("escalate", "buyer", "rejected", "refund_only", "online", "in_intervention"),
    ("dispute_return", "merchant", "return_shipped", "return_refund", "online", "in_intervention"),
    ("platform_refund", "agent", "in_intervention", "refund_only", "online", "refunded"),
    ("platform_deny", "agent", "in_intervention", "refund_only", "online", "closed"),
]


@pytest.mark.parametrize("action,role,status,type_,payment,target", CASE_ROWS)
def test_case_transition_table_matches_the_contract(action, role, status, type_, payment, target):
    assert cases.CASE_MACHINE.resolve(C(status, type_, payment), action, role).target == target


RULED_RETURN_ROWS = [
    # A return_refund ruling: whatever the case's type, the goods back mean money back.
    ("platform_return", "agent", "in_intervention", "exchange", "online", "awaiting_return"),
    ("confirm_receipt", "merchant", "return_shipped", "exchange", "online", "refunded"),
    ("confirm_receipt", "merchant", "return_shipped", "refund_only", "online", "refunded"),
    ("confirm_receipt", "merchant", "return_shipped", "exchange", "cod", "awaiting_refund_voucher"),
    ("auto_confirm_receipt", "system", "return_shipped", "refund_only", "cod", "awaiting_refund_voucher"),
    ("platform_refund", "agent", "awaiting_return", "exchange", "online", "refunded"),
    ("platform_refund", "agent", "return_shipped", "refund_only", "online", "refunded"),
]


@pytest.mark.parametrize("action,role,status,type_,payment,target", RULED_RETURN_ROWS)
def test_a_ruled_return_refunds_on_receipt_whatever_the_type(action, role, status, type_, payment, target):
    assert cases.CASE_MACHINE.resolve(C(status, type_, payment, 5000), action, role).target == target


def test_a_ruled_return_is_not_disputed_again():
    with pytest.raises(Forbidden):
        cases.CASE_MACHINE.resolve(C("return_shipped", "return_refund", "online", 5000), "dispute_return", "merchant")


@pytest.mark.parametrize(
    "status",
    ["pending_merchant", "awaiting_return", "return_shipped", "rejected", "awaiting_refund_voucher", "in_intervention"],
)
def test_the_buyer_may_withdraw_any_open_request_before_it_is_refunded(status):
    assert cases.CASE_MACHINE.resolve(C(status), "withdraw", "buyer").target == "closed"


@pytest.mark.parametrize("status", ["refunded", "closed", "completed", "exchange_shipped"])
def test_nothing_is_withdrawn_once_refunded_closed_or_replaced(status):
    with pytest.raises(IllegalTransition):
        cases.CASE_MACHINE.resolve(C(status), "withdraw", "buyer")


@pytest.mark.parametrize("status", ["return_shipped", "in_intervention"])
def test_nothing_is_withdrawn_once_a_speedy_refund_paid_it(status):
    with pytest.raises(Forbidden):
        cases.CASE_MACHINE.resolve(C(status, extra={cases.SPEEDY: {"amount": 1}}), "withdraw", "buyer")


@pytest.mark.parametrize(
    "action,role",
    [
        ("approve", "buyer"),
        ("ship_return", "merchant"),
        ("auto_approve", "merchant"),
        ("escalate", "merchant"),
        ("refund_voucher", "buyer"),
        ("advance_compensation", "agent"),
    ],
)
def test_a_role_that_never_takes_an_action_is_forbidden_whatever_the_state(action, role):
    with pytest.raises(Forbidden):
        cases.CASE_MACHINE.resolve(C("pending_merchant"), action, role)


def test_refund_voucher_is_only_for_cash_on_delivery():
    with pytest.raises(Forbidden):
        cases.CASE_MACHINE.resolve(C("awaiting_refund_voucher", payment_method="online"), "refund_voucher", "merchant")


def test_the_right_role_in_the_wrong_state_is_an_illegal_transition():
    with pytest.raises(IllegalTransition):
        cases.CASE_MACHINE.resolve(C("awaiting_return"), "approve", "merchant")


def test_allowed_actions_are_the_buttons_of_the_role_in_that_state():
    assert cases.CASE_MACHINE.allowed_actions(C("pending_merchant"), "merchant") == [
        "approve",
        "extend",
        "offer",
        "reject",
    ]
    assert cases.CASE_MACHINE.allowed_actions(C("pending_merchant"), "buyer") == ["withdraw"]
    assert cases.CASE_MACHINE.allowed_actions(C("rejected"), "buyer") == ["escalate", "withdraw"]
    assert cases.CASE_MACHINE.allowed_actions(C("refunded"), "buyer") == []


ORDER_ROWS = [
    ("pay", "integration", "awaiting_payment", "online", "stocking"),
    ("confirm", "merchant", "awaiting_confirmation", "cod", "stocking"),
    ("ship", "merchant", "stocking", "cod", "shipped"),
    ("deliver", "integration", "shipped", "online", "delivered"),
    ("complete", "integration", "delivered", "online", "completed"),
    ("auto_complete", "system", "delivered", "cod", "completed"),
    ("auto_cancel", "system", "awaiting_payment", "online", "cancelled"),
    ("cancel", "buyer", "awaiting_payment", "online", "cancelled"),
    ("cancel", "buyer", "stocking", "online", "cancelled"),
    ("cancel", "merchant", "awaiting_confirmation", "cod", "cancelled"),
    ("cancel", "merchant", "stocking", "cod", "cancelled"),
    ("cancel", "agent", "stocking", "cod", "cancelled"),
]


@pytest.mark.parametrize("action,role,status,payment,target", ORDER_ROWS)
def test_order_transition_table_matches_the_cancellation_rules(action, role, status, payment, target):
    assert orders.ORDER_MACHINE.resolve(Subject(status, payment), action, role).target == target


@pytest.mark.parametrize("role,payment", [("merchant", "online"), ("buyer", "cod")])
def test_merchant_never_cancels_online_and_buyer_never_cancels_cod_alone(role, payment):
    with pytest.raises(Forbidden):
        orders.ORDER_MACHINE.resolve(Subject("stocking", payment), "cancel", role)


@pytest.mark.parametrize("status", ["shipped", "delivered", "completed"])
@pytest.mark.parametrize("role,payment", [("buyer", "online"), ("merchant", "cod"), ("agent", "cod")])
def test_nobody_cancels_once_shipped(status, role, payment):
    with pytest.raises(IllegalTransition):
        orders.ORDER_MACHINE.resolve(Subject(status, payment), "cancel", role)


@pytest.mark.parametrize(
    "machine,deadlines",
    [
        (cases.CASE_MACHINE, cases.DEADLINES),
        (orders.ORDER_MACHINE, orders.DEADLINES),
        (disputes.DISPUTE_MACHINE, disputes.DEADLINES),
    ],
)
def test_every_armed_deadline_is_something_the_system_may_do_from_that_status(machine, deadlines):
    for status, (action, _timer) in deadlines.items():
        if action in cases.SYSTEM_NOTICES:
            continue  # a recorded breach, not a transition
        system_sources = {
            s for t in machine.transitions if t.action == action and "system" in t.roles for s in t.source
        }
        assert status in system_sources, (status, action)


def test_no_terminal_status_arms_a_deadline():
    assert not cases.TERMINAL & set(cases.DEADLINES)
    assert not {"completed", "cancelled"} & set(orders.DEADLINES)


def test_only_the_losing_party_may_appeal():
    assert disputes.losers("deny") == ("buyer",)
    assert disputes.losers("refund") == ("merchant",)
    assert set(disputes.losers("partial_refund")) == {"buyer", "merchant"}
