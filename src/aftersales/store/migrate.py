"""Schema migrations (Alembic), run in-process so no alembic.ini is needed."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

_HERE = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def revision(engine: sa.Engine, message: str) -> None:
    """Developers: autogenerate a migration from the difference between tables.py and the db."""
    with engine.begin() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)


def is_current(engine: sa.Engine) -> bool:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head
