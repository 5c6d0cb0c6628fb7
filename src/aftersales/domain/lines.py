"""An order's units and what each may still get back [docs/rules.md: Line items].

The order's goods are units of its lines (one line per SKU). What a unit may be refunded is what
was paid for it: the order's discount 优惠 (and, where the policy refunds shipping, its shipping
fee) is spread over the lines in proportion to their goods and rounded to the fen so that the
lines add up exactly to what was paid, and a line's amount over its units the same way.

Units of one line in the same state are interchangeable, so a line is kept as a few *lots*: so
many units, each paid `paid` and refunded `refunded` so far, held by the open case `case` (or
none), or `done` (the goods came back, or every fen was refunded). A request claims units, its
refunds are spread over the units it claimed, and its end lets them go. All functions here are
pure: they take the order's `units` mapping and return a new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ValidationFailed

Units = dict[str, list[dict[str, Any]]]  # sku -> lots, as stored on the order


@dataclass(frozen=True)
class Lot:
    n: int
    paid: int  # per unit
    refunded: int = 0  # per unit
    case: str | None = None  # the open case holding these units
    done: bool = False

    @property
    def left(self) -> int:
        """What these units may still get back, all together."""
        return self.n * (self.paid - self.refunded)

    @property
    def free(self) -> bool:
        return self.case is None and not self.done

    def plain(self) -> dict[str, Any]:
        return {"n": self.n, "paid": self.paid, "refunded": self.refunded, "case": self.case, "done": self.done}


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """`total` in whole fen over `weights` in proportion, largest remainders first, so the parts
    add up to `total` exactly (all on the first weight when every weight is zero)."""
    whole = sum(weights)
    if not weights:
        return []
    if whole == 0:
        return [total, *([0] * (len(weights) - 1))]
    parts = [total * w // whole for w in weights]
    short = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in by_remainder[:short]:
        parts[i] += 1
    return parts


def price(items: Sequence[Mapping[str, Any]], paid_for_goods: int) -> Units:
    """The units of an order whose goods (after discount, with refundable shipping) came to
    `paid_for_goods`: each line's share, then each unit's (base or base + 1 fen)."""
    shares = spread(paid_for_goods, [int(i["quantity"]) * int(i["unit_price"]) for i in items])
    units: Units = {}
    for item, share in zip(items, shares, strict=True):
        q = int(item["quantity"])
        base, extra = divmod(share, q)
        lots = [Lot(extra, base + 1), Lot(q - extra, base)]
        units[str(item["sku"])] = [lot.plain() for lot in lots if lot.n]
    return units


def _lots(units: Mapping[str, Iterable[Mapping[str, Any]]], sku: str) -> list[Lot]:
    return [Lot(**lot) for lot in units.get(sku, ())]


def _store(lots: Iterable[Lot]) -> list[dict[str, Any]]:
    """Lots in one canonical order, those in the same state merged."""
    merged: dict[tuple[int, int, str | None, bool], int] = {}
    for lot in lots:
        if lot.n:
            key = (lot.paid, lot.refunded, lot.case, lot.done)
            merged[key] = merged.get(key, 0) + lot.n
    ordered = sorted(merged.items(), key=lambda kv: (kv[0][2] or "", kv[0][3], -(kv[0][0] - kv[0][1]), -kv[0][0]))
    return [Lot(n, paid, refunded, case, done).plain() for (paid, refunded, case, done), n in ordered]


def remaining(units: Mapping[str, Any], sku: str) -> int:
    """Units of the line no open case holds and not done: what a new request may claim."""
    return sum(lot.n for lot in _lots(units, sku) if lot.free)


def free_value(units: Mapping[str, Any], sku: str) -> int:
    """What the line's claimable units may still get back, all together."""
    return sum(lot.left for lot in _lots(units, sku) if lot.free)


def held(units: Mapping[str, Any], case_id: str) -> dict[str, int]:
    """sku -> how many units the case holds."""
    out: dict[str, int] = {}
    for sku in units:
        n = sum(lot.n for lot in _lots(units, sku) if lot.case == case_id)
        if n:
            out[sku] = n
    return out


