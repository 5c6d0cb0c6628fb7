"""The console's languages: message catalogues, money, times and durations as a reader expects.

Templates and page code are written with English message ids (`_("Orders")`); each language but
English has catalogues in `locale/<lang>/LC_MESSAGES/*.po`, one per area of the console so that
pages can be worked on apart, merged into one set of translations at start-up. Simplified Chinese
is the default. The domain's own labels (statuses, actions, reasons) come in both languages from
the domain; `label()` picks one.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import TIMEDELTA_UNITS, DateTimePattern, format_timedelta, get_datetime_format, parse_pattern
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)
from babel.support import NullTranslations, Translations

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
# Babel's locale for each: zh is Simplified Chinese as written in mainland China.
LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
NAMES = {"zh": "中文", "en": "English"}
DEFAULT_TIMEZONE = "Asia/Shanghai"
LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def translations(lang: str) -> NullTranslations:
    """Every catalogue of `lang` merged (English: the message ids themselves)."""
    merged: NullTranslations = NullTranslations()
    files = sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")) if lang != "en" else []
    for po in files:
        with po.open("rb") as f:
            catalog = read_po(f, locale=LOCALES[lang])
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        loaded = Translations(compiled)
        if isinstance(merged, Translations):
            merged.merge(loaded)
        else:
            merged = loaded
    return merged


def language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT


def timezone(name: str | None) -> ZoneInfo:
    """The zone a viewer asked for, or the default when it names none this machine knows."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


@cache
def _locale(lang: str) -> Locale:
    """Parsed once per language: a list page formats a few values per row (bench/console.py)."""
    return Locale.parse(LOCALES[lang])


# What Babel's formatting of a value depends on, worked out once per language (and currency,
# and format) rather than for every value: a list page formats a few values per row, and Babel
# reads its locale data, parses its patterns and, for a date and time, formats the date and the
# time apart each time (1.2-1.8x the API's CPU for the same rows, bench/console.py).
# tests/unit/test_formats.py holds each to Babel's own output.


@cache
def _money_parts(lang: str, currency: str) -> tuple[str, str, str, str] | None:
    """(prefix, suffix, group, decimal) of an amount of `currency` that is not negative, for the
    usual pattern (groups of three, two decimals, as CNY); None: Babel formats it."""
    locale = _locale(lang)
    pattern = locale.currency_formats["standard"]
    if pattern.grouping != (3, 3) or pattern.frac_prec != (2, 2) or get_currency_precision(currency) != 2:
        return None
    if pattern.int_prec[0] != 1 or "¤" not in pattern.prefix[0] + pattern.suffix[0]:
        return None
    symbol = get_currency_symbol(currency, locale)
    prefix, suffix = (part.replace("¤", symbol) for part in (pattern.prefix[0], pattern.suffix[0]))
    return prefix, suffix, get_group_symbol(locale), get_decimal_symbol(locale)


@cache
def _datetime_pattern(lang: str, format: str) -> DateTimePattern:
    """A named format's date and time patterns glued into one, so that one pass formats both."""
    locale = _locale(lang)
    if format not in ("full", "long", "medium", "short"):
        return parse_pattern(format)
    parts = {"{1}": locale.date_formats[format].pattern, "{0}": locale.time_formats[format].pattern}
    glue = str(get_datetime_format(format, locale=locale)).replace("'", "")  # type: ignore[arg-type]  # (named)
    return parse_pattern(
        "".join(parts.get(piece) or ("'" + piece.replace("'", "''") + "'" if piece else "")
                for piece in re.split(r"(\{[01]\})", glue))
    )  # fmt: skip


_DURATIONS: dict[tuple[str, str, int], str] = {}
THRESHOLD = 1.5  # a unit is used from one and a half of it: "36 hours" is "2 days"


def _duration_unit(seconds: float) -> tuple[str, int]:
    """The unit and the count format_timedelta words a duration with (its own choice)."""
    for unit, per_unit in TIMEDELTA_UNITS:
        value = abs(seconds) / per_unit
        if value >= THRESHOLD or unit == "second":
            return unit, round(max(1, value) if unit == "second" and value > 0 else value)
    raise AssertionError("seconds is the last unit")


@dataclass(frozen=True)
class Formats:
    """How one viewer reads money, times and labels."""

    lang: str
    tz: ZoneInfo

    @property
    def locale(self) -> Locale:
        return _locale(self.lang)

    def money(self, amount: int | None, currency: str = "CNY") -> str:
        if amount is None:
            return "—"
        parts = _money_parts(self.lang, currency) if amount >= 0 else None
        if parts is None:
            return format_currency(Decimal(amount) / 100, currency, locale=self.locale)
        prefix, suffix, group, decimal = parts
        units, cents = divmod(amount, 100)
        return f"{prefix}{units:,}".replace(",", group) + f"{decimal}{cents:02d}{suffix}"

    def when(self, value: datetime | str | None, format: str = "short") -> str:
        if value is None:
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(self.tz)
        return str(_datetime_pattern(self.lang, format).apply(local, self.locale))

    def iso(self, value: datetime | str | None) -> str:
        if value is None:
            return ""
        return value if isinstance(value, str) else value.isoformat()

    def left(self, due: datetime | str | None, now: datetime) -> str:
        """How long until `due`, in words ("2天", "3 hours"); "overdue" words once it passed."""
        if due is None:
            return "—"
        moment = datetime.fromisoformat(due) if isinstance(due, str) else due
        delta: timedelta = moment - now
        if delta.total_seconds() <= 0:
            return str(translations(self.lang).gettext("due now"))
        # Babel's words depend on the unit and the count only: each is worded once.
        key = (self.lang, *_duration_unit(delta.total_seconds()))
        words = _DURATIONS.get(key)
        if words is None:
            words = _DURATIONS[key] = format_timedelta(delta, threshold=THRESHOLD, locale=self.locale)
        return words

    def label(self, value: Any) -> str:
        """A domain label (zh/en) in this language; a plain string as it is."""
        if value is None:
            return ""
        found = getattr(value, self.lang, None)
        return str(found) if found is not None else str(value)


def N_(message: str) -> str:
    """Marks a message id for extraction where it is translated later (tables of wording)."""
    return message
