"""The reader's words for the codes the domain stores (statuses, types, roles, outcomes...), in
Chinese and English: one table per vocabulary, keyed by the domain's own tuples (a test checks
each code has its words). Actions take theirs from their specs; reasons from `cases.REASONS`."""

from __future__ import annotations

from collections.abc import Mapping

from . import cases, disputes, orders
from .actions import Label
from .machine import Machine

CASE_TYPES = {
    "refund_only": Label("仅退款", "Refund only"),
    "return_refund": Label("退货退款", "Return and refund"),
    "exchange": Label("换货", "Exchange"),
    "reship": Label("补寄", "Reship"),
    "price_protection": Label("价保", "Price protection"),
}
CASE_STATUSES = {
    "pending_merchant": Label("待商家处理", "Awaiting the merchant"),
    "awaiting_buyer": Label("待买家答复协商", "Awaiting the buyer's answer"),
    "awaiting_return": Label("待买家退货", "Awaiting the return"),
    "return_shipped": Label("买家已退货", "Return shipped"),
    "awaiting_refund_voucher": Label("待上传退款凭证", "Awaiting the refund voucher"),
    "exchange_shipped": Label("换货已发出", "Replacement shipped"),
    "reshipped": Label("已补寄", "Missing items sent"),
    "rejected": Label("商家已拒绝", "Rejected by the merchant"),
    "in_intervention": Label("平台介入中", "With the platform"),
    "closed": Label("已关闭", "Closed"),
    "completed": Label("已完成", "Completed"),
    "refunded": Label("已退款", "Refunded"),
}
ORDER_STATUSES = {
    "awaiting_payment": Label("待付款", "Awaiting payment"),
    "awaiting_confirmation": Label("待确认", "Awaiting confirmation"),
    "stocking": Label("备货中", "Being prepared"),
    "shipped": Label("已发货", "Shipped"),
    "delivered": Label("已签收", "Delivered"),
    "completed": Label("已完成", "Completed"),
    "cancelled": Label("已取消", "Cancelled"),
}
PAYMENT_METHODS = {
    orders.ONLINE: Label("在线支付", "Paid online"),
    orders.COD: Label("货到付款", "Cash on delivery"),
}
DISPUTE_KINDS = {"intervention": Label("平台介入", "Intervention"), "arbitration": Label("仲裁", "Arbitration")}
DISPUTE_STATUSES = {
    "applied": Label("已申请", "Applied"),
    "open": Label("处理中", "Open"),
    "under_review": Label("审核中", "Under review"),
    "ruled": Label("已判责", "Ruled"),
    "appealed": Label("申诉中", "Appealed"),
    "final": Label("已终局", "Final"),
    "declined": Label("不予受理", "Declined"),
}
OUTCOMES = {
    "refund": Label("全额退款", "Full refund"),
    "partial_refund": Label("部分退款", "Partial refund"),
    "return_refund": Label("退货退款", "Return and refund"),
    "deny": Label("驳回", "Denied"),
}
LIABLE_PARTIES = {
    "merchant": Label("商家", "The merchant"),
    "buyer": Label("买家", "The buyer"),
    "logistics": Label("物流", "Logistics"),
    "platform": Label("平台", "The platform"),
    "none": Label("无责", "No one"),
    "both": Label("双方", "Both parties"),
    "creator": Label("达人", "The creator"),
}
ROLES = {
    "buyer": Label("买家", "Buyer"),
    "merchant": Label("商家", "Merchant"),
    "agent": Label("平台客服", "Platform agent"),
    "admin": Label("管理员", "Administrator"),
    "integration": Label("对接系统", "Marketplace system"),
    "system": Label("系统", "System"),
}
# What the timeline records beside the actions of the specs: creations and bookkeeping.
EVENTS = {
    "file": Label("提交售后申请", "Request filed"),
    "open": Label("平台介入受理", "Dispute opened"),
    "after_sale_opened": Label("发起售后", "After-sales request opened"),
    "after_sale_closed": Label("售后结束", "After-sales request ended"),
    "arbitration_applied": Label("申请仲裁", "Arbitration applied for"),
    "refunded": Label("已退款", "Refunded"),
}
SUBJECTS = {
    "order": Label("订单", "Order"),
    "after_sale": Label("售后", "After-sales"),
    "dispute": Label("平台介入", "Dispute"),
}
# The vocabulary each table speaks for (the completeness test walks this).
COVERS: Mapping[str, tuple[Mapping[str, Label], tuple[str, ...]]] = {
    "case types": (CASE_TYPES, cases.TYPES),
    "case statuses": (CASE_STATUSES, cases.STATUSES),
    "order statuses": (ORDER_STATUSES, orders.STATUSES),
    "payment methods": (PAYMENT_METHODS, orders.PAYMENT_METHODS),
    "dispute kinds": (DISPUTE_KINDS, disputes.KINDS),
    "dispute statuses": (DISPUTE_STATUSES, disputes.STATUSES),
    "outcomes": (OUTCOMES, disputes.OUTCOMES),
    "liable parties": (LIABLE_PARTIES, disputes.LIABLE_PARTIES),
}
MACHINES: Mapping[str, Machine] = {
    "order": orders.ORDER_MACHINE,
    "after_sale": cases.CASE_MACHINE,
    "dispute": disputes.DISPUTE_MACHINE,
}


def action(subject_kind: str, name: str) -> Label | None:
    """An event's words: its action spec's label, else the timeline's own events."""
    machine = MACHINES.get(subject_kind)
    spec = machine.specs.get(name) if machine else None
    return spec.label if spec else EVENTS.get(name)


def words(table: Mapping[str, Label], code: str | None, lang: str) -> str:
    """The code in the reader's language; an unknown code is shown as it is."""
    if code is None:
        return "—"
    found = table.get(code)
    return (found.zh if lang == "zh" else found.en) if found else code
