"""Disputes 平台介入: the platform's half, opened when buyer and merchant could not agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("open", "under_review", "ruled", "appealed", "final")


@dataclass
class Dispute:
    id: str
    after_sale_id: str
    order_id: str
    buyer_id: str
    merchant_id: str
    status: str
    opened_by: str
    created_at: datetime
    updated_at: datetime
    reason: str | None = None
    statements: list[dict[str, Any]] = field(default_factory=list)
    assignee: str | None = None
    deadline_due_at: datetime | None = None
    sla_breached: bool = False
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
