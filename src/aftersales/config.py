"""Settings from the environment (AFTERSALES_*), validated once at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import limits

DEMO_SECRET = "aftersales-demo-secret-not-for-production"
# AFTERSALES_ENV, compared case-insensitively; anything else is refused rather than guessed at.
ENVIRONMENTS = ("development", "test", "production")
# AFTERSALES_STREAM: where the relay publishes every event besides the webhooks (integrations/streams.py).
STREAMS = ("none", "nats")
NATS_SCHEMES = ("nats", "tls", "ws", "wss")
# A JetStream stream name: letters, digits, '-' and '_' (NATS also refuses '.', '*', '>' and spaces).
NATS_STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# HS256 is only as strong as its key: RFC 7518 3.2 asks for at least the hash's 256 bits.
MIN_SECRET_BYTES = 32


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    jwt_secret: str
    simulated_clock: bool
    demo: bool
    default_policy: str = "douyin@1"
    evidence_max_bytes: int = 20 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024  # any other request body (JSON)
    # Rates in the `limits` notation ("N/second|minute|hour"); see api/rate_limits.py.
    rate_limit_auth_failures: str = "100/minute"  # failed authentications per client address
    rate_limit_principal: str = "6000/minute"  # requests per authenticated role+sub+merchant_id
    # The marketplace's own backend feeds every order as one principal: a budget of its own.
    rate_limit_integration: str = "60000/minute"
    rate_limit_storage: str = "memory://"  # per process; e.g. redis://host:6379 to share across processes
    # Webhooks to private, loopback and link-local addresses (integrations/addresses.py): off
    # unless the receivers really are on the operator's own network (and in tests).
    webhook_allow_private: bool = False
    stream: str = "none"  # "none" or "nats"
    nats_url: str = "nats://127.0.0.1:4222"  # one server or several, comma-separated
    nats_stream: str = "AFTERSALES"

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        demo: bool = False,
        simulated_clock: bool | None = None,
        secret_required: bool = True,
    ) -> Settings:
        """`secret_required=False` (schema work, audits, minting): outside production an unset
        AFTERSALES_JWT_SECRET falls back to the demo secret without turning demo mode on."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("AFTERSALES_DATA_DIR", "./data")).resolve()
        url = env.get("AFTERSALES_DATABASE_URL") or f"sqlite:///{data_dir / 'aftersales.db'}"
        demo = demo or env.get("AFTERSALES_DEMO", "") in ("1", "true")
        environment = env.get("AFTERSALES_ENV", "").strip().lower() or "development"
        if environment not in ENVIRONMENTS:
            raise ConfigError(
                f"AFTERSALES_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env.get('AFTERSALES_ENV')!r}"
            )
        production = environment == "production"
        if production and demo:
            raise ConfigError("demo mode (--demo, AFTERSALES_DEMO) cannot run with AFTERSALES_ENV=production")
        secret = env.get("AFTERSALES_JWT_SECRET", "")
        if not secret:
            if production or (secret_required and not demo):
                raise ConfigError("AFTERSALES_JWT_SECRET is required" + ("" if production else " outside demo mode"))
            secret = DEMO_SECRET
        if production and secret == DEMO_SECRET:
            raise ConfigError("AFTERSALES_JWT_SECRET is the public demo secret: refused with AFTERSALES_ENV=production")
        if production and len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"AFTERSALES_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes with AFTERSALES_ENV=production"
            )
        clock_mode = env.get("AFTERSALES_CLOCK", "system")
        if clock_mode not in ("system", "simulated"):
            raise ConfigError("AFTERSALES_CLOCK must be 'system' or 'simulated'")
        simulated = clock_mode == "simulated" if simulated_clock is None else simulated_clock
        if simulated and production:
            raise ConfigError("the simulated clock cannot run with AFTERSALES_ENV=production")
        max_bytes = int(env.get("AFTERSALES_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024))
        max_body = int(env.get("AFTERSALES_MAX_BODY_BYTES", 1024 * 1024))
        rates = {
            name: env.get(f"AFTERSALES_{name.upper()}", default)
            for name, default in (
                ("rate_limit_auth_failures", "100/minute"),
                ("rate_limit_principal", "6000/minute"),
                ("rate_limit_integration", "60000/minute"),
            )
        }
        for name, rate in rates.items():
            try:
                limits.parse(rate)
            except ValueError:
                raise ConfigError(f"AFTERSALES_{name.upper()} is not a rate like '100/minute': {rate!r}") from None
        stream = env.get("AFTERSALES_STREAM", "").strip().lower() or "none"
        if stream not in STREAMS:
            raise ConfigError(
                f"AFTERSALES_STREAM must be one of {', '.join(STREAMS)}, not {env.get('AFTERSALES_STREAM')!r}"
            )
        nats_url = env.get("AFTERSALES_NATS_URL", "").strip() or "nats://127.0.0.1:4222"
        _check_nats_url(nats_url)
        nats_stream = env.get("AFTERSALES_NATS_STREAM", "").strip() or "AFTERSALES"
        if not NATS_STREAM_NAME.fullmatch(nats_stream):
            raise ConfigError(
                f"AFTERSALES_NATS_STREAM must be 1 to 64 letters, digits, '-' or '_', not {env.get('AFTERSALES_NATS_STREAM')!r}"
            )
        return cls(
            data_dir=data_dir,
            database_url=url,
            jwt_secret=secret,
            simulated_clock=simulated,
            demo=demo,
            default_policy=env.get("AFTERSALES_POLICY", "douyin@1"),
            evidence_max_bytes=max_bytes,
            max_body_bytes=max_body,
            rate_limit_storage=env.get("AFTERSALES_RATE_LIMIT_STORAGE", "memory://"),
            webhook_allow_private=_flag(env, "AFTERSALES_WEBHOOK_ALLOW_PRIVATE"),
            stream=stream,
            nats_url=nats_url,
            nats_stream=nats_stream,
            **rates,
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in ("", "0", "1", "false", "true"):
        raise ConfigError(f"{name} must be true or false, not {env.get(name)!r}")
    return value in ("1", "true")


def _check_nats_url(value: str) -> None:
    """`nats://host:4222`, or several servers comma-separated (the client fails over between them)."""
    for server in value.split(","):
        try:
            parts = urlsplit(server.strip())
            good = parts.scheme in NATS_SCHEMES and bool(parts.hostname) and parts.path in ("", "/")
            parts.port  # noqa: B018 (reading it checks it: a port that is not a number raises)
        except ValueError:
            good = False
        if not good:
            raise ConfigError(
                f"AFTERSALES_NATS_URL must be server URLs like nats://127.0.0.1:4222 "
                f"({', '.join(s + '://' for s in NATS_SCHEMES)}; several comma-separated), not {_without_password(value)!r}"
            )


def _without_password(url: str) -> str:
    """An error message may be logged: the credentials of `nats://user:pass@host` stay out of it."""
    return re.sub(r"//[^/@,]*@", "//***@", url)
