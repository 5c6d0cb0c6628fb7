"""The case file's reader: their language and time zone, and what the file tells about its people
and goods, so a code, an id, an instant or an amount in fen is shown as that reader reads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from ..domain import labels
from ..domain.actions import Label

Lang = Literal["zh", "en"]
SYMBOLS = {"CNY": "¥", "RMB": "¥"}  # other currencies show their code before the amount
STAFF = Label("客服", "staff")  # a merchant's staff act under their own ids, for the shop


@dataclass(frozen=True)
class Reader:
    lang: Lang
    tz: ZoneInfo
    currency: str = "CNY"
    people: Mapping[str, Any] = field(default_factory=dict)  # the file's `parties`
    titles: Mapping[str, str] = field(default_factory=dict)  # sku -> the order line's title

    @classmethod
    def of_file(cls, file: Mapping[str, Any], lang: Lang, tz: ZoneInfo) -> Reader:
        order = file["order"]
        titles = {i["sku"]: i["title"] for i in order["items"] if i.get("sku")}
        return cls(lang, tz, order["currency"], file.get("parties") or {}, titles)

    def __call__(self, label: Label | None, code: str | None = None) -> str:
        if label is None:
            return code if code is not None else "—"
        return label.zh if self.lang == "zh" else label.en

    def of(self, table: Mapping[str, Label], code: str | None) -> str:
        return self(labels.of(table, code))

    def time(self, value: str | None) -> str:
        return datetime.fromisoformat(value).astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if value else "—"

    def money(self, amount: int | None) -> str:
        """Minor units as money: ¥99.00 for yuan, `USD 12.50` for other currencies."""
        if amount is None:
            return "—"
        symbol = SYMBOLS.get(self.currency)
        sign, value = ("-" if amount < 0 else ""), f"{abs(amount) / 100:,.2f}"
        return f"{sign}{symbol}{value}" if symbol else f"{sign}{self.currency} {value}"

    def name(self, role: str, party_id: str | None) -> str:
        """People by name where the file knows it (the buyer, the shop, its staff), else by role
        and id; the system is just the system."""
        buyer, merchant = self.people.get("buyer") or {}, self.people.get("merchant") or {}
        if role == "buyer" and party_id == buyer.get("id") and buyer.get("display_name"):
            return str(buyer["display_name"])
        if role == "merchant" and merchant.get("name"):
            return str(merchant["name"]) if party_id == merchant.get("id") else f"{merchant['name']} {self(STAFF)}"
        if role == "system" or not party_id:
            return self.of(labels.ROLE, role)
        return f"{self.of(labels.ROLE, role)} ({party_id})"

    def items(self, items: Any) -> str:
        """Goods and how many: `西湖龙井 250g × 2`, from order lines or a {sku: units} claim."""
        if isinstance(items, Mapping):
            pairs = [(self.titles.get(sku, sku), n) for sku, n in items.items()]
        else:
            pairs = [(i.get("title") or self.titles.get(i.get("sku", ""), i.get("sku")), i["quantity"]) for i in items]
        return "; ".join(f"{title} × {n}" for title, n in pairs) or "—"
