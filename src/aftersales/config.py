"""Settings from the environment (AFTERSALES_*), validated once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import limits

DEMO_SECRET = "aftersales-demo-secret-not-for-production"
# AFTERSALES_ENV, compared case-insensitively; anything else is refused rather than guessed at.
ENVIRONMENTS = ("development", "test", "production")
# HS256 is only as strong as its key: RFC 7518 3.2 asks for at least the hash's 256 bits.
MIN_SECRET_BYTES = 32
LOG_FORMATS = ("json", "console")


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
    # Logs (logs.py): one JSON object a line, or for people at a terminal; one line per request.
    log_format: str = "json"
    access_log: bool = True
    # A static bearer token a Prometheus scraper sends for GET /metrics (an admin JWT works too).
    metrics_token: str | None = None

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
        metrics_token = env.get("AFTERSALES_METRICS_TOKEN", "") or None
        if production and metrics_token is not None and len(metrics_token.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"AFTERSALES_METRICS_TOKEN must be at least {MIN_SECRET_BYTES} bytes with AFTERSALES_ENV=production"
            )
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
            log_format=log_format(env),
            access_log=_flag(env, "AFTERSALES_ACCESS_LOG", default=True),
            metrics_token=metrics_token,
            **rates,
        )


def log_format(env: Mapping[str, str]) -> str:
    """AFTERSALES_LOG_FORMAT: `json` or `console`; by default console in development (a person
    reads it), JSON in test and production (a log pipeline does)."""
    value = env.get("AFTERSALES_LOG_FORMAT", "").strip().lower()
    if not value:
        development = env.get("AFTERSALES_ENV", "").strip().lower() in ("", "development")
        return "console" if development else "json"
    if value not in LOG_FORMATS:
        raise ConfigError(f"AFTERSALES_LOG_FORMAT must be json or console, not {env.get('AFTERSALES_LOG_FORMAT')!r}")
    return value


def _flag(env: Mapping[str, str], name: str, *, default: bool = False) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in ("", "0", "1", "false", "true"):
        raise ConfigError(f"{name} must be true or false, not {env.get(name)!r}")
    return default if value == "" else value in ("1", "true")
