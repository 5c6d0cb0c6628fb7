"""After-sales cases 售后单: the buyer-merchant process and its deadlines [docs/rules.md: The return flows]."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from .actions import (
    AMOUNT,
    ActionSpec,
    Choice,
    Code,
    Effect,
    Evidence,
    Label,
    Number,
    OptionalCode,
    OptionalParagraph,
    Paragraph,
    RequiredEvidence,
    Text,
    label,
)
from .errors import DeadlinePassed, IllegalTransition, ValidationFailed
from .machine import Guard, Machine, Transition, always, transition
from .roles import AGENT, BUYER, INTEGRATION, MERCHANT, SYSTEM

if TYPE_CHECKING:
    from .orders import Order

# reship 补寄: missing or short-shipped units are sent by the merchant, nothing comes back;
# price_protection 价保: a lower price after payment refunds the difference per unit.
TYPES = ("refund_only", "return_refund", "exchange", "reship", "price_protection")
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
    "missing_items": "少件/漏发",
    "price_drop": "降价补差 (价保)",
}
TERMINAL = frozenset({"refunded", "closed", "completed"})
STATUSES = (
    "pending_merchant",
    "awaiting_buyer",
    "awaiting_return",
    "return_shipped",
    "awaiting_refund_voucher",
    "exchange_shipped",
    "reshipped",
    "rejected",
    "in_intervention",
    *sorted(TERMINAL),
)
# status -> (system action fired when the party in charge lets the timer lapse, policy timer)
DEADLINES = {
    "pending_merchant": ("auto_approve", "merchant_response"),
    # 协商: the merchant's clock is paused meanwhile and resumes with what it had left.
    "awaiting_buyer": ("offer_lapsed", "buyer_offer_response"),
    "awaiting_return": ("auto_close", "buyer_ship_return"),
    "return_shipped": ("auto_confirm_receipt", "merchant_confirm_receipt"),
    "awaiting_refund_voucher": ("advance_compensation", "cod_refund_voucher"),
    "rejected": ("auto_close", "escalation_window"),
    "exchange_shipped": ("auto_complete", "exchange_receipt"),
    "reshipped": ("auto_complete", "reship_receipt"),
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
    # The order's units it is about: [{"sku", "title", "quantity", "unit_price"}]
    items: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1
    deadline_action: str | None = None
    deadline_due_at: datetime | None = None
    return_address: str | None = None
    return_address_id: str | None = None  # the entry of the merchant's book it was taken from
    return_carrier: str | None = None
    return_tracking: str | None = None
    exchange_carrier: str | None = None
    exchange_tracking: str | None = None
    reject_reason: str | None = None
    reject_note: str | None = None
    dispute_id: str | None = None
    # A return_refund ruling's refund: what the buyer gets once the goods are back, whatever the type.
    ruled_amount: int | None = None
    closed_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL

    @property
    def refund_due(self) -> int:
        """What the case refunds when its money moves: the ruled amount after a return_refund ruling."""
        return self.amount if self.ruled_amount is None else self.ruled_amount


def _money_only(c: Case) -> bool:
    """An approval pays at once: a refund or a price difference, or a reship the merchant answers
    with money."""
    return c.type in ("refund_only", "reship", "price_protection")


def _goods_back(c: Case) -> bool:
    return c.type in ("return_refund", "exchange")


def _reship(c: Case) -> bool:
    return c.type == "reship"


def _ruled_return(c: Case) -> bool:
    return c.ruled_amount is not None


def _refund_on_receipt(c: Case) -> bool:
    """A return refund, or any case the platform ruled return_refund: the goods back mean money back."""
    return c.type == "return_refund" or _ruled_return(c)


def _replacement(c: Case) -> bool:
    return c.type == "exchange" and not _ruled_return(c)


def _not_ruled(c: Case) -> bool:
    return not _ruled_return(c)


def _not_exchange(c: Case) -> bool:
    return c.type != "exchange"


def _return_refund(c: Case) -> bool:
    return c.type == "return_refund"


def _online(c: Case) -> bool:
    return c.payment_method == "online"


def _cod(c: Case) -> bool:
    return c.payment_method == "cod"


def _no_speedy_refund(c: Case) -> bool:
    """Nothing refunded as the goods shipped back: once the money moved, withdrawing would close
    the case (and a dispute the merchant opened about what arrived) with the refund kept."""
    return SPEEDY not in c.extra


def _and(*guards: Guard) -> Guard:
    return lambda c: all(g(c) for g in guards)


def _money_back(
    action: str,
    source: str,
    roles: Iterable[str],
    extra_guard: Guard | None = None,
    when: str = "",
    option: str = "",
    *,
    online: Effect = Effect.REFUND_ORIGINAL_PAYMENT,
    cod: Effect | None = None,
) -> list[Transition]:
    """Online: the platform refunds to the original payment now; COD: the merchant owes a voucher.
    (`online`/`cod`: the effects, when the money back comes with more, such as an accepted offer.)"""
    base = extra_guard or always
    prefix = f"{when}, " if when else ""
    return [
        transition(
            action,
            source,
            "refunded",
            roles,
            guard=_and(base, _online),
            when=f"{prefix}online",
            effect=online,
            option=option,
        ),
        transition(
            action,
            source,
            "awaiting_refund_voucher",
            roles,
            guard=_and(base, _cod),
            when=f"{prefix}cod",
            effect=cod,
            option=option,
        ),
    ]


# Statuses a buyer may withdraw from: every open one before the money moved (and, in those the
# goods ship back in, not once a speedy refund paid: see `_no_speedy_refund`).
OPEN_BEFORE_REFUND = (
    "pending_merchant",
    "awaiting_return",
    "return_shipped",
    "rejected",
    "awaiting_refund_voucher",
    "in_intervention",
    "awaiting_buyer",
)
# Where a platform decision may refund a case: in the platform's hands, closed (arbitration, an
# overturned denial) or on its way back after a return_refund ruling.
RULED_OPEN = ("in_intervention", "closed", "awaiting_return", "return_shipped")
# The merchant's own pending steps, whose deadline one extension 延长时效 may move later.
EXTENDABLE = ("pending_merchant", "return_shipped")
RETURN_ISSUES = ("wrong_item", "used", "damaged", "missing_parts", "empty_package", "other")


@dataclass(frozen=True)
class RejectReason:
    label: Label
    evidence_required: bool  # Douyin's reject-reason list flags the codes that need proof (evidence_need)


# 拒绝原因: the codes a merchant's refusal may give (GET /v1/reasons lists them).
REJECT_REASONS = {
    "goods_not_returned": RejectReason(Label("买家未退回商品", "The goods were not returned"), False),
    "already_shipped": RejectReason(Label("商品已发出（附物流信息）", "The goods were shipped (logistics)"), True),
    "buyer_damaged": RejectReason(Label("商品被买家损坏", "The buyer damaged the goods"), True),
    "used_or_incomplete": RejectReason(Label("商品已使用或配件不全", "The goods are used or incomplete"), True),
    "no_quality_issue": RejectReason(Label("商品无质量问题", "The goods have no quality issue"), False),
    "not_seven_day_returnable": RejectReason(Label("不支持七天无理由退货", "Not returnable without a reason"), False),
    "beyond_period": RejectReason(Label("超出售后期", "Past the after-sales period"), False),
    "agreed_otherwise": RejectReason(
        Label("已与买家协商一致（附聊天记录）", "Agreed otherwise with the buyer (chat record)"), True
    ),
    "other": RejectReason(Label("其他", "Other"), False),
}


# --- the inputs of each party's action ----------------------------------------------------------


@dataclass(frozen=True)
class Approve:
    """Where the goods go back: an address of the merchant's book 退货地址库 by its id (the service
    writes it out as `return_address`), or, for a marketplace without books, the text itself."""

    return_address: Annotated[str | None, Text(max_length=500)] = field(
        default=None, metadata=label("退货地址", "Return address")
    )
    return_address_id: OptionalCode = field(default=None, metadata=label("退货地址编号", "Return address id"))
    # A return refunded without the goods coming back 仅退款不退货 (a return_refund request).
    keep_item: bool | None = field(default=None, metadata=label("无需退货", "The buyer keeps the goods"))


@dataclass(frozen=True)
class Reject:
    reason: Annotated[str, Choice(tuple(REJECT_REASONS))] = field(metadata=label("拒绝原因", "Reason"))
    note: OptionalParagraph = field(default=None, metadata=label("说明", "Note"))
    evidence: Evidence = field(default=(), metadata=label("凭证", "Evidence"))

    def __post_init__(self) -> None:
        known = REJECT_REASONS.get(self.reason)
        if known is None:
            raise ValidationFailed(f"unknown reject reason {self.reason!r}; see GET /v1/reasons", fields=["reason"])
        if known.evidence_required and not self.evidence:
            raise ValidationFailed(
                f"a refusal for {self.reason} must cite evidence", code="evidence_required", fields=["evidence"]
            )


@dataclass(frozen=True)
class Offer:
    """协商: a partial refund the buyer may accept, keeping the goods."""

    amount: Annotated[int, AMOUNT] = field(metadata=label("协商退款金额", "Amount offered"))
    note: OptionalParagraph = field(default=None, metadata=label("说明", "Note"))


@dataclass(frozen=True)
class Extend:
    # (the policy's merchant_extension_max bounds it further)
    hours: Annotated[int, Number(maximum=24 * 30)] = field(metadata=label("延长小时数", "Hours"))
    reason: Paragraph = field(metadata=label("延长原因", "Reason"))


@dataclass(frozen=True)
class ShipReturn:
    carrier: Code = field(metadata=label("承运商", "Carrier"))
    tracking_number: Code = field(metadata=label("运单号", "Tracking number"))


@dataclass(frozen=True)
class ConfirmReceipt:
    carrier: OptionalCode = field(default=None, metadata=label("换货承运商", "Replacement's carrier"))
    tracking_number: OptionalCode = field(default=None, metadata=label("换货运单号", "Replacement's tracking number"))


@dataclass(frozen=True)
class Reship:
    carrier: Code = field(metadata=label("承运商", "Carrier"))
    tracking_number: Code = field(metadata=label("运单号", "Tracking number"))


@dataclass(frozen=True)
class RefundVoucher:
    evidence: RequiredEvidence = field(metadata=label("退款凭证", "Refund voucher"))


@dataclass(frozen=True)
class Withdraw:
    reason: OptionalParagraph = field(default=None, metadata=label("撤销原因", "Reason"))


@dataclass(frozen=True)
class Escalate:
    statement: Paragraph = field(metadata=label("申请说明", "Statement"))
    evidence: Evidence = field(default=(), metadata=label("凭证", "Evidence"))


@dataclass(frozen=True)
class DisputeReturn:
    reason: Annotated[str, Choice(RETURN_ISSUES)] = field(metadata=label("退回商品问题", "What is wrong"))
    statement: Paragraph = field(metadata=label("说明", "Statement"))
    evidence: Evidence = field(default=(), metadata=label("凭证", "Evidence"))


@dataclass(frozen=True)
class PlatformRefund:
    refund_amount: Annotated[int, AMOUNT] = field(metadata=label("退款金额", "Refund amount"))


@dataclass(frozen=True)
class PlatformReturn:
    # (not `refund_amount`: an event's refund_amount is money paid, and nothing is paid yet)
    ruled_amount: Annotated[int, AMOUNT] = field(metadata=label("退货后退款金额", "Refund once returned"))
    return_address: Annotated[str | None, Text(max_length=500)] = field(
        default=None, metadata=label("退货地址", "Return address")
    )


@dataclass(frozen=True)
class Claim:
    """So many units of one of the order's items."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class NewCase:
    """What a buyer files: the order and which of its units (default: every unit no other
    request holds), the type and reason, the amount asked (default: all those units may still
    get back), a description and evidence."""

    order_id: str
    type: str
    reason: str
    items: tuple[Claim | Mapping[str, Any], ...] | None = None
    amount: int | None = None
    description: str = ""
    evidence: tuple[str, ...] = ()
    # price_protection: the lower price the integration reported, or one the buyer shows (with evidence)
    price_drop_id: str | None = None
    new_price: int | None = None


