"""Mainland China's official working-day calendar, from the maintained `holidays` package
(statutory holidays and the weekend make-up working days 调休 the State Council announces)."""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache

import holidays

from ..domain.calendar import WorkingCalendar, weekdays_only

log = logging.getLogger("aftersales.calendar")


@lru_cache(maxsize=64)
def _year(year: int) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays("CN", years=year)
    except (NotImplementedError, KeyError):  # a year the package cannot compute
        log.warning("no China holiday data for %s: counting weekdays only", year)
        return None


def is_working_day(day: date) -> bool:
    calendar = _year(day.year)
    return weekdays_only(day) if calendar is None else bool(calendar.is_working_day(day))


CHINA = WorkingCalendar(is_working_day)
