"""The case file as a PDF a person can read: same content as the JSON, Chinese and English."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"  # a CID font every PDF reader has: no font file to ship
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
TEXT = ParagraphStyle("text", fontName=FONT, fontSize=9, leading=12)
SMALL = ParagraphStyle("small", parent=TEXT, fontSize=7.5, leading=9.5)
H1 = ParagraphStyle("h1", parent=TEXT, fontSize=16, leading=20, spaceAfter=6)
H2 = ParagraphStyle("h2", parent=TEXT, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4)


def render(file: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Case file {file['case']['id']}",
        author="aftersales",
    )
    doc.build(_story(file))
    return out.getvalue()


def _money(amount: int | None, currency: str) -> str:
    if amount is None:
        return "-"
    return f"{amount / 100:,.2f} {currency} ({amount})"


def _p(text: Any, style: ParagraphStyle = TEXT) -> Paragraph:
    safe = str("" if text is None else text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(safe, style)


def _change(event: dict[str, Any]) -> str:
    """`status: a → b` and the action's own inputs, without the bookkeeping fields."""
    before, after = event.get("before") or {}, event.get("after") or {}
    moved = [
        f"{k}: {before.get(k)} → {v}" for k, v in after.items() if before.get(k) != v and not k.startswith("deadline")
    ]
    details = [
        f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in (event.get("data") or {}).items() if k != "negotiation"
    ]
    return "; ".join(moved + details)


def _table(rows: list[list[Any]], widths: list[float]) -> Table:
    table = Table([[_p(c, SMALL) for c in row] for row in rows], colWidths=[w * mm for w in widths], repeatRows=1)
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


def _who(party: dict[str, Any] | None, field: str, party_id: str) -> str:
    """A person by name, the id beside it (the id alone when there is no profile)."""
    name = (party or {}).get(field)
    return f"{name} ({party_id})" if name else party_id


def _clock(people: dict[str, Any]) -> Callable[[str | None], str]:
    """Times as the merchant's people read them: in the shop's time zone (UTC without a profile)."""
    zone = ZoneInfo((people.get("merchant") or {}).get("timezone") or "UTC")

    def local(value: str | None) -> str:
        return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else "—"

    return local


def _actor(event: dict[str, Any], people: dict[str, Any]) -> str:
    """Who took a step: the buyer and the shop by name, everyone else by role and id."""
    role, actor_id = event["actor_role"], event["actor_id"]
    buyer, merchant = people.get("buyer") or {}, people.get("merchant") or {}
    if role == "buyer" and actor_id == buyer.get("id") and buyer.get("display_name"):
        return f"{buyer['display_name']} (buyer)"
    if role == "merchant" and merchant.get("name"):
        return f"{merchant['name']} ({actor_id})"
    return f"{role} {actor_id}"