SPECS = [
    ActionSpec(
        "approve",
        Label("同意", "Approve"),
        Approve,
        writes={"return_address": "return_address", "return_address_id": "return_address_id"},
        summary="Merchant agrees (return types need return_address or return_address_id)",
    ),
    ActionSpec("auto_approve", Label("超时自动同意", "Approved automatically")),
    ActionSpec(
        "offer",
        Label("协商部分退款", "Offer a partial refund"),
        Offer,
        summary="Merchant offers a partial refund; the buyer keeps the goods 协商",
    ),
    ActionSpec(
        "accept_offer",
        Label("接受协商方案", "Accept the offer"),
        summary="Buyer accepts the merchant's offer: refunded the offered amount",
    ),
    ActionSpec(
        "decline_offer",
        Label("拒绝协商方案", "Decline the offer"),
        summary="Buyer declines the offer: back to the merchant's decision",
    ),
    ActionSpec("offer_lapsed", Label("协商超时未答复", "Offer lapsed unanswered")),
    ActionSpec(
        "extend",
        Label("延长处理时效", "Extend the deadline"),
        Extend,
        summary="Merchant moves its pending deadline later, once per request",
    ),
    ActionSpec(
        "reject",
        Label("拒绝", "Reject"),
        Reject,
        writes={"reason": "reject_reason", "note": "reject_note"},
        summary="Merchant refuses with a reason",
    ),
    ActionSpec(
        "ship_return",
        Label("寄回商品", "Ship the goods back"),
        ShipReturn,
        writes={"carrier": "return_carrier", "tracking_number": "return_tracking"},
        summary="Buyer ships the goods back (or the integration reports the carrier's pickup)",
    ),
    ActionSpec("auto_close", Label("超时自动关闭", "Closed automatically")),
    ActionSpec(
        "confirm_receipt",
        Label("确认收货", "Confirm receipt"),
        ConfirmReceipt,
        writes={"carrier": "exchange_carrier", "tracking_number": "exchange_tracking"},
        summary="Merchant confirms the returned goods (exchange: with the replacement's tracking)",
    ),
    ActionSpec("auto_confirm_receipt", Label("超时自动确认收货", "Receipt confirmed automatically")),
    ActionSpec(
        "refund_voucher",
        Label("上传退款凭证", "Upload the refund voucher"),
        RefundVoucher,
        evidence=True,
        summary="Merchant uploads its COD refund voucher",
    ),
    ActionSpec("advance_compensation", Label("平台先行赔付", "Platform pays first")),
    ActionSpec(
        "confirm_exchange",
        Label("确认收到换货", "Confirm the replacement arrived"),
        summary="Buyer confirms the replacement arrived",
    ),
    ActionSpec("auto_complete", Label("超时自动完成", "Completed automatically")),
    ActionSpec(
        "reship",
        Label("补寄", "Send the missing items"),
        Reship,
        writes={"carrier": "exchange_carrier", "tracking_number": "exchange_tracking"},
        summary="Merchant sends the missing or short-shipped units with tracking",
    ),
    ActionSpec(
        "confirm_reship",
        Label("确认收到补寄", "Confirm the missing items arrived"),
        summary="Buyer confirms the reshipped units arrived",
    ),
    ActionSpec("withdraw", Label("撤销申请", "Withdraw"), Withdraw, summary="Buyer withdraws the request"),
    ActionSpec(
        "escalate",
        Label("申请平台介入", "Call in the platform"),
        Escalate,
        summary="Refused buyer calls in the platform 平台介入",
    ),
    ActionSpec(
        "dispute_return",
        Label("退货有异议", "Dispute the returned goods"),
        DisputeReturn,
        summary="Merchant disputes the returned goods",
    ),
    ActionSpec("platform_refund", Label("平台判定退款", "Refund by ruling"), PlatformRefund, internal=True),
    ActionSpec("platform_deny", Label("平台判定驳回", "Denied by ruling"), internal=True),
    ActionSpec("platform_settle", Label("平台判定已退款", "Granted by ruling, already refunded"), internal=True),
    ActionSpec(
        "platform_return",
        Label("平台判定退货退款", "Return and refund by ruling"),
        PlatformReturn,
        internal=True,
        writes={"ruled_amount": "ruled_amount", "return_address": "return_address"},
    ),
]

