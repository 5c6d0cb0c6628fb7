"""What people read for the codes the rules use: each status, type, reason and party in Chinese
and English, once. The console, the case file and the docs show these; the API sends the codes.
Actions carry their own labels in their specs (domain/actions.py)."""

from __future__ import annotations

from collections.abc import Mapping

from . import cases, complaints, disputes, media, money, orders, policy, reviews, sanctions
from .actions import Label
from .machine import Machine

L = Label

CASE_STATUS = {
    "pending_merchant": L("待商家处理", "Awaiting the merchant"),
    "awaiting_buyer": L("待买家确认方案", "Awaiting the buyer's answer"),
    "awaiting_return": L("待买家退货", "Awaiting the return"),
    "return_shipped": L("买家已退货", "Return shipped"),
    "awaiting_refund_voucher": L("待商家上传退款凭证", "Awaiting the refund voucher"),
    "exchange_shipped": L("换货已发出", "Exchange shipped"),
    "reshipped": L("已补寄", "Reshipped"),
    "rejected": L("商家已拒绝", "Rejected by the merchant"),
    "in_intervention": L("平台介入中", "Platform intervening"),
    "refunded": L("退款成功", "Refunded"),
    "closed": L("已关闭", "Closed"),
    "completed": L("已完成", "Completed"),
}
ORDER_STATUS = {
    "awaiting_payment": L("待付款", "Awaiting payment"),
    "awaiting_confirmation": L("待确认", "Awaiting confirmation"),
    "stocking": L("备货中", "Stocking"),
    "shipped": L("已发货", "Shipped"),
    "delivered": L("已签收", "Delivered"),
    "completed": L("交易完成", "Completed"),
    "cancelled": L("已取消", "Cancelled"),
}
DISPUTE_STATUS = {
    "applied": L("已申请", "Applied"),
    "open": L("待受理", "Open"),
    "under_review": L("审理中", "Under review"),
    "ruled": L("已裁决", "Ruled"),
    "appealed": L("申诉中", "Under appeal"),
    "final": L("终审", "Final"),
    "declined": L("不予受理", "Declined"),
}
COMPLAINT_STATUS = {
    "awaiting_reply": L("待商家回复", "Awaiting the reply"),
    "awaiting_solution": L("待商家处理", "Awaiting a solution"),
    "under_review": L("平台审核中", "Under review"),
    "awaiting_buyer": L("待买家确认", "Awaiting the buyer"),
    "escalated": L("已升级", "Escalated"),
    "resolved": L("已解决", "Resolved"),
    "decided": L("已判定", "Decided"),
    "withdrawn": L("已撤销", "Withdrawn"),
}
REVIEW_STATUS = {"posted": L("已评价", "Posted"), "replied": L("商家已回复", "Replied")}
CASE_TYPE = {
    "refund_only": L("仅退款", "Refund only"),
    "return_refund": L("退货退款", "Return and refund"),
    "exchange": L("换货", "Exchange"),
    "reship": L("补寄", "Reship"),
    "price_protection": L("价保", "Price protection"),
}
CASE_REASON_EN = {
    "not_received": "Not received",
    "not_as_described": "Not as described",
    "damaged": "Damaged",
    "quality_problem": "Quality problem",
    "service_not_as_promised": "Service not as promised",
    "false_advertising": "False advertising",
    "wrong_information": "Wrong information",
    "price_fraud": "Price fraud",
    "wrong_item": "Wrong item sent",
    "changed_mind": "Changed my mind (7-day return)",
    "missing_items": "Items missing",
    "price_drop": "Price drop (price protection)",
}
CASE_REASON = {code: L(zh, CASE_REASON_EN[code]) for code, zh in cases.REASONS.items()}
REJECT_REASON = {code: reason.label for code, reason in cases.REJECT_REASONS.items()}
COMPLAINT_CATEGORY = {
    "induced_review": L("诱导好评", "Induced review"),
    "false_advertising": L("虚假宣传", "False advertising"),
    "service_attitude": L("服务态度", "Service attitude"),
    "not_as_described": L("描述不符", "Not as described"),
    "buyer_abuse": L("买家恶意行为", "Buyer abuse"),
    "ruling_objection": L("对裁决有异议", "Objection to a ruling"),
    "other": L("其他", "Other"),
}
OUTCOME = {
    "refund": L("全额退款", "Full refund"),
    "partial_refund": L("部分退款", "Partial refund"),
    "return_refund": L("退货退款", "Return and refund"),
    "deny": L("驳回", "Denied"),
}
LIABLE_PARTY = {
    "merchant": L("商家", "The merchant"),
    "buyer": L("买家", "The buyer"),
    "logistics": L("物流", "The carrier"),
    "platform": L("平台", "The platform"),
    "none": L("无责方", "No one"),
    "both": L("双方", "Both sides"),
    "creator": L("达人", "The creator"),
}
ROLE = {
    "buyer": L("买家", "Buyer"),
    "merchant": L("商家", "Merchant"),
    "agent": L("平台客服", "Platform agent"),
    "admin": L("平台管理员", "Platform admin"),
    "integration": L("对接系统", "Marketplace systems"),
    "system": L("系统", "System"),
}
EVIDENCE_KIND = {
    "order_info": L("订单信息", "Order details"),
    "chat_record": L("聊天记录", "Chat record"),
    "product_media": L("商品图片/视频", "Product photos or video"),
    "logistics": L("物流凭证", "Logistics proof"),
    "inspection_report": L("质检报告", "Inspection report"),
    "other": L("其他", "Other"),
}
RETURN_ISSUE = {
    "wrong_item": L("退回商品与原商品不符", "Not the item sold"),
    "used": L("商品已使用", "Used"),
    "damaged": L("商品已损坏", "Damaged"),
    "missing_parts": L("配件缺失", "Parts missing"),
    "empty_package": L("空包裹", "Empty package"),
    "other": L("其他", "Other"),
}
PAYMENT_METHOD = {"online": L("在线支付", "Paid online"), "cod": L("货到付款", "Cash on delivery")}
DISPUTE_KIND = {"intervention": L("平台介入", "Intervention"), "arbitration": L("仲裁", "Arbitration")}
APPEAL_DECISION = {"uphold": L("维持原裁决", "Upheld"), "overturn": L("改判", "Overturned")}
# A merchant's record 违规记录 (services/refunds.record_violation's kinds) and what its points lead to
# (the policies' [[sanctions]] restrictions).
VIOLATION_KIND = {
    "points": L("扣分", "Points"),
    "advance_compensation": L("平台先行赔付", "Platform paid first"),
    "warning": L("警示", "Warning"),
    "penalty": L("处罚", "Penalty"),
}
VIOLATION_STATUS = {"active": L("生效中", "In force"), "revoked": L("已撤销", "Revoked")}
RESTRICTION = {
    "warning_banner": L("店铺警示标识", "A warning on the shop's page"),
    "restrict_new_listings": L("限制发布新商品", "No new listings"),
    "suspend_shop": L("店铺暂停经营", "The shop is suspended"),
}
APPEAL_STATUS = {
    "pending": L("待复核", "Pending"),
    "upheld": L("维持原裁决", "Ruling upheld"),
    "overturned": L("改判", "Ruling overturned"),
}
REFUND_STATUS = {
    "pending": L("退款处理中", "Being paid"),
    "succeeded": L("退款成功", "Paid"),
    "failed": L("退款失败", "Failed"),
}
REFUND_METHOD = {
    "original_payment": L("原路退回", "To the original payment"),
    "merchant_cod": L("商家退款（货到付款）", "By the merchant (cash on delivery)"),
    "advance_compensation": L("平台先行赔付", "Advance compensation by the platform"),
}
SUBJECT = {
    "order": L("订单", "Order"),
    "after_sale": L("售后", "After-sales"),
    "dispute": L("平台介入", "Dispute"),
    "complaint": L("投诉", "Complaint"),
    "review": L("评价", "Review"),
}
# What a timeline records beside the actions of the specs: creations and bookkeeping
# (each kind's `created_by` and `records`, services/kinds.py; a test holds every one to a label).
EVENT = {
    "create": L("订单创建", "Order placed"),
    "file": L("提交申请", "Filed"),
    "open": L("发起平台介入", "Dispute opened"),
    "post": L("发布评价", "Review posted"),
    "after_sale_opened": L("发起售后", "After-sales request opened"),
    "after_sale_closed": L("售后结束", "After-sales request ended"),
    "arbitration_applied": L("申请仲裁", "Arbitration applied for"),
    "refunded": L("已退款", "Refunded"),
    "message_posted": L("发送协商消息", "Message sent"),
    "deadline_approaching": L("时限提醒", "Deadline reminder"),
    "ruling_overdue": L("裁决超时", "Ruling overdue"),
    "review_overdue": L("审核超时", "Review overdue"),
}

