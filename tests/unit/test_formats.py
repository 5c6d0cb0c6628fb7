"""The console's money, times and durations (web/i18n.Formats) read exactly as Babel words them:
the formatting is worked out once per language rather than per value, and these hold it to
Babel's own output over amounts, currencies, zones (summer time too), formats and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_currency

from aftersales.web import i18n

AMOUNTS = [0, 1, 9, 10, 99, 100, 101, 999, 1000, 9950, 19800, 99999, 100000, 123456789, 10**15 + 7, -1, -19800]
CURRENCIES = ["CNY", "USD", "EUR", "HKD", "JPY", "KRW", "BHD"]  # JPY, KRW no decimals; BHD three
ZONES = ["Asia/Shanghai", "America/New_York", "Europe/London", "Asia/Kolkata", "UTC"]
MOMENTS = [
    datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC),  # New York's summer time starts at 07:00 UTC
    datetime(2026, 3, 8, 7, 0, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # London's ends at 01:00 UTC
    datetime(2026, 12, 31, 15, 59, 30, 999999, tzinfo=UTC),  # the new year in Shanghai a second later
    datetime(2026, 7, 4, 12, 5),  # naive: UTC, as the store holds it
]


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_money_reads_as_babel_formats_it(lang):
    f = i18n.Formats(lang, i18n.timezone(None))
    for currency in CURRENCIES:
        for amount in AMOUNTS:
            expected = format_currency(Decimal(amount) / 100, currency, locale=i18n.LOCALES[lang])
            assert f.money(amount, currency) == expected, (lang, currency, amount)
    assert f.money(None) == "—"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("zone", ZONES)
def test_times_read_as_babel_formats_them(lang, zone):
    f = i18n.Formats(lang, i18n.timezone(zone))
    for fmt in ("short", "medium", "long", "full", "yyyy-MM-dd HH:mm"):
        for moment in MOMENTS:
            expected = format_datetime(moment, fmt, tzinfo=f.tz, locale=i18n.LOCALES[lang])
            assert f.when(moment, fmt) == expected, (lang, zone, fmt, moment)
            assert f.when(moment.isoformat(), fmt) == expected
    assert f.when(None) == "—"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_time_left_reads_as_babel_words_it(lang):
    f = i18n.Formats(lang, i18n.timezone(None))
    now = datetime(2026, 5, 1, 8, tzinfo=UTC)
    seconds = sorted({*range(1, 200), *range(200, 400_000, 97), *range(400_000, 40_000_000, 9_973)})
    seconds += [89, 90, 91, 5399, 5400, 5401, 129_599, 129_600, 129_601, 0.4, 0.6, 1.49, 1.5]
    for s in seconds:
        delta = timedelta(seconds=s)
        expected = format_timedelta(delta, threshold=1.5, locale=i18n.LOCALES[lang])
        assert f.left(now + delta, now) == expected, (lang, s)
    assert f.left(now, now) == f.left(now - timedelta(hours=1), now) != f.left(now + timedelta(hours=1), now)
