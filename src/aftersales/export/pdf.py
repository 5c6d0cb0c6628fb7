"""The case file as a PDF a person can read: the JSON's content in the reader's language (Chinese
by default, or English), with names, local times, money and labels instead of codes. Its font is
embedded (export/fonts.py), so it reads the same on any machine."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..domain import labels
from ..domain.actions import Label
from ..domain.errors import ValidationFailed
from . import fonts
from .details import details
from .reader import Lang, Reader

__all__ = ["Lang", "check_zone", "render"]

# The document's own words (the domain's codes take theirs from domain/labels.py).
T = {
    "title": Label("售后案件档案", "Case file"),
    "case": Label("案件", "Case"),
    "order": Label("订单", "Order"),
    "policy": Label("政策", "Policy"),
    "times": Label("时间均为 {zone} 时区", "Times in {zone}"),
    "field": Label("字段", "Field"),
    "value": Label("值", "Value"),
    "buyer": Label("买家", "Buyer"),
    "merchant": Label("商家", "Merchant"),
    "payment": Label("支付方式", "Payment"),
    "status": Label("状态", "Status"),
    "items": Label("商品", "Items"),
    "shipping": Label("运费", "Shipping"),
    "discount": Label("优惠", "Discount"),
    "paid": Label("已付", "Paid"),
    "refunded": Label("已退", "Refunded"),
    "placed": Label("下单时间", "Placed"),
    "request": Label("售后申请", "After-sales request"),
    "type": Label("类型", "Type"),
    "reason": Label("原因", "Reason"),
    "amount": Label("金额", "Amount"),
    "description": Label("描述", "Description"),
    "reject_reason": Label("拒绝原因", "Reason for refusal"),
    "return_address": Label("退货地址", "Return address"),
    "filed": Label("提交时间", "Filed"),
    "timeline": Label("时间线", "Timeline"),
    "time": Label("时间", "Time"),
    "who": Label("操作人", "Who"),
    "action": Label("动作", "Action"),
    "details": Label("变化与内容", "Change and details"),
    "messages": Label("协商记录", "Messages"),
    "message": Label("内容", "Message"),
    "evidence": Label("证据", "Evidence"),
    "dispute": Label("平台介入", "Dispute"),
    "ruling": Label("判责", "Ruling"),
    "liable": Label("责任方", "liable"),
    "appeals": Label("申诉", "Appeals"),
    "appellant": Label("申诉人", "By"),
    "grounds": Label("理由", "Grounds"),
    "decision": Label("结果", "Decision"),
    "kind": Label("类别", "Kind"),
    "format": Label("格式", "Type"),
    "size": Label("大小", "Size"),
    "money": Label("退款与处罚", "Refunds and violations"),
    "record": Label("记录", "Record"),
    "points": Label("分", "points"),
    "integrity": Label("完整性", "Integrity"),
    "generated": Label("{generator} 生成于 {at}，导出人 {who}", "{generator}, generated {at} for {who}"),
    "verify": Label(
        "核验：从 JSON 文件中去掉 integrity，按键排序、无空格、UTF-8 序列化后计算 SHA-256，与上方摘要比对。",
        "Verify: remove `integrity` from the JSON file, serialise with sorted keys and no spaces, UTF-8, "
        "and compare its SHA-256 with the digest above.",
    ),
}


def zone(name: str | None, file: Mapping[str, Any]) -> ZoneInfo:
    """The reader's time zone: the one asked for, else the shop's (UTC without a profile)."""
    chosen = name or ((file.get("parties") or {}).get("merchant") or {}).get("timezone") or "UTC"
    try:
        return ZoneInfo(chosen)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone {chosen!r}", code="unknown_timezone", fields=["tz"]) from exc


def check_zone(name: str | None) -> None:
    """Refuse an unknown `tz` before anything is read."""
    if name:
        zone(name, {})


def render(file: dict[str, Any], lang: Lang = "zh", tz: str | None = None) -> bytes:
    words = Reader.of_file(file, lang, zone(tz, file))
    blocks = _blocks(file, words)
    with fonts.for_text(_texts(blocks)) as font:
        styles = _styles(font)
        out = io.BytesIO()
        doc = SimpleDocTemplate(
            out,
            pagesize=A4,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=15 * mm,
            title=f"{words(T['title'])} {file['case']['id']}",
            author="aftersales",
            initialFontName=font,  # the pages start in it too: the file names no font it does not embed
        )
        doc.build([_flowable(b, styles) for b in blocks])
    return out.getvalue()


# A document is a list of blocks, so that its text is known (for the font) before it is laid out.
Block = tuple[str, Any]


def _blocks(f: dict[str, Any], w: Reader) -> list[Block]:
    order, case = f["order"], f["case"]
    name, money = w.name, w.money
    blocks: list[Block] = [
        ("h1", w(T["title"])),
        ("p", f"{w(T['case'])} {case['id']} · {w(T['order'])} {order['id']} · {w(T['policy'])} {case['policy']}"),
        ("small", w(T["times"]).format(zone=w.tz.key)),
        ("h2", w(T["order"])),
        (
            "table",
            (
                [
                    [w(T["field"]), w(T["value"])],
                    [w(T["buyer"]), name("buyer", order["buyer_id"])],
                    [w(T["merchant"]), name("merchant", order["merchant_id"])],
                    [w(T["payment"]), w.of(labels.PAYMENT_METHOD, order["payment_method"])],
                    [w(T["status"]), w.of(labels.ORDER_STATUS, order["status"])],
                    [
                        w(T["items"]),
                        "; ".join(f"{w.items([i])} @ {money(i['unit_price'])}" for i in order["items"]),
                    ],
                    [w(T["shipping"]), money(order["shipping_fee"])],
                    [w(T["discount"]), money(order["discount"])],
                    [w(T["paid"]), money(order["paid_amount"])],
                    [w(T["refunded"]), money(order["refunded_amount"])],
                    [w(T["placed"]), w.time(order["created_at"])],
                ],
                [45, 135],
            ),
        ),
        ("h2", w(T["request"])),
        (
            "table",
            (
                [
                    [w(T["field"]), w(T["value"])],
                    [w(T["type"]), w.of(labels.CASE_TYPE, case["type"])],
                    [w(T["reason"]), w.of(labels.CASE_REASON, case["reason"])],
                    [w(T["items"]), w.items(case["items"])],
                    [w(T["amount"]), money(case["amount"])],
                    [w(T["status"]), w.of(labels.CASE_STATUS, case["status"])],
                    [w(T["description"]), case["description"] or "—"],
                    *([[w(T["reject_reason"]), _reject_reason(case, w)]] if case.get("reject_reason") else []),
                    [w(T["return_address"]), case.get("return_address") or "—"],
                    [w(T["filed"]), w.time(case["created_at"])],
                ],
                [45, 135],
            ),
        ),
        ("h2", w(T["timeline"])),
        (
            "table",
            (
                [[w(T["time"]), w(T["who"]), w(T["action"]), w(T["details"])]]
                + [
                    [
                        w.time(e["at"]),
                        name(e["actor_role"], e["actor_id"]),
                        f"{w.of(labels.SUBJECT, e['subject_kind'])}: {w(labels.event(e['subject_kind'], e['action']))}",
                        details(e, w),
                    ]
                    for e in f["timeline"]
                ],
                [30, 34, 40, 76],
            ),
        ),
    ]
    if f.get("messages"):
        blocks += [
            ("h2", w(T["messages"])),
            (
                "table",
                (
                    [[w(T["time"]), w(T["who"]), w(T["message"]), w(T["evidence"])]]
                    + [
                        [
                            w.time(m["created_at"]),
                            name(m["author_role"], m["author_id"]),
                            m["body"],
                            ", ".join(m["evidence"]),
                        ]
                        for m in f["messages"]
                    ],
                    [30, 34, 80, 36],
                ),
            ),
        ]
    for d in f["disputes"]:
        kind, status = w.of(labels.DISPUTE_KIND, d["kind"]), w.of(labels.DISPUTE_STATUS, d["status"])
        blocks.append(("h2", f"{w(T['dispute'])} {d['id']} ({kind}, {status})"))
        blocks += [
            ("p", f"[{w.time(s['at'])}] {name(s['party'], s['actor_id'])}: {s['statement']}") for s in d["statements"]
        ]
        if d.get("outcome"):
            blocks.append(
                (
                    "p",
                    f"{w(T['ruling'])}: {w.of(labels.OUTCOME, d['outcome'])} {money(d.get('amount'))}; "
                    f"{w(T['liable'])}: {w.of(labels.LIABLE_PARTY, d['liable_party'])}; "
                    f"{name('agent', d['ruled_by'])}, {w.time(d['ruled_at'])}: {d['rationale']}",
                )
            )
    if f["appeals"]:
        blocks += [
            ("h2", w(T["appeals"])),
            (
                "table",
                (
                    [[w(T["appeals"]), w(T["appellant"]), w(T["grounds"]), w(T["decision"])]]
                    + [
                        [
                            a["id"],
                            name(a["appellant_role"], a["appellant_id"]),
                            a["grounds"],
                            " ".join(filter(None, [w.of(labels.APPEAL_STATUS, a["status"]), a.get("rationale")])),
                        ]
                        for a in f["appeals"]
                    ],
                    [36, 24, 70, 50],
                ),
            ),
        ]
    blocks += [
        ("h2", w(T["evidence"])),
        (
            "table",
            (
                [[w(T["evidence"]), w(T["kind"]), w(T["format"]), w(T["size"]), "SHA-256"]]
                + [
                    [e["id"], w.of(labels.EVIDENCE_KIND, e["kind"]), e["media_type"], _size(e["size"]), e["sha256"]]
                    for e in f["evidence"]
                ],
                [34, 24, 26, 14, 82],
            ),
        ),
        ("h2", w(T["money"])),
        (
            "table",
            (
                [[w(T["record"]), w(T["kind"]), w(T["amount"]), w(T["time"])]]
                + [
                    [
                        r["id"],
                        f"{w.of(labels.REFUND_METHOD, r['method'])} · {w.of(labels.REFUND_STATUS, r['status'])}",
                        money(r["amount"]),
                        w.time(r["created_at"]),
                    ]
                    for r in f["refunds"]
                ]
                + [
                    [
                        v["id"],
                        f"{w.of(labels.VIOLATION_KIND, v['kind'])}"
                        + (f" {v['points']} {w(T['points'])}" if v["points"] else "")
                        + f" · {w.of(labels.VIOLATION_STATUS, v['status'])}: {v['cause']}",
                        money(v.get("amount")),
                        w.time(v["created_at"]),
                    ]
                    for v in f["violations"]
                ],
                [40, 60, 40, 40],
            ),
        ),
    ]
    integrity = f["integrity"]
    who = integrity["generated_for"]
    blocks += [
        ("space", 8),
        ("h2", w(T["integrity"])),
        ("p", f"SHA-256 {integrity['digest']}"),
        (
            "small",
            w(T["generated"]).format(
                generator=integrity["generator"], at=w.time(integrity["generated_at"]), who=name(who["role"], who["id"])
            ),
        ),
        ("small", w(T["verify"])),
    ]
    return blocks


def _reject_reason(case: Mapping[str, Any], w: Reader) -> str:
    said = w.of(labels.REJECT_REASON, case["reject_reason"])
    return f"{said}: {case['reject_note']}" if case.get("reject_note") else said


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} B"


def _texts(blocks: list[Block]) -> list[str]:
    out: list[str] = []
    for kind, body in blocks:
        if kind == "table":
            out += [str(cell) for row in body[0] for cell in row]
        elif kind != "space":
            out.append(str(body))
    return out


def _styles(font: str) -> dict[str, ParagraphStyle]:
    text = ParagraphStyle("text", fontName=font, bulletFontName=font, fontSize=9, leading=12)
    return {
        "p": text,
        "small": ParagraphStyle("small", parent=text, fontSize=7.5, leading=9.5),
        "h1": ParagraphStyle("h1", parent=text, fontSize=16, leading=20, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=text, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4),
    }


def _flowable(block: Block, styles: Mapping[str, ParagraphStyle]) -> Flowable:
    kind, body = block
    if kind == "space":
        return Spacer(1, body)
    if kind == "table":
        rows, widths = body
        return _table(rows, widths, styles["small"])
    return _p(body, styles[kind])


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    safe = str("" if text is None else text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(safe, style)


def _table(rows: list[list[Any]], widths: list[float], style: ParagraphStyle) -> Table:
    table = Table([[_p(c, style) for c in row] for row in rows], colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table