CASE_MACHINE = Machine(
    "after-sale",
    [
        # 商家处理: approve or refuse within the merchant_response timer, else the system agrees.
        *(
            t
            for actor, roles in (("approve", (MERCHANT,)), ("auto_approve", (SYSTEM,)))
            for t in [
                # (a reship left unanswered, or answered with money, refunds its units)
                *_money_back(actor, "pending_merchant", roles, _money_only, "refund_only, reship or price_protection"),
                transition(
                    actor,
                    "pending_merchant",
                    "awaiting_return",
                    roles,
                    guard=_goods_back,
                    when="return_refund or exchange",
                    requires=("return_address",) if actor == "approve" else (),
                    takes=("return_address_id",) if actor == "approve" else (),
                ),
            ]
        ),
        # 仅退款不退货: a return request refunded without the goods coming back.
        *_money_back(
            "approve",
            "pending_merchant",
            (MERCHANT,),
            _not_exchange,
            "refund_only or return_refund, keep_item",
            "keep_item",
        ),
        transition("reject", "pending_merchant", "rejected", MERCHANT),
        # 协商: a partial refund offered; the merchant's clock waits for the buyer's answer.
        transition("offer", "pending_merchant", "awaiting_buyer", MERCHANT, effect=Effect.MAKE_OFFER),
        *_money_back(
            "accept_offer", "awaiting_buyer", (BUYER,), online=Effect.TAKE_OFFER_REFUND, cod=Effect.TAKE_OFFER
        ),
        transition("decline_offer", "awaiting_buyer", "pending_merchant", BUYER),
        transition("offer_lapsed", "awaiting_buyer", "pending_merchant", SYSTEM),
        # 延长时效: once per request, the merchant's own pending step (its status stays).
        *(transition("extend", step, step, MERCHANT, effect=Effect.EXTEND_DEADLINE) for step in EXTENDABLE),
        # The buyer uploads the tracking, or the marketplace reports the carrier's pickup 揽收.
        # (极速退款: a qualifying return is refunded as it ships back; the merchant may still dispute it)
        transition(
            "ship_return", "awaiting_return", "return_shipped", (BUYER, INTEGRATION), effect=Effect.SPEEDY_REFUND
        ),
        transition("auto_close", ("awaiting_return", "rejected"), "closed", SYSTEM),
        # 确认收货: the merchant confirms the returned goods, or the system does for it.
        *_money_back(
            "confirm_receipt", "return_shipped", (MERCHANT,), _refund_on_receipt, "return_refund type or ruling"
        ),
        transition(
            "confirm_receipt",
            "return_shipped",
            "exchange_shipped",
            MERCHANT,
            guard=_replacement,
            when="exchange type, no return_refund ruling",
            requires=("carrier", "tracking_number"),
        ),
        # A late merchant cannot be trusted to ship a replacement: the buyer gets the money back.
        *_money_back("auto_confirm_receipt", "return_shipped", (SYSTEM,), when="any type"),
        transition(
            "refund_voucher",
            "awaiting_refund_voucher",
            "refunded",
            MERCHANT,
            guard=_cod,
            effect=Effect.REFUND_MERCHANT_COD,
        ),
        # 先行赔付: the platform pays first and the merchant is penalised.
        transition(
            "advance_compensation",
            "awaiting_refund_voucher",
            "refunded",
            SYSTEM,
            guard=_cod,
            effect=Effect.ADVANCE_COMPENSATION,
        ),
        transition("confirm_exchange", "exchange_shipped", "completed", BUYER),
        transition("auto_complete", ("exchange_shipped", "reshipped"), "completed", SYSTEM),
        # 补寄: the merchant sends the missing units; the buyer confirms, or it completes by itself.
        transition("reship", "pending_merchant", "reshipped", MERCHANT, guard=_reship, when="reship"),
        transition("confirm_reship", "reshipped", "completed", BUYER),
        transition(
            "withdraw", OPEN_BEFORE_REFUND, "closed", BUYER, guard=_no_speedy_refund, when="no speedy refund paid"
        ),
        transition("escalate", "rejected", "in_intervention", BUYER, effect=Effect.OPEN_DISPUTE),
        # After a return_refund ruling the merchant's recourse is the appeal, not a second dispute.
        transition(
            "dispute_return",
            "return_shipped",
            "in_intervention",
            MERCHANT,
            guard=_not_ruled,
            when="not after a ruling",
            effect=Effect.OPEN_DISPUTE,
        ),
        # 判责: a platform ruling (or an appeal or arbitration that overturns a denial) executes itself;
        # a won appeal refunds a ruled return at once, whether or not the goods came back.
        transition("platform_refund", RULED_OPEN, "refunded", AGENT, effect=Effect.PLATFORM_REFUND),
        transition("platform_deny", "in_intervention", "closed", AGENT),
        # A ruling granting what a speedy refund already paid: nothing more moves.
        transition("platform_settle", "in_intervention", "refunded", AGENT),
        # A return_refund ruling: the buyer ships the goods back (the buyer_ship_return timer runs).
        transition("platform_return", "in_intervention", "awaiting_return", AGENT, requires=("return_address",)),
    ],
    SPECS,
    statuses=STATUSES,
    terminal=TERMINAL,
)