def _story(f: dict[str, Any]) -> list[Any]:
    order, case, people = f["order"], f["case"], f.get("parties") or {}
    cur = order["currency"]
    local = _clock(people)
    zone = (people.get("merchant") or {}).get("timezone") or "UTC"
    story: list[Any] = [
        _p("售后案件档案 Case file", H1),
        _p(f"案件 Case {case['id']} · 订单 Order {order['id']} · 政策 Policy {case['policy']}"),
        _p(f"时间为 Times in {zone}", SMALL),
        _p("订单 Order", H2),
        _table(
            [
                ["字段 Field", "值 Value"],
                ["买家 Buyer", _who(people.get("buyer"), "display_name", order["buyer_id"])],
                ["商家 Merchant", _who(people.get("merchant"), "name", order["merchant_id"])],
                ["支付方式 Payment", order["payment_method"]],
                ["状态 Status", order["status"]],
                [
                    "商品 Items",
                    "; ".join(
                        f"{i['title']} × {i['quantity']} @ {_money(i['unit_price'], cur)}" for i in order["items"]
                    ),
                ],
                ["运费 Shipping", _money(order["shipping_fee"], cur)],
                ["优惠 Discount", _money(order["discount"], cur)],
                ["已付 Paid", _money(order["paid_amount"], cur)],
                ["已退 Refunded", _money(order["refunded_amount"], cur)],
                ["下单 Placed", local(order["created_at"])],
            ],
            [45, 135],
        ),
        _p("售后 After-sales request", H2),
        _table(
            [
                ["字段 Field", "值 Value"],
                ["类型 Type", case["type"]],
                ["原因 Reason", case["reason"]],
                ["商品 Items", "; ".join(f"{i['title']} × {i['quantity']}" for i in case["items"])],
                ["金额 Amount", _money(case["amount"], cur)],
                ["状态 Status", case["status"]],
                ["描述 Description", case["description"]],
                ["退货地址 Return address", case.get("return_address") or "—"],
                ["提交 Filed", local(case["created_at"])],
            ],
            [45, 135],
        ),
        _p("时间线 Timeline", H2),
        _table(
            [["时间 Time", "谁 Who", "动作 Action", "变化 Change / 内容 Details"]]
            + [
                [local(e["at"]), _actor(e, people), f"{e['subject_kind']}: {e['action']}", _change(e)]
                for e in f["timeline"]
            ],
            [34, 30, 36, 80],
        ),
    ]
    if f.get("messages"):
        story += [
            _p("协商记录 Messages", H2),
            _table(
                [["时间 Time", "谁 Who", "内容 Message", "证据 Evidence"]]
                + [
                    [m["created_at"], f"{m['author_role']} {m['author_id']}", m["body"], ", ".join(m["evidence"])]
                    for m in f["messages"]
                ],
                [34, 30, 80, 36],
            ),
        ]
    for d in f["disputes"]:
        story += [_p(f"平台介入 Dispute {d['id']} ({d['kind']}, {d['status']})", H2)]
        story += [_p(f"[{s['at']}] {s['party']} {s['actor_id']}: {s['statement']}") for s in d["statements"]]
        if d.get("outcome"):
            story.append(
                _p(
                    f"判责 Ruling: {d['outcome']} {_money(d.get('amount'), cur)}; 责任方 liable: "
                    f"{d['liable_party']}; {d['ruled_by']} at {d['ruled_at']}: {d['rationale']}"
                )
            )
    if f["appeals"]:
        story += [
            _p("申诉 Appeals", H2),
            _table(
                [["申诉 Appeal", "申诉人 By", "理由 Grounds", "结果 Decision"]]
                + [
                    [a["id"], a["appellant_role"], a["grounds"], f"{a['status']} {a.get('rationale') or ''}"]
                    for a in f["appeals"]
                ],
                [36, 24, 70, 50],
            ),
        ]
    story += [
        _p("证据 Evidence", H2),
        _table(
            [["证据 Evidence", "类型 Kind", "格式 Type", "大小 Size", "SHA-256"]]
            + [[e["id"], e["kind"], e["media_type"], e["size"], e["sha256"]] for e in f["evidence"]],
            [34, 24, 26, 14, 82],
        ),
    ]
    story += [
        _p("退款与处罚 Refunds and violations", H2),
        _table(
            [["记录 Record", "类型 Kind", "金额 Amount", "时间 Time"]]
            + [
                [r["id"], f"{r['method']} ({r['payer']})", _money(r["amount"], r["currency"]), r["created_at"]]
                for r in f["refunds"]
            ]
            + [
                [v["id"], f"{v['kind']} {v['points']} pts {v['status']}", _money(v.get("amount"), cur), v["created_at"]]
                for v in f["violations"]
            ],
            [40, 60, 40, 40],
        ),
    ]
    integrity = f["integrity"]
    story += [
        Spacer(1, 8),
        _p("完整性 Integrity", H2),
        _p(f"SHA-256 {integrity['digest']}"),
        _p(
            f"{integrity['generator']} · generated {integrity['generated_at']} for "
            f"{integrity['generated_for']['role']} {integrity['generated_for']['id']}",
            SMALL,
        ),
        _p(
            "核验 Verify: remove `integrity` from the JSON file, serialise with sorted keys and no spaces, "
            "UTF-8, and compare its SHA-256 with the digest above.",
            SMALL,
        ),
    ]
    return story
