"""Money rules. Amounts are integers in the currency's minor unit (fen, cents), never floats."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import AmountExceedsRefundable, ValidationFailed

if TYPE_CHECKING:  # (orders' machine imports the action specs, which import MAX_AMOUNT from here)
    from .orders import Order
    from .policy import Policy

MAX_AMOUNT = 10**12  # a trillion fen: far above any order, far below int64

# Who pays and how, for each refund method [API: Money and sanctions].
PAYER = {
    "original_payment": "platform",
    "merchant_cod": "merchant",
    "advance_compensation": "platform",
}
REFUND_METHODS = tuple(PAYER)
# A refund is pending until the payment provider confirms it (services/payments.py).
REFUND_STATUSES = ("pending", "succeeded", "failed")


def refundable(order: Order, policy: Policy) -> int:
    """What may still be refunded for after-sales on the whole order: goods paid (less the
    discount, plus shipping if the policy says so) less what was already refunded. Nothing is
    refundable before payment. A case is bound by its units too (domain/lines.py)."""
    ceiling = order.goods_total - order.discount + (order.shipping_fee if policy.shipping_refundable else 0)
    return max(0, min(order.paid_amount, ceiling) - order.refunded_amount)


def check_amount(amount: int, limit: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailed("amount must be an integer in minor units")
    if amount <= 0:
        raise ValidationFailed("amount must be positive")
    if amount > limit:
        raise AmountExceedsRefundable(f"amount {amount} exceeds the refundable {limit}", refundable=limit)
    return amount