COMPLAINT_DECISION = {"upheld": L("投诉成立", "Complaint founded"), "dismissed": L("投诉不成立", "Complaint dismissed")}
# The policy's timers by name (what policy/*.toml sets), as the console's policy page names them.
TIMER = {
    "unpaid_order_cancel": L("未支付订单自动取消", "Unpaid order cancelled"),
    "order_auto_complete": L("签收后自动确认收货", "Delivered order completed"),
    "after_sales_window": L("售后申请期限", "Window to file a request"),
    "merchant_response": L("商家处理售后时效", "Merchant answers a request"),
    "buyer_ship_return": L("买家退货时效", "Buyer ships the return"),
    "merchant_confirm_receipt": L("商家确认收货时效", "Merchant confirms receipt"),
    "cod_refund_voucher": L("货到付款退款凭证时效", "COD refund voucher"),
    "escalation_window": L("申请平台介入期限", "Window to call in the platform"),
    "exchange_receipt": L("换货确认收货时效", "Buyer confirms the exchange"),
    "reship_receipt": L("补发确认收货时效", "Buyer confirms the reshipment"),
    "price_protection_window": L("价保期限", "Price protection window"),
    "platform_ruling_sla": L("平台判责时效", "Platform's ruling SLA"),
    "evidence_period": L("举证期限", "Evidence period"),
    "appeal_window": L("申诉期限", "Appeal window"),
    "complaint_reply": L("商家回复投诉时效", "Merchant replies to a complaint"),
    "complaint_solution": L("商家提出解决方案时效", "Merchant proposes a solution"),
    "complaint_review": L("平台审核投诉时效", "Platform reviews a complaint"),
    "complaint_buyer_confirm": L("买家确认解决方案时效", "Buyer confirms the solution"),
    "review_window": L("评价期限", "Window to review"),
    "buyer_offer_response": L("买家答复协商方案时效", "Buyer answers an offer"),
    "merchant_extension_max": L("商家延长处理时效上限", "Longest merchant extension"),
}

