"""Orders fed by the marketplace, and who may move them where [docs/rules.md: Orders and cancellation]."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from . import lines
from .actions import ActionSpec, Code, Effect, Label, Text, label
from .machine import Machine, transition
from .roles import ADMIN, AGENT, BUYER, MARKETPLACE, MERCHANT, SYSTEM

ONLINE, COD = "online", "cod"
PAYMENT_METHODS = (ONLINE, COD)
STATUSES = (
    "awaiting_payment",
    "awaiting_confirmation",
    "stocking",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
)
# Statuses whose lapse the system acts on: status -> (system action, policy timer).
DEADLINES = {
    "awaiting_payment": ("auto_cancel", "unpaid_order_cancel"),
    "delivered": ("auto_complete", "order_auto_complete"),
}


@dataclass
class Order:
    id: str
    buyer_id: str
    merchant_id: str
    payment_method: str
    currency: str
    shipping_fee: int
    items: list[dict[str, Any]]
    goods_total: int
    status: str
    policy: str
    created_at: datetime
    updated_at: datetime
    paid_amount: int = 0
    refunded_amount: int = 0
    discount: int = 0  # 优惠: off the goods, spread over the lines (domain/lines.py)
    units: dict[str, Any] = field(default_factory=dict)  # sku -> lots (domain/lines.py)
    carrier: str | None = None
    tracking_number: str | None = None
    cancel_reason: str | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    version: int = 1
    deadline_action: str | None = None
    deadline_due_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The live-stream host 达人 the order was sold through, if any: a ruling may hold it liable.
    creator_id: str | None = None

    @property
    def total(self) -> int:
        """What the buyer pays: the goods less the discount, plus shipping."""
        return self.goods_total - self.discount + self.shipping_fee

    @property
    def open_case_ids(self) -> list[str]:
        return lines.holders(self.units)


def initial_status(payment_method: str) -> str:
    return "awaiting_payment" if payment_method == ONLINE else "awaiting_confirmation"


def _online(o: Order) -> bool:
    return o.payment_method == ONLINE


def _cod(o: Order) -> bool:
    return o.payment_method == COD


@dataclass(frozen=True)
class Item:
    sku: str
    title: str
    quantity: int
    unit_price: int


@dataclass(frozen=True)
class NewOrder:
    """An order as the marketplace feeds it in."""

    id: str
    buyer_id: str
    merchant_id: str
    payment_method: str
    currency: str
    items: tuple[Item | Mapping[str, Any], ...]
    shipping_fee: int = 0
    discount: int = 0
    policy: str | None = None
    creator_id: str | None = None


@dataclass(frozen=True)
class Ship:
    carrier: Code = field(metadata=label("承运商", "Carrier"))
    tracking_number: Code = field(metadata=label("运单号", "Tracking number"))


@dataclass(frozen=True)
class Cancel:
    reason: Annotated[str | None, Text(max_length=500)] = field(default=None, metadata=label("取消原因", "Reason"))


SPECS = [
    ActionSpec("pay", Label("已支付", "Paid"), summary="Payment received (integration): awaiting_payment -> stocking"),
    ActionSpec(
        "confirm",
        Label("确认订单", "Confirm"),
        summary="Merchant confirms a COD order: awaiting_confirmation -> stocking",
    ),
    ActionSpec(
        "ship",
        Label("发货", "Ship"),
        Ship,
        writes={"carrier": "carrier", "tracking_number": "tracking_number"},
        summary="Shipped with carrier and tracking number: stocking -> shipped",
    ),
    ActionSpec("deliver", Label("已签收", "Delivered"), summary="Delivered (integration): shipped -> delivered"),
    ActionSpec("complete", Label("确认收货", "Complete"), summary="Completed (integration): delivered -> completed"),
    ActionSpec("auto_complete", Label("超时自动确认收货", "Completed automatically")),
    ActionSpec("auto_cancel", Label("超时未支付自动取消", "Cancelled unpaid")),
    ActionSpec(
        "cancel",
        Label("取消订单", "Cancel"),
        Cancel,
        writes={"reason": "cancel_reason"},
        summary="Cancel by the rules of the payment method",
    ),
]

ORDER_MACHINE = Machine(
    "order",
    [
        transition("pay", "awaiting_payment", "stocking", MARKETPLACE, guard=_online, when="online"),
        transition("confirm", "awaiting_confirmation", "stocking", (MERCHANT, ADMIN), guard=_cod, when="cod"),
        transition("ship", "stocking", "shipped", (MERCHANT, *MARKETPLACE)),
        transition("deliver", "shipped", "delivered", MARKETPLACE),
        transition("complete", "delivered", "completed", MARKETPLACE),
        transition("auto_complete", "delivered", "completed", SYSTEM),
        transition("auto_cancel", "awaiting_payment", "cancelled", SYSTEM, guard=_online, when="online"),
        # Online: the buyer (or customer service for them) until it ships; the merchant never.
        transition(
            "cancel",
            ("awaiting_payment", "stocking"),
            "cancelled",
            (BUYER, AGENT, *MARKETPLACE),
            guard=_online,
            when="online",
            effect=Effect.REFUND_PAYMENT,
        ),
        # COD: the merchant while awaiting confirmation or stocking; the buyer only via customer service.
        transition(
            "cancel",
            ("awaiting_confirmation", "stocking"),
            "cancelled",
            (MERCHANT, AGENT, *MARKETPLACE),
            guard=_cod,
            when="cod",
        ),
    ],
    SPECS,
    statuses=STATUSES,
    terminal=("completed", "cancelled"),
)
