"""AFTERSALES_STREAM and the NATS settings: checked at start-up, and the stream they make."""

from __future__ import annotations

import pytest

from aftersales.config import ConfigError, Settings
from aftersales.integrations import streams
from aftersales.integrations.envelope import from_outbox
from aftersales.integrations.nats_stream import NatsStream

BASE = {"AFTERSALES_JWT_SECRET": "z" * 32}


def test_no_stream_is_the_default():
    settings = Settings.from_env(BASE)
    assert (settings.stream, settings.nats_url, settings.nats_stream) == ("none", "nats://127.0.0.1:4222", "AFTERSALES")
    assert streams.from_settings(settings) is None


def test_nats_gives_a_nats_stream_on_aftersales_subjects_without_connecting_yet():
    settings = Settings.from_env(
        BASE
        | {
            "AFTERSALES_STREAM": "NATS",
            "AFTERSALES_NATS_URL": "nats://127.0.0.1:4222, nats://127.0.0.2:4222",
            "AFTERSALES_NATS_STREAM": "MARKET_EVENTS",
        }
    )
    stream = streams.from_settings(settings)
    try:
        assert isinstance(stream, NatsStream)
        assert (stream.servers, stream.stream) == (["nats://127.0.0.1:4222", "nats://127.0.0.2:4222"], "MARKET_EVENTS")
        message = from_outbox(
            "after_sale.approve",
            {
                "id": 7,
                "subject_kind": "after_sale",
                "subject_id": "AS1",
                "action": "approve",
                "actor_role": "merchant",
                "actor_id": "m1",
                "at": "2026-12-01T08:00:00+00:00",
            },
        )
        assert stream.subject_of(message) == "aftersales.after_sale.approved"
    finally:
        assert stream is not None
        stream.close()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("AFTERSALES_STREAM", "kafka", "AFTERSALES_STREAM must be one of none, nats, not 'kafka'"),
        ("AFTERSALES_NATS_URL", "http://127.0.0.1:4222", "AFTERSALES_NATS_URL must be server URLs"),
        ("AFTERSALES_NATS_URL", "nats://", "AFTERSALES_NATS_URL"),
        ("AFTERSALES_NATS_URL", "nats://h:4222,127.0.0.1", "AFTERSALES_NATS_URL"),
        ("AFTERSALES_NATS_URL", "nats://h:port", "AFTERSALES_NATS_URL"),
        ("AFTERSALES_NATS_STREAM", "after.sales", "AFTERSALES_NATS_STREAM must be 1 to 64 letters"),
        ("AFTERSALES_NATS_STREAM", "AFTER SALES", "AFTERSALES_NATS_STREAM"),
        ("AFTERSALES_NATS_STREAM", "A" * 65, "AFTERSALES_NATS_STREAM"),
    ],
)
def test_bad_stream_settings_are_refused_at_start_up(name, value, says):
    with pytest.raises(ConfigError, match=says):
        Settings.from_env(BASE | {"AFTERSALES_STREAM": "nats", name: value})


def test_a_refused_url_keeps_its_password_out_of_the_message():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(BASE | {"AFTERSALES_NATS_URL": "http://relay:s3cret@nats.internal:4222"})
    assert "s3cret" not in str(refused.value) and "nats.internal" in str(refused.value)
