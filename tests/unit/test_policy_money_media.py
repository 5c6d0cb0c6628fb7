"""Policy parsing, money rules and content sniffing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftersales import policies
from aftersales.domain.errors import AmountExceedsRefundable, ValidationFailed
from aftersales.domain.media import sniff
from aftersales.domain.money import check_amount, refundable
from aftersales.domain.orders import Order
from aftersales.domain.policy import LIMITS, TIMERS, Policy, parse_duration

T0 = datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("48h", timedelta(hours=48)),
        ("7d", timedelta(days=7)),
        ("30m", timedelta(minutes=30)),
        (" 10s ", timedelta(seconds=10)),
        (90, timedelta(seconds=90)),
    ],
)
def test_durations_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["48", "h", "2w", "-1h", "1.5h", True])
def test_bad_durations_are_refused(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_douyin_preset_has_the_timers_of_the_rules_table():
    p = policies.get("douyin@1")
    hours = {name: p.timer(name) / timedelta(hours=1) for name in TIMERS if not name.startswith("complaint_review")}
    assert (
        hours["unpaid_order_cancel"],
        hours["merchant_response"],
        hours["buyer_ship_return"],
        hours["merchant_confirm_receipt"],
        hours["cod_refund_voucher"],
        hours["escalation_window"],
        hours["platform_ruling_sla"],
    ) == (24, 48, 168, 168, 48, 48, 72)
    assert p.shipping_refundable is False


def test_every_preset_gives_every_timer_and_tiktok_cites_its_sources():
    for p in policies.presets().values():
        assert set(p.timers) == set(TIMERS)
    tiktok = policies.get("tiktok_shop@1")
    assert tiktok.timer("buyer_ship_return") == timedelta(days=5)
    assert tiktok.timer("merchant_confirm_receipt") == timedelta(days=8)
    assert all(url.count("https://") >= 1 for url in tiktok.sources.values()) and tiktok.sources


def test_a_policy_missing_or_inventing_a_timer_is_refused():
    base = {"name": "x", "version": 1, "timers": dict.fromkeys(TIMERS, "1h"), "limits": dict.fromkeys(LIMITS, 1)}
    Policy.from_mapping(base)
    with pytest.raises(ValueError, match="lacks"):
        Policy.from_mapping({**base, "timers": {k: v for k, v in base["timers"].items() if k != "appeal_window"}})
    with pytest.raises(ValueError, match="unknown"):
        Policy.from_mapping({**base, "timers": {**base["timers"], "coffee_break": "1h"}})
    with pytest.raises(ValueError, match="limits: offers_per_case"):
        Policy.from_mapping({**base, "limits": {}})


@pytest.mark.parametrize("hours", [[0], [-4], ["24h"], [True], 24])
def test_reminder_hours_must_be_positive_hours(hours):
    base = {"name": "x", "version": 1, "timers": dict.fromkeys(TIMERS, "1h"), "limits": dict.fromkeys(LIMITS, 1)}
    assert Policy.from_mapping({**base, "reminders": {"hours_before": [4, 24, 4]}}).reminders == (24, 4)
    with pytest.raises(ValueError, match="reminders"):
        Policy.from_mapping({**base, "reminders": {"hours_before": hours}})


def test_sanction_thresholds_escalate_with_points():
    p = policies.get("douyin@1")
    assert p.restrictions_at(5) == []
    assert p.restrictions_at(12) == ["warning_banner", "restrict_new_listings"]


def _order(paid: int, refunded: int = 0) -> Order:
    return Order(
        id="o",
        buyer_id="b",
        merchant_id="m",
        payment_method="online",
        currency="CNY",
        shipping_fee=1000,
        items=[],
        goods_total=19800,
        status="delivered",
        policy="douyin@1",
        created_at=T0,
        updated_at=T0,
        paid_amount=paid,
        refunded_amount=refunded,
    )


def test_refundable_is_goods_paid_less_refunds_never_shipping_never_negative():
    p = policies.get("douyin@1")
    assert refundable(_order(paid=0), p) == 0
    assert refundable(_order(paid=20800), p) == 19800
    assert refundable(_order(paid=20800, refunded=5000), p) == 14800
    assert refundable(_order(paid=20800, refunded=20800), p) == 0


@pytest.mark.parametrize(
    "amount,error",
    [
        (True, ValidationFailed),
        (1.5, ValidationFailed),
        ("100", ValidationFailed),
        (0, ValidationFailed),
        (-1, ValidationFailed),
        (19801, AmountExceedsRefundable),
    ],
)
def test_bad_amounts_are_refused_with_their_code(amount, error):
    with pytest.raises(error):
        check_amount(amount, 19800)
    assert check_amount(19800, 19800) == 19800


@pytest.mark.parametrize(
    "head,media_type",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00", "image/png"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "video/quicktime"),
        ("聊天记录：商家".encode(), "text/plain"),
        ("聊天".encode()[:-1], "text/plain"),  # a character cut at the end of the sample is still text
    ],
)
def test_content_decides_the_media_type(head, media_type):
    assert sniff(head) == media_type


@pytest.mark.parametrize(
    "head",
    [
        b"PK\x03\x04zip",
        b"\x7fELF\x02\x01",
        b"MZ\x90\x00\x03\x00\x00\x00",
        b"\x00\x01\x02binary",
        b"",
        b"\xff\xfe\xfd not utf-8 \xc3\x28 in the middle",
    ],
)
def test_anything_else_is_refused(head):
    assert sniff(head) is None
