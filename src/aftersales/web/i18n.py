"""The console's languages: message catalogues, money, times and durations as a reader expects.

Templates and page code are written with English message ids (`_("Orders")`); each language but
English has catalogues in `locale/<lang>/LC_MESSAGES/*.po`, one per area of the console so that
pages can be worked on apart, merged into one set of translations at start-up. Simplified Chinese
is the default. The domain's own labels (statuses, actions, reasons) come in both languages from
the domain; `label()` picks one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
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
        return format_currency(Decimal(amount) / 100, currency, locale=self.locale)

    def when(self, value: datetime | str | None, format: str = "short") -> str:
        if value is None:
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_datetime(moment, format, tzinfo=self.tz, locale=self.locale)

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
        return format_timedelta(delta, threshold=1.5, locale=self.locale)

    def label(self, value: Any) -> str:
        """A domain label (zh/en) in this language; a plain string as it is."""
        if value is None:
            return ""
        found = getattr(value, self.lang, None)
        return str(found) if found is not None else str(value)


def N_(message: str) -> str:
    """Marks a message id for extraction where it is translated later (tables of wording)."""
    return message
