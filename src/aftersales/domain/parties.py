"""The parties' profiles: a merchant's name, time zone and return-address book 退货地址库, a
buyer's display name. Fed by the marketplace, read wherever a person would otherwise see an id."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .actions import Code, Line, Text, describe_inputs, label, make, typed
from .errors import ValidationFailed

MAX_ADDRESSES = 20  # our choice: a shop's warehouses and service points, not a contact list
# Recipient, phone and address together fit the case's return_address (500): 64 + 32 + 400 + 2.
RECIPIENT = Text(max_length=64)
PHONE = Text(max_length=32)
ADDRESS = Text(max_length=400)
TIMEZONE = Text(max_length=64)
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class ReturnAddress:
    """One entry of a merchant's book: where goods sent back go, and who receives them."""

    id: Code = field(metadata=label("地址编号", "Address id"))
    name: Annotated[str, RECIPIENT] = field(metadata=label("收件人", "Recipient"))
    phone: Annotated[str, PHONE] = field(metadata=label("联系电话", "Phone"))
    address: Annotated[str, ADDRESS] = field(metadata=label("退货地址", "Address"))

    @property
    def text(self) -> str:
        """As a case shows it to the buyer who ships the goods back: "name phone address"."""
        return f"{self.name} {self.phone} {self.address}"


@dataclass(frozen=True)
class MerchantProfile:
    name: Line = field(metadata=label("店铺名称", "Shop name"))
    timezone: Annotated[str, TIMEZONE] = field(default=DEFAULT_TIMEZONE, metadata=label("时区", "Time zone"))
    # The first address is the default: where an automatic approval sends the goods.
    return_addresses: tuple[ReturnAddress, ...] = field(default=(), metadata=label("退货地址库", "Return addresses"))

    @property
    def default_address(self) -> ReturnAddress | None:
        return self.return_addresses[0] if self.return_addresses else None

    def address(self, address_id: str) -> ReturnAddress | None:
        return next((a for a in self.return_addresses if a.id == address_id), None)


@dataclass(frozen=True)
class BuyerProfile:
    display_name: Line = field(metadata=label("昵称", "Display name"))


def merchant_profile(values: MerchantProfile | Mapping[str, Any]) -> MerchantProfile:
    """A checked merchant profile from its typed form or a mapping (API body, CLI, demo, a row)."""
    if isinstance(values, MerchantProfile):
        profile = values
    else:
        data = dict(values)
        book = data.get("return_addresses") or ()
        if not isinstance(book, list | tuple) or len(book) > MAX_ADDRESSES:
            raise ValidationFailed(
                f"return_addresses takes a list of at most {MAX_ADDRESSES} addresses", fields=["return_addresses"]
            )
        data["return_addresses"] = tuple(typed(ReturnAddress, a) for a in book)
        profile = make(MerchantProfile, data, "a merchant profile")
    _check_texts(profile)
    for a in profile.return_addresses:
        _check_texts(a, "return_addresses")
    if len(profile.return_addresses) > MAX_ADDRESSES:
        raise ValidationFailed(f"at most {MAX_ADDRESSES} return addresses", fields=["return_addresses"])
    ids = [a.id for a in profile.return_addresses]
    doubled = sorted({i for i in ids if ids.count(i) > 1})
    if doubled:
        raise ValidationFailed(
            f"return address ids must be unique in the book: {', '.join(doubled)}",
            code="duplicate_return_address",
            fields=["return_addresses"],
        )
    _check_timezone(profile.timezone)
    return profile


# What a merchant's or buyer's id may be: as an order names them (api/schemas.py Id).
PARTY_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


def check_id(party_id: str, what: str) -> None:
    if not PARTY_ID.fullmatch(party_id):
        raise ValidationFailed(f"a {what} id is 1 to 64 letters, digits or _ . : -", fields=["id"])


def buyer_profile(values: BuyerProfile | Mapping[str, Any]) -> BuyerProfile:
    profile = typed(BuyerProfile, values)
    _check_texts(profile)
    return profile


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationFailed(
            f"unknown time zone {name!r}: an IANA name such as Asia/Shanghai", fields=["timezone"]
        ) from None


def _check_texts(values: Any, where: str = "") -> None:
    """The bounds the dataclass declares (the API's request models check them too; the CLI and
    the demo come in through here only)."""
    for f in describe_inputs(type(values)):
        value = getattr(values, f.name)
        if not isinstance(f.bound, Text):
            continue
        name = f"{where}.{f.name}" if where else f.name
        if not isinstance(value, str) or len(value.strip()) < f.bound.min_length or len(value) > f.bound.max_length:
            raise ValidationFailed(
                f"{name} must be a text of {f.bound.min_length} to {f.bound.max_length} characters", fields=[name]
            )


def as_row(profile: MerchantProfile) -> dict[str, Any]:
    """The profile as its table keeps it (the book as a JSON list)."""
    return {
        "name": profile.name,
        "timezone": profile.timezone,
        "return_addresses": [dataclasses.asdict(a) for a in profile.return_addresses],
    }
