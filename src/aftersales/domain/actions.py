"""Action specs: one declaration per action, beside its machine's transitions.

A spec names the action's typed inputs (a frozen dataclass whose fields carry their bounds and
labels), which subject fields those inputs write, its labels in Chinese and English and whether
it needs evidence. Routes, request models, the OpenAPI document, the audit replay, the docs and
the console's forms are all derived from these specs; nothing re-lists an action's inputs.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from .errors import ValidationFailed
from .money import MAX_AMOUNT


class Effect(enum.Enum):
    """What a transition does beyond its subject; each has exactly one handler in services."""

    REFUND_ORIGINAL_PAYMENT = "refund_original_payment"  # 原路返回
    REFUND_MERCHANT_COD = "refund_merchant_cod"  # the merchant refunds a COD order itself
    ADVANCE_COMPENSATION = "advance_compensation"  # 先行赔付: the platform pays first
    PLATFORM_REFUND = "platform_refund"  # a ruling's refund
    OPEN_DISPUTE = "open_dispute"  # 平台介入
    REFUND_PAYMENT = "refund_payment"  # a paid order cancelled before shipping
    MERCHANT_UNRESPONSIVE = "merchant_unresponsive"  # points for an unanswered complaint
    PENALTY_POINTS = "penalty_points"  # points an agent's decision puts on the merchant
    MAKE_OFFER = "make_offer"  # 协商: a partial refund offered, the merchant's clock paused
    TAKE_OFFER = "take_offer"  # the request's amount becomes the offered one (COD: the voucher follows)
    TAKE_OFFER_REFUND = "take_offer_refund"  # the same, refunded to the original payment now
    EXTEND_DEADLINE = "extend_deadline"  # 延长时效: the merchant's pending deadline moves later, once
    SPEEDY_REFUND = "speedy_refund"  # 极速退款: a qualifying return is refunded as it ships back


# --- bounds an input carries (read by the API to build its request models) ---------------------


@dataclass(frozen=True)
class Text:
    """A string, stripped of surrounding white space."""

    min_length: int = 1
    max_length: int = 200


@dataclass(frozen=True)
class Choice:
    """One of a closed set (an `enum` in the OpenAPI document)."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class Number:
    minimum: int = 1
    maximum: int = MAX_AMOUNT


@dataclass(frozen=True)
class EvidenceIds:
    """Ids of uploaded evidence, cited by the action."""

    max_items: int = 20
    min_items: int = 0


CODE = Text(max_length=64)  # carriers, tracking numbers, reason codes: what the tables keep in 64
LINE = Text(max_length=200)
PARAGRAPH = Text(max_length=2000)
ESSAY = Text(max_length=4000)
AMOUNT = Number()

Code = Annotated[str, CODE]
OptionalCode = Annotated[str | None, CODE]
Line = Annotated[str, LINE]
OptionalLine = Annotated[str | None, LINE]
Paragraph = Annotated[str, PARAGRAPH]
OptionalParagraph = Annotated[str | None, PARAGRAPH]
Essay = Annotated[str, ESSAY]
Evidence = Annotated[tuple[str, ...], EvidenceIds()]
RequiredEvidence = Annotated[tuple[str, ...], EvidenceIds(min_items=1)]
OptionalAmount = Annotated[int | None, AMOUNT]


@dataclass(frozen=True)
class Label:
    zh: str
    en: str


def label(zh: str, en: str) -> dict[str, Label]:
    """An input field's labels, as dataclass field metadata: `field(metadata=label(...))`."""
    return {"label": Label(zh, en)}


@dataclass(frozen=True)
class NoInput:
    """The inputs of an action that takes none."""


