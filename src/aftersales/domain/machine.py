"""State machines as data: one table of transitions per aggregate.

The API, the console's buttons and the docs are derived from these tables; the
rules for "who may do what, from where" live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import Forbidden, IllegalTransition

Guard = Callable[[Any], bool]


def always(_: Any) -> bool:
    return True


@dataclass(frozen=True)
class Transition:
    action: str
    source: frozenset[str]
    target: str
    roles: frozenset[str]
    guard: Guard = always
    when: str = ""  # human-readable guard, for docs and error messages
    effect: str | None = None  # money or sanction side effect the service performs


def transition(
    action: str,
    source: Iterable[str] | str,
    target: str,
    roles: Iterable[str] | str,
    *,
    guard: Guard = always,
    when: str = "",
    effect: str | None = None,
) -> Transition:
    return Transition(action, _as_set(source), target, _as_set(roles), guard, when, effect)


def _as_set(value: Iterable[str] | str) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


def _a(noun: str) -> str:
    """The noun with its indefinite article: "an after-sale", "an agent", "a buyer"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


class Machine:
    def __init__(self, name: str, transitions: Iterable[Transition]) -> None:
        self.name = name
        self.transitions = tuple(transitions)
        self._by_action: dict[str, list[Transition]] = {}
        for t in self.transitions:
            self._by_action.setdefault(t.action, []).append(t)

    @property
    def actions(self) -> list[str]:
        return list(self._by_action)

    def resolve(self, subject: Any, action: str, role: str) -> Transition:
        """The transition `role` takes with `action` on `subject`, or the reason it cannot.

        Forbidden: the role may never take this action on this kind of subject.
        IllegalTransition: it could, but not from the subject's current status.
        """
        candidates = self._by_action.get(action)
        if not candidates:
            raise IllegalTransition(f"unknown {self.name} action {action!r}")
        for_role = [t for t in candidates if role in t.roles]
        if not for_role:
            raise Forbidden(f"{_a(role)} may not {action} {_a(self.name)}")
        fitting = [t for t in for_role if t.guard(subject)]
        if not fitting:
            raise Forbidden(f"{_a(role)} may not {action} this {self.name}")
        for t in fitting:
            if subject.status in t.source:
                return t
        raise IllegalTransition(
            f"cannot {action} {_a(self.name)} in status {subject.status!r}",
            status=subject.status,
        )

    def allowed_actions(self, subject: Any, role: str) -> list[str]:
        """Actions `role` could take on `subject` now (console buttons, `actions` field)."""
        return sorted(
            {t.action for t in self.transitions if role in t.roles and subject.status in t.source and t.guard(subject)}
        )


def describe(machine: Machine, deadlines: dict[str, tuple[str, str]]) -> str:
    """A Markdown table of the machine and its deadlines: docs are generated, never re-listed."""
    lines = [f"### {machine.name}", "", "| action | who | from | to | when | effect |", "|---|---|---|---|---|---|"]
    for t in machine.transitions:
        lines.append(
            f"| `{t.action}` | {', '.join(sorted(t.roles))} | {', '.join(sorted(t.source))} | {t.target} "
            f"| {t.when or ''} | {t.effect or ''} |"
        )
    lines += ["", "| status | deadline action (system) | policy timer |", "|---|---|---|"]
    lines += [f"| {status} | `{action}` | `{timer}` |" for status, (action, timer) in deadlines.items()]
    return "\n".join(lines) + "\n"
