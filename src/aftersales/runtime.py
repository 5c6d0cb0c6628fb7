"""Wiring: settings -> engine, clock, policies; shared by the API, the CLI and the workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from . import policies
from .config import ConfigError, Settings
from .domain.clock import Clock, SystemClock
from .integrations import payments
from .integrations.storage import LocalStorage, S3Storage, Storage
from .services.context import Env
from .store.database import create_engine
from .store.replica import Replica, create_replica_engine
from .store.sim_clock import DatabaseClock
from .store.unit_of_work import UnitOfWork


@dataclass
class Runtime:
    settings: Settings
    engine: sa.Engine
    env: Env
    payments: payments.PaymentProvider
    sim_clock: DatabaseClock | None = None
    # What sign-ins are timed by: real time, like the tokens', even while the demo's simulated
    # clock jumps days ahead (the clock a test injects, so tests move both).
    session_clock: Clock = field(default_factory=SystemClock)
    # AFTERSALES_DATABASE_REPLICA_URL's engine; None: the primary answers every read.
    replica: Replica | None = None

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, read_only=read_only)

    def replica_uow(self) -> UnitOfWork:
        """A read-only unit of work for reads that may lag the primary (lists, queues, timelines,
        dashboards): on the replica, or on the primary when there is none or it does not answer.
        Never for an action, its checks, or a read the caller's own write must show."""
        if self.replica is None:
            return self.uow(read_only=True)
        return self.replica.unit_of_work(self.engine)

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None, engine: sa.Engine | None = None) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = engine or create_engine(settings.database_url)
        replica = settings.database_replica_url
        sim = DatabaseClock(engine, SystemClock()) if settings.simulated_clock and clock is None else None
        env = Env(
            clock=clock or sim or SystemClock(),
            policy=policies.get,
            default_policy=settings.default_policy,
            data_dir=Path(settings.data_dir),
            evidence_max_bytes=settings.evidence_max_bytes,
            storage=storage(settings),
        )
        provider = payments.build(settings.payments, engine, env.clock, settings.payments_secret)
        return cls(
            settings=settings,
            engine=engine,
            env=env,
            payments=provider,
            sim_clock=sim,
            session_clock=clock or SystemClock(),
            replica=None if replica is None else Replica(create_replica_engine(replica)),
        )


def storage(settings: Settings) -> Storage:
    """The evidence store the settings name (AFTERSALES_STORAGE)."""
    if settings.storage == "s3":
        assert settings.s3_bucket is not None  # Settings.from_env refuses s3 without a bucket
        try:
            return S3Storage(settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region)
        except ImportError:
            raise ConfigError("AFTERSALES_STORAGE=s3 needs boto3: pip install 'aftersales[s3]'") from None
    return LocalStorage(Path(settings.data_dir) / "evidence")
