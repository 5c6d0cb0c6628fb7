"""After-sales cases 售后单: the buyer-merchant process and its deadlines [docs/rules.md: The return flows]."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .machine import Guard, Machine, Transition, transition

TYPES = ("refund_only", "return_refund", "exchange")
REASONS = {
    "not_received": "未收到货",
    "not_as_described": "与描述不符",
    "damaged": "商品损坏",
    "quality_problem": "质量问题",
    "service_not_as_promised": "服务不到位",
    "false_advertising": "虚假宣传",
    "wrong_information": "信息错误",
    "price_fraud": "价格欺诈",
    "wrong_item": "发错货",
    "changed_mind": "不想要了 (七天无理由)",
}
TERMINAL = frozenset({"refunded", "closed", "completed"})
STATUSES = (
    "pending_merchant",
    "awaiting_return",
    "return_shipped",
    "awaiting_refund_voucher",
    "exchange_shipped",
    "rejected",
    "in_intervention",
    *sorted(TERMINAL),
)
# status -> (system action fired when the party in charge lets the timer lapse, policy timer)
DEADLINES = {
    "pending_merchant": ("auto_approve", "merchant_response"),
    "awaiting_return": ("auto_close", "buyer_ship_return"),
    "return_shipped": ("auto_confirm_receipt", "merchant_confirm_receipt"),
    "awaiting_refund_voucher": ("advance_compensation", "cod_refund_voucher"),
    "rejected": ("auto_close", "escalation_window"),
    "exchange_shipped": ("auto_complete", "exchange_receipt"),
    "in_intervention": ("ruling_overdue", "platform_ruling_sla"),
}


@dataclass
class Case:
    id: str
    order_id: str
    buyer_id: str
    merchant_id: str
    payment_method: str
    type: str
    reason: str
    amount: int
    currency: str
    status: str
    policy: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    evidence: list[str] = field(default_factory=list)
    version: int = 1
    deadline_action: str | None = None
    deadline_due_at: datetime | None = None
    return_address: str | None = None
    return_carrier: str | None = None
    return_tracking: str | None = None
    exchange_carrier: str | None = None
    exchange_tracking: str | None = None
    reject_reason: str | None = None
    reject_note: str | None = None
    dispute_id: str | None = None
    closed_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL


def _refund_only(c: Case) -> bool:
    return c.type == "refund_only"


def _goods_back(c: Case) -> bool:
    return c.type != "refund_only"


def _exchange(c: Case) -> bool:
    return c.type == "exchange"


def _return_refund(c: Case) -> bool:
    return c.type == "return_refund"


def _online(c: Case) -> bool:
    return c.payment_method == "online"


def _cod(c: Case) -> bool:
    return c.payment_method == "cod"


def _and(*guards: Guard) -> Guard:
    return lambda c: all(g(c) for g in guards)


def _money_back(action: str, source: str, roles: tuple[str, ...], extra_guard=None, when: str = "") -> list[Transition]:  # type: ignore[no-untyped-def]
    """Online: the platform refunds to the original payment now; COD: the merchant owes a voucher."""
    base = extra_guard or (lambda c: True)
    prefix = f"{when}, " if when else ""
    return [
        transition(
            action,
            source,
            "refunded",
            roles,
            guard=_and(base, _online),
            when=f"{prefix}online",
            effect="refund_original_payment",
        ),
        transition(action, source, "awaiting_refund_voucher", roles, guard=_and(base, _cod), when=f"{prefix}cod"),
    ]


_OPEN_BEFORE_REFUND = (
    "pending_merchant",
    "awaiting_return",
    "return_shipped",
    "rejected",
    "awaiting_refund_voucher",
    "in_intervention",
)

CASE_MACHINE = Machine(
    "after-sale",
    [
        # 商家处理: approve or refuse within the merchant_response timer, else the system agrees.
        *(
            t
            for actor, roles in (("approve", ("merchant",)), ("auto_approve", ("system",)))
            for t in [
                *_money_back(actor, "pending_merchant", roles, _refund_only, "refund_only"),
                transition(
                    actor,
                    "pending_merchant",
                    "awaiting_return",
                    roles,
                    guard=_goods_back,
                    when="return_refund or exchange",
                ),
            ]
        ),
        transition("reject", "pending_merchant", "rejected", "merchant"),
        transition("ship_return", "awaiting_return", "return_shipped", "buyer"),
        transition("auto_close", ("awaiting_return", "rejected"), "closed", "system"),
        # 确认收货: the merchant confirms the returned goods, or the system does for it.
        *_money_back("confirm_receipt", "return_shipped", ("merchant",), _return_refund, "return_refund"),
        transition(
            "confirm_receipt", "return_shipped", "exchange_shipped", "merchant", guard=_exchange, when="exchange"
        ),
        # A late merchant cannot be trusted to ship a replacement: the buyer gets the money back.
        *_money_back("auto_confirm_receipt", "return_shipped", ("system",), when="any type"),
        transition(
            "refund_voucher",
            "awaiting_refund_voucher",
            "refunded",
            "merchant",
            guard=_cod,
            effect="refund_merchant_cod",
        ),
        # 先行赔付: the platform pays first and the merchant is penalised.
        transition(
            "advance_compensation",
            "awaiting_refund_voucher",
            "refunded",
            "system",
            guard=_cod,
            effect="advance_compensation",
        ),
        transition("confirm_exchange", "exchange_shipped", "completed", "buyer"),
        transition("auto_complete", "exchange_shipped", "completed", "system"),
        transition("withdraw", _OPEN_BEFORE_REFUND, "closed", "buyer"),
        transition("escalate", "rejected", "in_intervention", "buyer", effect="open_dispute"),
        transition("dispute_return", "return_shipped", "in_intervention", "merchant", effect="open_dispute"),
        # 判责: a platform ruling (or an appeal or arbitration that overturns a denial) executes itself.
        transition("platform_refund", ("in_intervention", "closed"), "refunded", "agent", effect="platform_refund"),
        transition("platform_deny", "in_intervention", "closed", "agent"),
    ],
)

# The platform's ruling SLA lapsing changes no status: it is recorded and flagged.
SYSTEM_NOTICES = frozenset({"ruling_overdue"})