# Each vocabulary and the codes the rules define for it: tests hold every code to a label.
VOCABULARIES: Mapping[str, tuple[Mapping[str, Label], tuple[str, ...]]] = {
    "case_status": (CASE_STATUS, cases.STATUSES),
    "order_status": (ORDER_STATUS, orders.STATUSES),
    "dispute_status": (DISPUTE_STATUS, disputes.STATUSES),
    "complaint_status": (COMPLAINT_STATUS, complaints.STATUSES),
    "review_status": (REVIEW_STATUS, reviews.STATUSES),
    "case_type": (CASE_TYPE, cases.TYPES),
    "case_reason": (CASE_REASON, tuple(cases.REASONS)),
    "reject_reason": (REJECT_REASON, tuple(cases.REJECT_REASONS)),
    "complaint_category": (
        COMPLAINT_CATEGORY,
        tuple(dict.fromkeys((*complaints.BUYER_CATEGORIES, *complaints.MERCHANT_CATEGORIES))),
    ),
    "outcome": (OUTCOME, disputes.OUTCOMES),
    "liable_party": (LIABLE_PARTY, disputes.LIABLE_PARTIES),
    "evidence_kind": (EVIDENCE_KIND, media.EVIDENCE_KINDS),
    "payment_method": (PAYMENT_METHOD, orders.PAYMENT_METHODS),
    "return_issue": (RETURN_ISSUE, cases.RETURN_ISSUES),
    "dispute_kind": (DISPUTE_KIND, disputes.KINDS),
    "appeal_decision": (APPEAL_DECISION, disputes.DECISIONS),
    "complaint_decision": (COMPLAINT_DECISION, complaints.DECISIONS),
    "timer": (TIMER, tuple(policy.TIMERS)),
    "appeal_status": (APPEAL_STATUS, disputes.APPEAL_STATUSES),
    "refund_status": (REFUND_STATUS, money.REFUND_STATUSES),
    "refund_method": (REFUND_METHOD, money.REFUND_METHODS),
    "violation_kind": (VIOLATION_KIND, sanctions.VIOLATION_KINDS),
    "violation_status": (VIOLATION_STATUS, sanctions.STATUSES),
}
STATUS_BY_KIND = {
    "order": ORDER_STATUS,
    "after_sale": CASE_STATUS,
    "dispute": DISPUTE_STATUS,
    "complaint": COMPLAINT_STATUS,
    "review": REVIEW_STATUS,
}
MACHINES: Mapping[str, Machine] = {
    "order": orders.ORDER_MACHINE,
    "after_sale": cases.CASE_MACHINE,
    "dispute": disputes.DISPUTE_MACHINE,
    "complaint": complaints.COMPLAINT_MACHINE,
    "review": reviews.REVIEW_MACHINE,
}


def of(vocabulary: Mapping[str, Label], code: str | None) -> Label | None:
    """The label of `code`, None for no code; an unknown code reads as itself in both languages."""
    if code is None:
        return None
    return vocabulary.get(code) or Label(code, code)


def event(subject_kind: str, action: str) -> Label:
    """A timeline entry's words: its action spec's label, else the timeline's own events."""
    machine = MACHINES.get(subject_kind)
    spec = machine.specs.get(action) if machine else None
    return spec.label if spec else (EVENT.get(action) or Label(action, action))


def covering(values: tuple[str, ...]) -> Mapping[str, Label]:
    """The smallest vocabulary naming every value of a closed set (empty if none does)."""
    found = [table for table, _ in VOCABULARIES.values() if set(values) <= set(table)]
    return min(found, key=len) if found else {}
