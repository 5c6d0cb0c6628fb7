"""Settings from the environment (AFTERSALES_*), validated once at start-up."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
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
# Payment providers AFTERSALES_PAYMENTS may name; an adapter for a real one follows the
# PaymentProvider Protocol of integrations/payments.py.
PAYMENT_PROVIDERS = ("simulated",)
# Signs the simulated provider's callbacks when AFTERSALES_PAYMENTS_SECRET is unset (public: a
# simulation has nothing to protect).
SIMULATED_PAYMENTS_SECRET = "aftersales-simulated-payments-secret"

LOG_FORMATS = ("json", "console")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    jwt_secret: str | None  # None: HS256 tokens are refused (a JWKS is configured instead)
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

    # The marketplace's IdP (api/jwks.py): RS256/ES256 tokens verified with the keys it publishes,
    # from a URL or a file, their `iss` and `aud` checked.
    jwks_url: str | None = None
    jwks_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_timeout: float = 3.0  # seconds a JWKS fetch may take to connect, and for each read
    # Where evidence bytes are kept (integrations/storage.py): "local" files under data_dir, or
    # "s3", a bucket on any S3-compatible server (credentials from the usual AWS_* variables).
    storage: str = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None

    payments: str = "simulated"
    payments_secret: str = SIMULATED_PAYMENTS_SECRET  # HMAC key of the provider's callbacks
    # The simulated provider's faults switchable through PUT /v1/admin/payments/simulated: never in production.
    payments_faults: bool = True

    # Logs (logs.py): one JSON object a line, or for people at a terminal; one line per request.
    log_format: str = "json"
    access_log: bool = True
    # A static bearer token a Prometheus scraper sends for GET /metrics (an admin JWT works too).
    metrics_token: str | None = None
    # PostgreSQL's monthly partitions of events and outbox (store/partitions.py): months kept
    # before old event partitions are archived and delivered outbox ones dropped; None: forever.
    events_retention_months: int | None = None
    outbox_retention_months: int | None = None
    # A streaming replica of the PostgreSQL database (store/replica.py): lists, queues, timelines
    # and dashboards read from it; every action, its checks and its Idempotency-Key stay on the
    # primary. None: everything reads the primary.
    database_replica_url: str | None = None

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
        replica_url = _replica_url(env, url)
        demo = demo or env.get("AFTERSALES_DEMO", "") in ("1", "true")
        environment = env.get("AFTERSALES_ENV", "").strip().lower() or "development"
        if environment not in ENVIRONMENTS:
            raise ConfigError(
                f"AFTERSALES_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env.get('AFTERSALES_ENV')!r}"
            )
        production = environment == "production"
        if production and demo:
            raise ConfigError("demo mode (--demo, AFTERSALES_DEMO) cannot run with AFTERSALES_ENV=production")
        jwks_url, jwks_file, issuer, audience = _identity_provider(env)
        secret: str | None = env.get("AFTERSALES_JWT_SECRET", "")
        if not secret:
            if (jwks_url or jwks_file) and not demo and (secret_required or production):
                secret = None  # only the IdP's tokens: HS256 is off
            elif production or (secret_required and not demo):
                raise ConfigError(
                    "AFTERSALES_JWT_SECRET is required"
                    + ("" if production else " outside demo mode")
                    + " (or the IdP's keys: AFTERSALES_JWKS_URL or AFTERSALES_JWKS_FILE)"
                )
            else:
                secret = DEMO_SECRET
        if production and secret == DEMO_SECRET:
            raise ConfigError("AFTERSALES_JWT_SECRET is the public demo secret: refused with AFTERSALES_ENV=production")
        if production and secret is not None and len(secret.encode()) < MIN_SECRET_BYTES:
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
        payments = env.get("AFTERSALES_PAYMENTS", "").strip() or "simulated"
        if payments not in PAYMENT_PROVIDERS:
            raise ConfigError(f"AFTERSALES_PAYMENTS must be one of {', '.join(PAYMENT_PROVIDERS)}, not {payments!r}")
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
        storage = env.get("AFTERSALES_STORAGE", "").strip().lower() or "local"
        if storage not in ("local", "s3"):
            raise ConfigError(f"AFTERSALES_STORAGE must be 'local' or 's3', not {env.get('AFTERSALES_STORAGE')!r}")
        bucket = env.get("AFTERSALES_S3_BUCKET", "").strip() or None
        if storage == "s3" and bucket is None:
            raise ConfigError("AFTERSALES_S3_BUCKET is required with AFTERSALES_STORAGE=s3")
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
            jwks_url=jwks_url,
            jwks_file=jwks_file,
            jwt_issuer=issuer,
            jwt_audience=audience,
            jwks_timeout=_seconds(env, "AFTERSALES_JWKS_TIMEOUT", 3.0),
            storage=storage,
            s3_bucket=bucket,
            s3_endpoint_url=env.get("AFTERSALES_S3_ENDPOINT_URL", "").strip() or None,
            s3_region=env.get("AFTERSALES_S3_REGION", "").strip() or None,
            payments=payments,
            # In production the public default would let anyone sign a callback that marks a refund
            # paid: unset there, the key is random and no outside callback verifies.
            payments_secret=env.get("AFTERSALES_PAYMENTS_SECRET")
            or (secrets.token_urlsafe(32) if production else SIMULATED_PAYMENTS_SECRET),
            payments_faults=not production,
            log_format=log_format(env),
            access_log=_flag(env, "AFTERSALES_ACCESS_LOG", default=True),
            metrics_token=metrics_token,
            events_retention_months=_months(env, "AFTERSALES_EVENTS_RETENTION_MONTHS"),
            outbox_retention_months=_months(env, "AFTERSALES_OUTBOX_RETENTION_MONTHS"),
            database_replica_url=replica_url,
            **rates,
        )


def _replica_url(env: Mapping[str, str], primary: str) -> str | None:
    """AFTERSALES_DATABASE_REPLICA_URL: a PostgreSQL standby of the PostgreSQL primary (SQLite has
    no replicas: a second file would just be another database, never caught up)."""
    url = env.get("AFTERSALES_DATABASE_REPLICA_URL", "").strip() or None
    if url is None:
        return None
    if not url.startswith("postgresql") or not primary.startswith("postgresql"):
        raise ConfigError(
            "AFTERSALES_DATABASE_REPLICA_URL is a PostgreSQL replica of a PostgreSQL AFTERSALES_DATABASE_URL"
        )
    return url


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


def _identity_provider(env: Mapping[str, str]) -> tuple[str | None, Path | None, str | None, str | None]:
    """AFTERSALES_JWKS_URL or _FILE, with the `iss` and `aud` its tokens must carry."""
    url = env.get("AFTERSALES_JWKS_URL", "").strip() or None
    file = env.get("AFTERSALES_JWKS_FILE", "").strip() or None
    issuer = env.get("AFTERSALES_JWT_ISSUER", "").strip() or None
    audience = env.get("AFTERSALES_JWT_AUDIENCE", "").strip() or None
    if url and file:
        raise ConfigError("set AFTERSALES_JWKS_URL or AFTERSALES_JWKS_FILE, not both")
    if url:
        _check_jwks_url(url)
    path = Path(file).resolve() if file else None
    if path is not None:
        _check_jwks_file(path, file or "")
    if (url or path) and not (issuer and audience):
        # The IdP signs tokens for every service of the marketplace: without these checks a token
        # it issued for any of them (or any user of another) would be taken as one for us.
        raise ConfigError(
            "a JWKS needs AFTERSALES_JWT_ISSUER and AFTERSALES_JWT_AUDIENCE (the `iss` and `aud` to check)"
        )
    if (issuer or audience) and not (url or path):
        raise ConfigError(
            "AFTERSALES_JWT_ISSUER and AFTERSALES_JWT_AUDIENCE are checked on the IdP's tokens only: "
            "set AFTERSALES_JWKS_URL or AFTERSALES_JWKS_FILE too"
        )
    return url, path, issuer, audience


def _check_jwks_file(path: Path, given: str) -> None:
    """A readable JSON object with a `keys` list (each key is checked when a token needs it; the
    file may be replaced while the server runs, for a rotation)."""
    if not path.is_file():
        raise ConfigError(f"AFTERSALES_JWKS_FILE is not a file: {given!r}")
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"AFTERSALES_JWKS_FILE is not readable JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ConfigError('AFTERSALES_JWKS_FILE is not a JWKS: a JSON object {"keys": [...]}')


def _check_jwks_url(url: str) -> None:
    """https, or plain http to this host only (a test IdP): keys fetched in the clear could be swapped."""
    parts = urlsplit(url)
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises on a port that is no number)
    except ValueError:
        host = ""
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"AFTERSALES_JWKS_URL must be an https:// URL, not {url!r}")
    if parts.scheme == "http" and not _loopback(host):
        raise ConfigError(f"AFTERSALES_JWKS_URL must use https (plain http only on loopback): {url!r}")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = -1.0
    if not 0 < value <= 60:
        raise ConfigError(f"{name} must be a number of seconds from 0 to 60, not {raw!r}")
    return value


def _months(env: Mapping[str, str], name: str) -> int | None:
    """A retention in whole months, at least 1; unset (or empty): keep forever."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a whole number of months, at least 1, not {raw!r}")
    return int(raw)
