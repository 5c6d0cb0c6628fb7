"""Rules that need no database, checked on plain values: who may file what and when, what a
ruling grants, what a warning and a penalty carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from aftersales.domain.cases import check_fileable
from aftersales.domain.disputes import LIABLE_PARTIES, bearer, ruling_amount
from aftersales.domain.errors import DeadlinePassed, IllegalTransition, ValidationFailed
from aftersales.domain.sanctions import check_violation

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=7)


@dataclass
class _Order:
    status: str
    completed_at: datetime | None = None


@pytest.mark.parametrize(
    "status,case_type,allowed",
    [
        ("shipped", "refund_only", True),
        ("shipped", "return_refund", False),
        ("delivered", "exchange", True),
        ("completed", "return_refund", True),
        ("stocking", "refund_only", False),
        ("cancelled", "refund_only", False),
    ],
)
def test_the_order_status_says_which_types_may_be_filed(status, case_type, allowed):
    order = _Order(status, NOW if status == "completed" else None)
    if allowed:
        check_fileable(order, case_type, NOW, WINDOW)
    else:
        with pytest.raises(IllegalTransition):
            check_fileable(order, case_type, NOW, WINDOW)


def test_a_completed_order_takes_requests_until_its_after_sales_period_ends():
    order = _Order("completed", NOW - WINDOW)
    check_fileable(order, "refund_only", NOW, WINDOW)
    with pytest.raises(DeadlinePassed) as late:
        check_fileable(order, "refund_only", NOW + timedelta(seconds=1), WINDOW)
    assert late.value.code == "after_sales_period_over"


def test_a_ruling_grants_all_a_part_or_nothing_of_what_was_asked():
    assert ruling_amount("refund", None, "merchant", 9900) == 9900
    assert ruling_amount("partial_refund", 100, "both", 9900) == 100
    assert ruling_amount("deny", None, "buyer", 9900) == 0
    for outcome, amount, liable in [
        ("refund", 100, "merchant"),
        ("partial_refund", 9900, "merchant"),
        ("partial_refund", None, "merchant"),
        ("deny", 100, "buyer"),
        ("deny", None, "merchant"),
    ]:
        with pytest.raises(ValidationFailed):
            ruling_amount(outcome, amount, liable, 9900)


def test_a_return_refund_grants_all_or_a_part_once_the_goods_are_back():
    assert ruling_amount("return_refund", None, "merchant", 9900) == 9900
    assert ruling_amount("return_refund", 9900, "creator", 9900) == 9900
    assert ruling_amount("return_refund", 1, "platform", 9900) == 1
    for amount in (0, 9901):
        with pytest.raises(ValidationFailed):
            ruling_amount("return_refund", amount, "merchant", 9900)


def test_a_shared_fault_grants_a_part_only_and_a_denial_blames_nobody_toward_the_buyer():
    """双方责任: the buyer shares the fault, so it never gets the whole amount, and never nothing."""
    assert ruling_amount("partial_refund", 4950, "both", 9900) == 4950
    assert ruling_amount("return_refund", 9899, "both", 9900) == 9899
    for outcome, amount in [("refund", None), ("return_refund", None), ("return_refund", 9900), ("deny", None)]:
        with pytest.raises(ValidationFailed):
            ruling_amount(outcome, amount, "both", 9900)
    for liable in ("merchant", "both", "creator"):
        with pytest.raises(ValidationFailed) as err:
            ruling_amount("deny", None, liable, 9900)
        assert err.value.extra["fields"] == ["liable_party"]


def test_who_finally_bears_a_ruling_refund():
    assert [bearer(p) for p in LIABLE_PARTIES] == [
        "merchant",
        "platform",
        "platform",
        "platform",
        "platform",
        "merchant",
        "creator",
    ]


def test_a_warning_carries_nothing_and_a_penalty_names_its_money():
    check_violation("warning", 0, None, None)
    check_violation("penalty", 3, 5000, "CNY")
    with pytest.raises(ValidationFailed):
        check_violation("warning", 2, None, None)
    with pytest.raises(ValidationFailed):
        check_violation("penalty", 0, 5000, None)
