"""Action forms from the action specs: the fields a page shows for an action, and the form a
person sent turned back into the action's request body (validated by the same model as the API's,
so a bound is checked once, in one place).

Money is typed in yuan ("99.50") and becomes fen; evidence is picked from the case's files or
uploaded with the form."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..api import requests
from ..domain import labels
from ..domain.actions import AMOUNT, ActionSpec, Choice, EvidenceIds, Input, Label, Number, Text
from ..domain.errors import ValidationFailed

UPLOAD = "{}__upload"  # the file input beside an evidence field
UPLOAD_KIND = "{}__kind"  # and what those files are (domain/media.py EVIDENCE_KINDS)


@dataclass(frozen=True)
class Field:
    name: str
    label: Label
    widget: str  # select | money | number | text | textarea | evidence | checkbox
    required: bool
    options: tuple[tuple[str, Label], ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    default: Any = None


def fields(spec: ActionSpec) -> tuple[Field, ...]:
    return tuple(_field(i) for i in spec.fields)


def _field(i: Input) -> Field:
    name_label = i.label or Label(i.name, i.name.replace("_", " "))
    bound = i.bound
    if isinstance(bound, Choice):
        vocabulary = labels.covering(bound.values)
        options = tuple((v, labels.of(vocabulary, v) or Label(v, v)) for v in bound.values)
        return Field(i.name, name_label, "select", i.required, options, default=i.default)
    if isinstance(bound, Number):
        widget = "money" if bound == AMOUNT else "number"
        return Field(i.name, name_label, widget, i.required, minimum=bound.minimum, maximum=bound.maximum)
    if isinstance(bound, EvidenceIds):
        return Field(i.name, name_label, "evidence", i.required and bound.min_items > 0, maximum=bound.max_items)
    if i.type is bool or i.type == bool | None:
        return Field(i.name, name_label, "checkbox", False, default=bool(i.default))
    if isinstance(bound, Text):
        widget = "textarea" if bound.max_length > 200 else "text"
        return Field(i.name, name_label, widget, i.required, max_length=bound.max_length, default=i.default)
    return Field(i.name, name_label, "text", i.required, default=i.default)


# What a person types for a number: ASCII digits once full-width ones (１２３, typed with a Chinese
# input method) are folded, and no more of them than a bigint holds. Not str.isdigit(), which
# also takes "²" (that int() refuses) and any length.
FULL_WIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")
WHOLE = re.compile(r"[0-9]{1,18}", re.ASCII)
YUAN = re.compile(r"([0-9]{1,13})(?:\.([0-9]{0,2}))?", re.ASCII)


def whole_number(text: str | None) -> int | None:
    """A whole number typed in a form (a version, a quantity, a rating...), or None."""
    folded = (text or "").translate(FULL_WIDTH).strip()
    return int(folded) if WHOLE.fullmatch(folded) else None


def version(form: Any) -> int | None:
    """The version an action form showed (None: the form sent none). Anything else is refused,
    not taken for "no version": a mangled field must not skip the check it is there for."""
    sent = form.get("version")
    if sent is None or sent == "":
        return None
    found = whole_number(sent) if isinstance(sent, str) else None
    if found is None:
        raise ValidationFailed("version must be a whole number", fields=["version"])
    return found


def yuan_to_fen(text: str) -> int:
    """ "99.50" (or "¥1,299", "９９．５") in fen. Only digits and at most two decimals: no sign,
    exponent, NaN or Infinity, which Decimal would take (and overflow on, or trap)."""
    folded = text.translate(FULL_WIDTH).strip().replace(",", "").lstrip("¥￥")
    found = YUAN.fullmatch(folded)
    if found is None:
        detail = "an amount has at most two decimals" if re.fullmatch(r"[0-9]+\.[0-9]+", folded) else "not an amount"
        raise ValidationFailed(detail, fields=["amount"])
    return int(Decimal(found.group(0)) * 100)


def body(spec: ActionSpec, prefix: str, form: Any, evidence: Mapping[str, list[str]]) -> BaseModel | None:
    """The request body a submitted form stands for, validated by the API's model of `spec`.
    `evidence`: ids uploaded with this form, by field. A bad value is a 422 naming the field."""
    values: dict[str, Any] = {}
    for f in fields(spec):
        if f.widget == "evidence":
            picked = [v for v in form.getlist(f.name) if isinstance(v, str) and v]
            ids = picked + list(evidence.get(f.name, []))
            if ids:
                values[f.name] = ids
            continue
        raw = form.get(f.name)
        if f.widget == "checkbox":
            if raw is not None:
                values[f.name] = True
            continue
        if not isinstance(raw, str) or not raw.strip():
            continue
        if f.widget == "money":
            values[f.name] = yuan_to_fen(raw)
        elif f.widget == "number":
            number = whole_number(raw)
            if number is None:
                raise ValidationFailed(f"{f.name} must be a whole number", fields=[f.name])
            values[f.name] = number
        else:
            values[f.name] = raw
    return validated(requests.model(spec, prefix), values)


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], values: Mapping[str, Any]) -> M:
    """`values` read by the API's own request model: a bad one is a 422 naming its fields."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        names = sorted({str(err["loc"][0]) for err in exc.errors() if err.get("loc")})
        raise ValidationFailed(f"check {', '.join(names) or 'the form'}", fields=names) from None
