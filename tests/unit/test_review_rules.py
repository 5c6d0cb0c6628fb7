"""The review rules file: each rule a code, its labels and patterns; a malformed file is refused
at load, never half-applied; texts are read the way a person writes them around a rule."""

from __future__ import annotations

import pytest

from aftersales.domain.actions import typed
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.reviews import NewReview, breaches, rules_from
from aftersales.policies import presets, review_rules


def test_every_rule_has_a_code_both_labels_and_patterns_and_the_file_is_no_policy():
    rules = review_rules()
    assert [r.code for r in rules] == [
        "contact_phone",
        "contact_wechat",
        "contact_qq",
        "contact_url",
        "advertising",
        "abuse",
    ]
    assert all(r.label.zh and r.label.en and r.patterns for r in rules)
    assert set(presets()) == {"douyin@1", "tiktok_shop@1"}


@pytest.mark.parametrize(
    "rule",
    [
        {"code": "Contact", "zh": "x", "en": "x", "patterns": ["a"]},
        {"code": "ads", "zh": "x", "en": "x", "patterns": []},
        {"code": "ads", "zh": "x", "en": "x", "patterns": ["("]},
        {"code": "ads", "zh": "x", "patterns": ["a"]},
    ],
)
def test_a_malformed_rule_is_refused_when_the_file_is_read(rule):
    with pytest.raises((ValueError, KeyError)):
        rules_from({"rule": [rule]})


def test_two_rules_may_not_share_a_code():
    rule = {"code": "ads", "zh": "广告", "en": "Ads", "patterns": ["代购"]}
    with pytest.raises(ValueError, match="unique"):
        rules_from({"rule": [rule, rule]})


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("电话１３８００１３８０００", ["contact_phone"]),  # full-width digits
        ("电话 +86 138-0013-8000", ["contact_phone"]),  # split by spaces and dashes
        ("WeChat: Tea_Shop_01", ["contact_wechat"]),  # upper case
        ("订单号 20261124 已收到，谢谢", []),  # an eight-digit number is no phone
        ("淘宝店铺同款", []),
    ],
)
def test_texts_are_read_normalised(text, codes):
    assert [r.code for r in breaches(text, review_rules())] == codes


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": True}, "rating"),
        ({"rating": 5, "text": "好" * 501}, "text"),
        ({"rating": 5, "evidence": [f"ev-{n}" for n in range(10)]}, "evidence"),
    ],
)
def test_a_review_out_of_bounds_is_refused_whichever_door_it_comes_through(values, field):
    with pytest.raises(ValidationFailed) as refused:
        typed(NewReview, {"order_id": "o-1", **values})
    assert refused.value.extra["fields"] == [field]
