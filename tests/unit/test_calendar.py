"""Working days on mainland China's official calendar: holidays off, make-up days 调休 on."""

from datetime import UTC, date, datetime, timedelta

from aftersales import policies
from aftersales.domain.calendar import WorkingCalendar
from aftersales.policies.calendar_cn import CHINA, is_working_day

UTC = UTC


def test_the_2026_golden_week_and_its_make_up_days():
    # State Council 2026: 10/1-10/7 off (Mid-Autumn 9/25 off); Sunday 9/20 and Saturday 10/10 worked.
    assert not is_working_day(date(2026, 10, 1)) and not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 9, 20)) and is_working_day(date(2026, 10, 10))
    assert not is_working_day(date(2026, 9, 25)) and not is_working_day(date(2026, 10, 11))
    assert is_working_day(date(2026, 10, 8))


def test_working_days_skip_the_golden_week_and_count_the_make_up_saturday():
    filed = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Beijing
    # 10/8 (1), 10/9 (2), Saturday 10/10 (3): three working days later is a Saturday.
    assert CHINA.add_working_days(filed, 3) == datetime(2026, 10, 10, 2, 0, tzinfo=UTC)
    assert CHINA.add_working_days(filed, 7) == datetime(2026, 10, 15, 2, 0, tzinfo=UTC)


def test_the_day_is_counted_in_beijing_not_utc():
    # 17:00 UTC on Friday is already Saturday 01:00 in Beijing: one working day later is
    # Monday 01:00 in Beijing, which is Sunday 17:00 UTC (counted in UTC it would be Monday 17:00).
    late_friday = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    assert CHINA.add_working_days(late_friday, 1) == datetime(2026, 11, 22, 17, 0, tzinfo=UTC)


def test_a_calendar_without_holiday_data_counts_weekdays():
    assert WorkingCalendar().add_working_days(datetime(2026, 10, 1, 2, tzinfo=UTC), 1) == datetime(
        2026, 10, 2, 2, tzinfo=UTC
    )


def test_complaint_review_is_seven_working_days_in_the_douyin_policy():
    p = policies.get("douyin@1")
    start = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    assert p.due_at("complaint_review", start, CHINA) == datetime(2026, 10, 15, 2, 0, tzinfo=UTC)
    assert p.due_at("complaint_reply", start, CHINA) == start + timedelta(hours=48)