def price_difference(value: int, quantity: int, new_price: int) -> int:
    """价保: what units that may still get back `value` in all are owed when the same item now
    sells at `new_price` each: the difference per unit, never below nothing."""
    return max(0, value - quantity * new_price)


def check_price_protection(paid_at: datetime | None, now: datetime, window: timedelta) -> None:
    """A price drop counts within the policy's window after payment."""
    if paid_at is None or now > paid_at + window:
        raise DeadlinePassed("the price-protection period 价保期 of this order is over", code="price_protection_over")


SPEEDY = "speedy_refund"  # case.extra key: the refund paid as the goods shipped back


def speedy_refund_applies(case: Case, limit: int) -> bool:
    """极速退款 by the policy's rule: an online return request (not one a ruling sent back) asking
    at most `limit`; the buyer's own record is the service's to check."""
    return (
        limit > 0
        and case.type == "return_refund"
        and case.payment_method == "online"
        and case.ruled_amount is None
        and case.refund_due <= limit
    )


def goods_came_back(case: Case) -> bool:
    """A refunded return whose goods the buyer shipped back: its units are done with."""
    return case.status == "refunded" and case.return_tracking is not None  # (a ruled return too)


# The platform's ruling SLA lapsing changes no status: it is recorded and flagged.
SYSTEM_NOTICES = frozenset({"ruling_overdue"})


# Order statuses a request may be filed from, and which types each allows.
FILE_FROM = {
    "stocking": frozenset({"price_protection"}),  # a price drop counts from payment
    "shipped": frozenset({"refund_only", "price_protection"}),  # e.g. never arrived
    "delivered": frozenset(TYPES),
    "completed": frozenset(TYPES),
}


def check_fileable(order: Order, case_type: str, now: datetime, window: timedelta) -> None:
    """Who may file what and when, as far as the order itself says: the order's status allows the
    type, and a completed order is still inside its after-sales period 售后期."""
    allowed = FILE_FROM.get(order.status)
    if allowed is None:
        raise IllegalTransition(f"no after-sales request on an order in status {order.status!r}", status=order.status)
    if case_type not in allowed:
        raise IllegalTransition(f"a request of type {case_type} needs the goods delivered", status=order.status)
    if order.status == "completed" and order.completed_at and now > order.completed_at + window:
        raise DeadlinePassed("the after-sales period 售后期 of this order is over", code="after_sales_period_over")