@dataclass(frozen=True)
class Input:
    """One input of an action, as the adapters see it."""

    name: str
    type: Any  # the Python type without its bounds: str, int, bool, tuple[str, ...], Optional of those
    required: bool
    bound: Text | Choice | Number | EvidenceIds | None
    label: Label | None
    default: Any = None


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the service's name: "ship_return"; the URL segment is `segment`
    label: Label
    inputs: type[Any] = NoInput
    # input name -> subject field it writes (when given)
    writes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    evidence: bool = False  # needs evidence to be taken
    summary: str = ""  # one line for the OpenAPI document and the docs
    # The subject field that records who took it (decided_by, ruled_by).
    actor_field: str | None = None
    # False: posted on another resource's route (an appeal is filed on the dispute's appeals and
    # decided on its own), not POST /<subject>/{id}/<segment>.
    routed: bool = True
    # Taken only inside another use case (a ruling refunds the case, a withdrawal closes the
    # dispute): never routed, never offered to a caller.
    internal: bool = False
    path: str | None = None  # the URL segment, when it is not the action's name

    @property
    def posted(self) -> bool:
        """A caller posts it on the subject's own URL (POST /<resource>/{id}/<segment>)."""
        return self.routed and not self.internal

    @property
    def segment(self) -> str:
        return self.path or self.name.replace("_", "-")

    @property
    def fields(self) -> tuple[Input, ...]:
        return describe_inputs(self.inputs)

    def typed(self, values: Any) -> Any:
        """`values` as the spec's typed inputs: as they are, or made from a mapping (or None)."""
        return typed(self.inputs, values)

    def make(self, values: Mapping[str, Any] | None = None) -> Any:
        """The typed inputs from a mapping (tests, CLI, demo): unknown or missing names are a 422."""
        return make(self.inputs, values, self.name)


T = TypeVar("T")


def typed(cls: type[T], values: T | Mapping[str, Any] | None) -> T:
    """`values` as an instance of the inputs dataclass `cls`: as they are, or made from a mapping."""
    return values if isinstance(values, cls) else make(cls, values)  # type: ignore[arg-type]


def make(cls: type[T], values: Mapping[str, Any] | None, what: str = "") -> T:
    """An inputs dataclass from a mapping (the API's validated body, tests, the demo): an unknown or
    a missing name is a 422 naming it, never a KeyError or a TypeError; lists become tuples."""
    values = dict(values or {})
    known = {f.name: f for f in describe_inputs(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValidationFailed(f"{what or cls.__name__} takes no {', '.join(unknown)}", fields=unknown)
    missing = [f.name for f in known.values() if f.required and values.get(f.name) in (None, "")]
    if missing:
        raise ValidationFailed(f"missing {', '.join(missing)}", fields=missing)
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
    return cls(**values)


def describe_inputs(cls: type[Any]) -> tuple[Input, ...]:
    """The inputs of `cls` (read on every action: each class's type hints are evaluated once)."""
    found = _DESCRIBED.get(cls)
    if found is None:
        found = _DESCRIBED[cls] = _describe(cls)
    return found


_DESCRIBED: dict[type[Any], tuple[Input, ...]] = {}


def _describe(cls: type[Any]) -> tuple[Input, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    out = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        bound = None
        if typing.get_origin(hint) is Annotated:
            hint, *extras = typing.get_args(hint)
            bound = next((x for x in extras if isinstance(x, Text | Choice | Number | EvidenceIds)), None)
        factory: Any = f.default_factory
        required = f.default is dataclasses.MISSING and factory is dataclasses.MISSING
        default = None if required else (f.default if f.default is not dataclasses.MISSING else factory())
        out.append(Input(f.name, hint, required, bound, f.metadata.get("label"), default))
    return tuple(out)


def inputs_of(values: Any) -> dict[str, Any]:
    """The inputs that were given, JSON-ready (tuples as lists): what an event's data records."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(values):
        value = getattr(values, f.name)
        if value in (None, "", ()):
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def spec_table(specs: Iterable[ActionSpec], machine_actions: Iterable[str], machine: str) -> dict[str, ActionSpec]:
    """The specs of a machine by action name; every action of the machine has exactly one."""
    table: dict[str, ActionSpec] = {}
    for spec in specs:
        if spec.name in table:
            raise ValueError(f"{machine}: action {spec.name!r} is declared twice")
        if not dataclasses.is_dataclass(spec.inputs):
            raise ValueError(f"{machine}: the inputs of {spec.name!r} are not a dataclass")
        names = {f.name for f in dataclasses.fields(spec.inputs)}
        stray = sorted(set(spec.writes) - names)
        if stray:
            raise ValueError(f"{machine}: {spec.name!r} writes inputs it does not take: {', '.join(stray)}")
        table[spec.name] = spec
    actions = set(machine_actions)
    undeclared, unknown = sorted(actions - set(table)), sorted(set(table) - actions)
    if undeclared or unknown:
        raise ValueError(f"{machine}: actions without a spec {undeclared}, specs without a transition {unknown}")
    return table