def holders(units: Mapping[str, Any]) -> list[str]:
    """The open cases holding units of the order, in id order (ids sort by creation time)."""
    return sorted({lot["case"] for lots in units.values() for lot in lots if lot["case"]})


def claim(units: Mapping[str, Any], wanted: Mapping[str, int], case_id: str) -> tuple[Units, int]:
    """Hold `wanted` (sku -> quantity) for the case: the units worth most first, so that a buyer
    is never offered less than a unit could get. Returns the new units and what the claimed units
    may get back. A quantity over what remains is `quantity_exceeds_remaining`."""
    out: Units = {sku: list(lots) for sku, lots in units.items()}
    value = 0
    for sku, quantity in wanted.items():
        if sku not in units:
            raise ValidationFailed(f"the order has no item {sku!r}", code="unknown_item", fields=["items"])
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValidationFailed(f"quantity of {sku!r} must be a positive integer", fields=["items"])
        left = remaining(units, sku)
        if quantity > left:
            raise ValidationFailed(
                f"{quantity} of {sku!r} asked, {left} remain(s) without an open request or a settled one",
                code="quantity_exceeds_remaining",
                fields=["items"],
                sku=sku,
                quantity_remaining=left,
            )
        lots, need = [], quantity
        for lot in sorted(_lots(units, sku), key=lambda lot: (not lot.free, -(lot.paid - lot.refunded))):
            take = min(need, lot.n) if lot.free else 0
            if take:
                lots.append(Lot(take, lot.paid, lot.refunded, case_id))
                value += take * (lot.paid - lot.refunded)
                need -= take
            lots.append(Lot(lot.n - take, lot.paid, lot.refunded, lot.case, lot.done))
        out[sku] = _store(lots)
    return out, value


def value_of(units: Mapping[str, Any], case_id: str) -> int:
    """What the units the case holds may still get back."""
    return sum(lot.left for sku in units for lot in _lots(units, sku) if lot.case == case_id)


def refund(units: Mapping[str, Any], case_id: str, amount: int) -> Units:
    """Spread a refund of the case over the units it holds, in proportion to what each may
    still get back (a unit refunded in full is done once the case lets it go). The caller has
    checked `amount` against `value_of` (more is a programming error)."""
    every = [(sku, lot) for sku in units for lot in _lots(units, sku)]
    mine = [i for i, (_, lot) in enumerate(every) if lot.case == case_id]
    if amount > sum(every[i][1].left for i in mine):
        raise ValueError(f"refund {amount} exceeds what case {case_id}'s units may get back")
    parts = spread(amount, [every[i][1].left for i in mine])
    changed: dict[int, list[Lot]] = {}
    for i, part in zip(mine, parts, strict=True):
        lot = every[i][1]
        base, extra = divmod(part, lot.n)
        changed[i] = [
            Lot(extra, lot.paid, lot.refunded + base + 1, lot.case, lot.done),
            Lot(lot.n - extra, lot.paid, lot.refunded + base, lot.case, lot.done),
        ]
    return _regroup(every, changed)


def release(units: Mapping[str, Any], case_id: str, *, goods_back: bool) -> Units:
    """The case ended: its units are free again, or done when the goods came back or every fen
    of them was refunded (a refund while the case is open, a speedy one, leaves them held)."""
    every = [(sku, lot) for sku in units for lot in _lots(units, sku)]
    changed = {
        i: [Lot(lot.n, lot.paid, lot.refunded, None, lot.done or goods_back or 0 < lot.paid == lot.refunded)]
        for i, (_, lot) in enumerate(every)
        if lot.case == case_id
    }
    return _regroup(every, changed)


def _regroup(every: list[tuple[str, Lot]], changed: Mapping[int, list[Lot]]) -> Units:
    by_sku: dict[str, list[Lot]] = {}
    for i, (sku, lot) in enumerate(every):
        by_sku.setdefault(sku, []).extend(changed.get(i, [lot]))
    return {sku: _store(lots) for sku, lots in by_sku.items()}


def paid_for(units: Mapping[str, Any], sku: str) -> int:
    return sum(lot.n * lot.paid for lot in _lots(units, sku))


def refunded_on(units: Mapping[str, Any], sku: str) -> int:
    return sum(lot.n * lot.refunded for lot in _lots(units, sku))
