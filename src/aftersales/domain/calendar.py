"""Working days 工作日 on mainland China's calendar: statutory holidays off, make-up days 调休 on.

Pure: the calendar is built from a `is_working_day(date)` function; `policies/calendar_cn.py`
supplies the official one from a maintained package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))  # China keeps no daylight saving: a fixed offset is exact


def weekdays_only(day: date) -> bool:
    return day.weekday() < 5


@dataclass(frozen=True)
class WorkingCalendar:
    is_working_day: Callable[[date], bool] = weekdays_only

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same Beijing time of day on the `days`-th working day after `start`'s date."""
        local = start.astimezone(BEIJING)
        day, counted = local.date(), 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, local.timetz()).astimezone(UTC)
