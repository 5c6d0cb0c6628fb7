"""The units of an order: prices that add up to the fen, claims that never overlap, refunds that
never exceed what a unit was paid (domain/lines.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.domain import lines
from aftersales.domain.errors import ValidationFailed

ITEMS = [{"sku": "a", "quantity": 3, "unit_price": 1000}, {"sku": "b", "quantity": 1, "unit_price": 333}]


def test_a_discount_is_spread_over_the_lines_in_proportion_to_the_fen() -> None:
    units = lines.price(ITEMS, 3333 - 100)
    assert {sku: lines.paid_for(units, sku) for sku in units} == {"a": 2910, "b": 323}
    # 2910 over 3 units: 970 each; a line that does not divide gets base and base + 1 fen.
    odd = lines.price([{"sku": "c", "quantity": 3, "unit_price": 100}], 100)
    assert sorted((lot["n"], lot["paid"]) for lot in odd["c"]) == [(1, 34), (2, 33)]


@given(
    st.lists(st.tuples(st.integers(1, 50), st.integers(0, 10**6)), min_size=1, max_size=8),
    st.integers(0, 100),
)
def test_the_lines_add_up_exactly_to_what_was_paid(lines_in: list[tuple[int, int]], off_percent: int) -> None:
    items = [{"sku": f"s{i}", "quantity": q, "unit_price": p} for i, (q, p) in enumerate(lines_in)]
    gross = sum(q * p for q, p in lines_in)
    paid = gross - gross * off_percent // 100
    units = lines.price(items, paid)
    assert sum(lines.paid_for(units, sku) for sku in units) == paid
    for item in items:  # no line gets more than its goods, and each unit within a fen of the others
        sku = str(item["sku"])
        assert lines.paid_for(units, sku) <= int(item["quantity"]) * int(item["unit_price"])
        assert max(lot["paid"] for lot in units[sku]) - min(lot["paid"] for lot in units[sku]) <= 1


def test_claims_never_hold_a_unit_twice() -> None:
    units = lines.price(ITEMS, 3333)
    units, value = lines.claim(units, {"a": 2}, "c1")
    assert value == 2000 and lines.remaining(units, "a") == 1
    with pytest.raises(ValidationFailed) as refused:
        lines.claim(units, {"a": 2}, "c2")
    assert refused.value.code == "quantity_exceeds_remaining" and refused.value.extra["quantity_remaining"] == 1
    with pytest.raises(ValidationFailed) as unknown:
        lines.claim(units, {"zzz": 1}, "c2")
    assert unknown.value.code == "unknown_item"
    units, value = lines.claim(units, {"a": 1, "b": 1}, "c2")
    assert value == 1333 and lines.holders(units) == ["c1", "c2"] and lines.held(units, "c2") == {"a": 1, "b": 1}


def test_a_partial_refund_leaves_the_units_claimable_for_the_rest_only() -> None:
    units, _ = lines.claim(lines.price(ITEMS, 3333), {"a": 2}, "c1")
    units = lines.refund(units, "c1", 301)
    assert lines.refunded_on(units, "a") == 301
    units = lines.release(units, "c1", goods_back=False)
    assert lines.remaining(units, "a") == 3 and lines.free_value(units, "a") == 3000 - 301
    # The units worth most are claimed first: the one never refunded.
    _, value = lines.claim(units, {"a": 1}, "c2")
    assert value == 1000
    with pytest.raises(ValueError):
        lines.refund(units, "c9", 1)  # a case that holds nothing has nothing to refund


def test_a_full_refund_or_goods_back_settles_the_units() -> None:
    units, value = lines.claim(lines.price(ITEMS, 3333), {"a": 1}, "c1")
    units = lines.release(lines.refund(units, "c1", value), "c1", goods_back=False)
    assert lines.remaining(units, "a") == 2  # refunded in full: done
    units, _ = lines.claim(units, {"a": 1}, "c2")
    units = lines.release(lines.refund(units, "c2", 10), "c2", goods_back=True)
    assert lines.remaining(units, "a") == 1  # the goods came back: done whatever was refunded


@given(st.lists(st.tuples(st.integers(1, 3), st.integers(0, 2000), st.booleans()), max_size=12))
def test_refunds_per_line_never_exceed_what_was_paid(steps: list[tuple[int, int, bool]]) -> None:
    units = lines.price(ITEMS, 3000)
    for n, (quantity, ask, back) in enumerate(steps):
        case = f"c{n}"
        if lines.remaining(units, "a") < quantity:
            continue
        units, value = lines.claim(units, {"a": quantity}, case)
        units = lines.release(lines.refund(units, case, min(ask, value)), case, goods_back=back)
        for sku in units:
            assert 0 <= lines.refunded_on(units, sku) <= lines.paid_for(units, sku)
            assert all(0 <= lot["refunded"] <= lot["paid"] for lot in units[sku])
        assert sum(lot["n"] for lot in units["a"]) == 3
