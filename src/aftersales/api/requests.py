"""Request models derived from the action specs: each action's inputs, with their bounds, as a
pydantic model (and so an OpenAPI schema with `enum`s for every closed set)."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from ..domain.actions import ActionSpec, Choice, EvidenceIds, Input, Number, Text
from .schemas import INTEGRAL, Body

EvidenceId = Annotated[str, StringConstraints(min_length=1, max_length=40)]


_MODELS: dict[str, type[BaseModel]] = {}


def model(spec: ActionSpec, prefix: str) -> type[BaseModel]:
    """The request body of `spec`, named `<Prefix><Action>` in the OpenAPI document (built once:
    every app made in a process shares it)."""
    name = prefix + "".join(part.title() for part in spec.name.split("_"))
    if name not in _MODELS:
        _MODELS[name] = _build(spec, name)
    return _MODELS[name]


def _build(spec: ActionSpec, name: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for field in spec.fields:
        annotation = _annotation(field)
        description = f"{field.label.en} · {field.label.zh}" if field.label else None
        if field.required:
            fields[field.name] = (annotation, Field(description=description))
        else:
            default = list(field.default) if isinstance(field.default, tuple) else field.default
            fields[field.name] = (annotation, Field(default=default, description=description))
    doc = f"{spec.label.en} · {spec.label.zh}" + (f": {spec.summary}" if spec.summary else "")
    return create_model(name, __base__=Body, __doc__=doc, **fields)


def inputs(spec: ActionSpec, body: BaseModel | None) -> Any:
    """The spec's typed inputs from a validated body (lists become tuples)."""
    values = body.model_dump() if body is not None else {}
    return spec.make({k: v for k, v in values.items() if v is not None})


def _annotation(field: Input) -> Any:
    base, optional = _unwrap(field.type)
    bound = field.bound
    if isinstance(bound, Choice):
        annotation: Any = Literal[bound.values]
    elif isinstance(bound, Text):
        annotation = Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=bound.min_length, max_length=bound.max_length)
        ]
    elif isinstance(bound, Number):
        annotation = Annotated[int, Field(strict=True, ge=bound.minimum, le=bound.maximum), INTEGRAL]
    elif isinstance(bound, EvidenceIds):
        annotation = Annotated[list[EvidenceId], Field(min_length=bound.min_items, max_length=bound.max_items)]
    else:
        annotation = base
    return annotation | None if optional else annotation


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed) of `X | None`."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(hint))
    return hint, False
