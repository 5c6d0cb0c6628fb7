"""Settings from the environment (AFTERSALES_*), validated once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEMO_SECRET = "aftersales-demo-secret-not-for-production"


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

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, demo: bool = False, simulated_clock: bool | None = None
    ) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("AFTERSALES_DATA_DIR", "./data")).resolve()
        url = env.get("AFTERSALES_DATABASE_URL") or f"sqlite:///{data_dir / 'aftersales.db'}"
        demo = demo or env.get("AFTERSALES_DEMO", "") in ("1", "true")
        secret = env.get("AFTERSALES_JWT_SECRET", "")
        if not secret:
            if not demo:
                raise ConfigError("AFTERSALES_JWT_SECRET is required outside demo mode")
            secret = DEMO_SECRET
        clock_mode = env.get("AFTERSALES_CLOCK", "system")
        if clock_mode not in ("system", "simulated"):
            raise ConfigError("AFTERSALES_CLOCK must be 'system' or 'simulated'")
        simulated = clock_mode == "simulated" if simulated_clock is None else simulated_clock
        if simulated and env.get("AFTERSALES_ENV") == "production":
            raise ConfigError("the simulated clock cannot run with AFTERSALES_ENV=production")
        max_bytes = int(env.get("AFTERSALES_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024))
        return cls(
            data_dir=data_dir,
            database_url=url,
            jwt_secret=secret,
            simulated_clock=simulated,
            demo=demo,
            default_policy=env.get("AFTERSALES_POLICY", "douyin@1"),
            evidence_max_bytes=max_bytes,
        )
