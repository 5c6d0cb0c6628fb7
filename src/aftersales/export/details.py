"""What one timeline entry changed and said, in the reader's words: the status it moved, the
fields it changed, and the action's own inputs, each under its label with its value in words
(a reason's label, money as money, goods by title and count), without the bookkeeping."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..domain import labels
from ..domain.actions import AMOUNT, Choice, Input, Label
from .reader import Reader

L = Label
# Fields an entry may carry that no action spec labels (the subject's own, the records' data).
FIELDS = {
    "status": L("状态", "Status"),
    "amount": L("金额", "Amount"),
    "paid_amount": L("已付", "Paid"),
    "refunded_amount": L("已退", "Refunded"),
    "type": L("类型", "Type"),
    "reason": L("原因", "Reason"),
    "items": L("商品", "Items"),
    "description": L("描述", "Description"),
    "evidence": L("证据", "Evidence"),
    "statement": L("陈述", "Statement"),
    "kind": L("类别", "Kind"),
    "payment_method": L("支付方式", "Payment"),
    "dispute_id": L("平台介入", "Dispute"),
    "after_sale_id": L("售后", "After-sales request"),
    "refund_id": L("退款", "Refund"),
    "refund_amount": L("退款金额", "Refund amount"),
    "appeal_id": L("申诉", "Appeal"),
    "violation_id": L("违规记录", "Violation"),
    "after_sale_status": L("售后状态", "After-sales status"),
    "dispute_status": L("平台介入状态", "Dispute status"),
    "method": L("退款方式", "Refund method"),
    "carrier": L("承运商", "Carrier"),
    "tracking_number": L("运单号", "Tracking number"),
    "cancel_reason": L("取消原因", "Reason for cancelling"),
    "reject_reason": L("拒绝原因", "Reason for refusal"),
    "outcome": L("裁决结果", "Outcome"),
    "liable_party": L("责任方", "Liable party"),
    "rationale": L("理由", "Rationale"),
    "return_address": L("退货地址", "Return address"),
    "return_address_id": L("退货地址编号", "Return address id"),
    "closed_at": L("结束时间", "Closed"),
    "ruled_at": L("裁决时间", "Ruled"),
    "assignee": L("承办客服", "Assigned agent"),
}
# Values these fields name, when no action spec's choice does.
VOCABULARIES: Mapping[str, Mapping[str, Label]] = {
    "type": labels.CASE_TYPE,
    "reason": labels.CASE_REASON,
    "reject_reason": labels.REJECT_REASON,
    "payment_method": labels.PAYMENT_METHOD,
    "method": labels.REFUND_METHOD,
    "kind": labels.DISPUTE_KIND,
    "after_sale_status": labels.CASE_STATUS,
    "dispute_status": labels.DISPUTE_STATUS,
    "outcome": labels.OUTCOME,
    "liable_party": labels.LIABLE_PARTY,
}
MONEY = frozenset({"amount", "paid_amount", "refunded_amount", "refund_amount", "ruled_amount", "unit_price"})
# Bookkeeping: deadlines, versions and unit ledgers, the case's policy (shown once at the top),
# the negotiation thread (the messages table shows it) and flags at their default.
SKIPPED = frozenset({"version", "updated_at", "units", "policy", "negotiation", "sla_breached"})
YES_NO = (L("是", "yes"), L("否", "no"))


def details(event: Mapping[str, Any], r: Reader) -> str:
    kind = event["subject_kind"]
    machine = labels.MACHINES.get(kind)
    spec = machine.specs.get(event["action"]) if machine else None
    inputs = {i.name: i for i in spec.fields} if spec else {}
    before, after = event.get("before") or {}, event.get("after") or {}
    statuses = labels.STATUS_BY_KIND.get(kind, {})
    shown: list[str] = []
    created = event.get("before") is None
    for key, value in after.items():
        if before.get(key) == value or _skipped(key, value) or (created and value in (0, False)):
            continue  # a creation's zero amounts and unset flags say nothing
        if key == "status":
            was = f"{r.of(statuses, before['status'])} → " if before.get("status") else ""
            shown.append(f"{was}{r.of(statuses, value)}")
        elif before.get(key) is not None:
            old = _value(key, before[key], inputs.get(key), r)
            shown.append(f"{_label(key, inputs.get(key), r)}: {old} → {_value(key, value, inputs.get(key), r)}")
        else:
            shown.append(f"{_label(key, inputs.get(key), r)}: {_value(key, value, inputs.get(key), r)}")
    for key, value in (event.get("data") or {}).items():
        if key == "status" and isinstance(value, str):  # a record's word on another subject: an order's on its case
            key = "after_sale_status" if kind == "order" else f"{kind}_status"
        if not _skipped(key, value) and not (key in after and after[key] == value):
            shown.append(f"{_label(key, inputs.get(key), r)}: {_value(key, value, inputs.get(key), r)}")
    return "; ".join(shown)


def _skipped(key: str, value: Any) -> bool:
    return key in SKIPPED or key.startswith("deadline") or value is None or value in ((), [], {}, "")


def _label(key: str, spec_input: Input | None, r: Reader) -> str:
    found = (spec_input.label if spec_input else None) or FIELDS.get(key)
    return r(found) if found else key.replace("_", " ")


def _value(key: str, value: Any, spec_input: Input | None, r: Reader) -> str:
    bound = spec_input.bound if spec_input else None
    if isinstance(value, bool):
        return r(YES_NO[0] if value else YES_NO[1])
    if isinstance(value, int) and (bound == AMOUNT or key in MONEY):
        return r.money(value)
    if isinstance(value, str) and isinstance(bound, Choice):
        return r.of(labels.covering(bound.values), value)
    if isinstance(value, str) and key in VOCABULARIES:
        return r.of(VOCABULARIES[key], value)
    if key == "items":
        return r.items(value)
    if key == "assignee" and isinstance(value, str):
        return r.name("agent", value)
    if key.endswith("_at") and isinstance(value, str):
        return r.time(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
