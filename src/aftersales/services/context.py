"""Who is acting, and what every use case needs besides its transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..domain.calendar import WorkingCalendar
from ..domain.clock import Clock
from ..domain.errors import NotFound
from ..domain.policy import Policy
from ..domain.roles import ALL_TENANTS
from ..integrations.storage import LocalStorage, Storage


@dataclass(frozen=True)
class Actor:
    role: str
    id: str
    merchant_id: str | None = None

    def sees(self, buyer_id: str | None, merchant_id: str | None) -> bool:
        """Tenancy: buyers see their own, merchants their shop's, staff everything."""
        if self.role in ALL_TENANTS:
            return True
        if self.role == "buyer":
            return buyer_id == self.id
        if self.role == "merchant":
            return merchant_id == self.merchant_id
        return False


SYSTEM = Actor("system", "system")


@dataclass
class Env:
    clock: Clock
    policy: Callable[[str], Policy]
    default_policy: str
    data_dir: Path
    evidence_max_bytes: int = 20 * 1024 * 1024
    calendar: WorkingCalendar = field(default_factory=lambda: _china())
    # Where evidence bytes go; files under data_dir/evidence unless the runtime says otherwise.
    storage: Storage = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.storage is None:
            self.storage = LocalStorage(self.data_dir / "evidence")

    def due(self, policy_key: str, timer: str, start: datetime) -> datetime:
        """When `timer` of a policy, started at `start`, lapses (working-day timers included)."""
        return self.policy(policy_key).due_at(timer, start, self.calendar)


def _china() -> WorkingCalendar:
    from ..policies.calendar_cn import CHINA

    return CHINA


class Tenanted(Protocol):
    @property
    def buyer_id(self) -> str | None: ...
    @property
    def merchant_id(self) -> str: ...


T = TypeVar("T", bound=Tenanted)


def visible(obj: T | None, actor: Actor, what: str) -> T:
    """The object if the actor may see it; otherwise the same 404 as a missing one."""
    if obj is None or not actor.sees(obj.buyer_id, obj.merchant_id):
        raise NotFound(f"{what} not found")
    return obj


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """JSON-ready before/after picture of the fields an event talks about."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def copy(obj: Any) -> Any:
    return dataclasses.replace(obj)


def scope(actor: Actor, columns: Any, **filters: str | None) -> list[Any]:
    """WHERE clauses for a listing: the caller's tenancy, then the filters it asked for.
    `columns` is a table's `.c`; a buyer or merchant filter naming someone else yields nothing."""
    where: list[Any] = []
    if actor.role == "buyer":
        where.append(columns.buyer_id == actor.id)
    elif actor.role == "merchant":
        where.append(columns.merchant_id == actor.merchant_id)
    elif actor.role not in ALL_TENANTS:
        where.append(columns.id.is_(None))
    where.extend(getattr(columns, name) == value for name, value in filters.items() if value)
    return where


def matches(column: Any, value: str | tuple[str, ...]) -> Any:
    """A filter's clause: one value, or any of a tuple of them (a queue's "to do" statuses)."""
    return column.in_(value) if isinstance(value, tuple) else column == value
