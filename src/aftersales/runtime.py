"""Wiring: settings -> engine, clock, policies; shared by the API, the CLI and the workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from . import policies
from .config import Settings
from .domain.clock import Clock, SystemClock
from .services.context import Env
from .store.database import create_engine
from .store.sim_clock import DatabaseClock
from .store.unit_of_work import UnitOfWork


@dataclass
class Runtime:
    settings: Settings
    engine: sa.Engine
    env: Env
    sim_clock: DatabaseClock | None = None

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, read_only=read_only)

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None, engine: sa.Engine | None = None) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = engine or create_engine(settings.database_url)
        sim = DatabaseClock(engine, SystemClock()) if settings.simulated_clock and clock is None else None
        env = Env(
            clock=clock or sim or SystemClock(),
            policy=policies.get,
            default_policy=settings.default_policy,
            data_dir=Path(settings.data_dir),
            evidence_max_bytes=settings.evidence_max_bytes,
        )
        return cls(settings=settings, engine=engine, env=env, sim_clock=sim)
