"""AFTERSALES_EVENTS_RETENTION_MONTHS and AFTERSALES_OUTBOX_RETENTION_MONTHS: off unless set, and
whole months when set (docs/partitions.md)."""

from __future__ import annotations

import pytest

from aftersales.config import ConfigError, Settings

BASE = {"AFTERSALES_JWT_SECRET": "z" * 32}


def test_history_is_kept_forever_unless_a_retention_is_set():
    settings = Settings.from_env(BASE)
    assert (settings.events_retention_months, settings.outbox_retention_months) == (None, None)
    settings = Settings.from_env(
        BASE | {"AFTERSALES_EVENTS_RETENTION_MONTHS": "24", "AFTERSALES_OUTBOX_RETENTION_MONTHS": " 2 "}
    )
    assert (settings.events_retention_months, settings.outbox_retention_months) == (24, 2)


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "a year"])
def test_a_retention_that_is_not_whole_months_is_refused_at_start_up(value):
    with pytest.raises(ConfigError, match="AFTERSALES_EVENTS_RETENTION_MONTHS must be a whole number of months"):
        Settings.from_env(BASE | {"AFTERSALES_EVENTS_RETENTION_MONTHS": value})
