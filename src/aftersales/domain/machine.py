"""State machines as data: one table of transitions per aggregate.

The API, the console's buttons and the docs are derived from these tables; the
rules for "who may do what, from where" live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .actions import ActionSpec, Choice, Effect, EvidenceIds, Input, Number, Text, spec_table
from .errors import Forbidden, IllegalTransition, ValidationFailed

Guard = Callable[[Any], bool]


class Caller(Protocol):
    """Who takes an action: a role, and for some rules the person (buyer, merchant staff, agent)."""

    @property
    def role(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def merchant_id(self) -> str | None: ...


# Among the callers of a role, who may take the transition on this subject (the complainant, the
# losing party, another agent than the one who ruled): (subject, caller) -> None, or why not.
Who = Callable[[Any, Caller], Forbidden | None]


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
    effect: Effect | None = None  # money, sanction or dispute the service's handler performs
    requires: tuple[str, ...] = ()  # inputs optional for the action that this transition needs
    who: Who | None = None
    # Inputs optional for the action that this transition may take (and those without ignore),
    # e.g. approve's return_address_id, which names an address only a return needs.
    takes: tuple[str, ...] = ()
    # A boolean input that selects this transition (approve's keep_item): taken only when the
    # caller sets it, and then in place of the action's transitions without an option.
    option: str = ""


def transition(
    action: str,
    source: Iterable[str] | str,
    target: str,
    roles: Iterable[str] | str,
    *,
    guard: Guard = always,
    when: str = "",
    effect: Effect | None = None,
    requires: tuple[str, ...] = (),
    who: Who | None = None,
    takes: tuple[str, ...] = (),
    option: str = "",
) -> Transition:
    return Transition(
        action, _as_set(source), target, _as_set(roles), guard, when, effect, requires, who, takes, option
    )


def _as_set(value: Iterable[str] | str) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


def _a(noun: str) -> str:
    """The noun with its indefinite article: "an after-sale", "an agent", "a buyer"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


class Machine:
    def __init__(
        self,
        name: str,
        transitions: Iterable[Transition],
        specs: Iterable[ActionSpec],
        *,
        statuses: Iterable[str],
        terminal: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.transitions = tuple(transitions)
        self.statuses = tuple(statuses)
        self.terminal = frozenset(terminal)
        self._by_action: dict[str, list[Transition]] = {}
        for t in self.transitions:
            self._by_action.setdefault(t.action, []).append(t)
        self.specs: Mapping[str, ActionSpec] = spec_table(specs, self._by_action, name)
        self._check_statuses()

    def _check_statuses(self) -> None:
        known = set(self.statuses)
        used = {s for t in self.transitions for s in (*t.source, t.target)} | set(self.terminal)
        if used - known:
            raise ValueError(f"{self.name}: statuses not declared: {sorted(used - known)}")

    @property
    def actions(self) -> list[str]:
        return list(self._by_action)

    def conditional_inputs(self, action: str) -> frozenset[str]:
        """Inputs some transitions of `action` require or take and others ignore (e.g. approve's
        return_address, needed only when the goods come back)."""
        return frozenset(n for t in self._by_action.get(action, ()) for n in (*t.requires, *t.takes))

    def ignored_inputs(self, action: str, transition: Transition | None) -> frozenset[str]:
        """The inputs of `action` that `transition` does not write (another transition's)."""
        taken = {*transition.requires, *transition.takes} if transition else set()
        return self.conditional_inputs(action) - taken

    def resolve(
        self,
        subject: Any,
        action: str,
        role: str,
        caller: Caller | None = None,
        options: frozenset[str] = frozenset(),
    ) -> Transition:
        """The transition `role` takes with `action` on `subject`, or the reason it cannot.
        `options`: the boolean inputs the caller set (see Transition.option).

        Forbidden: the role (or this caller of it) may never take this action on this subject.
        ValidationFailed: an option set that none of the action's transitions fitting it takes.
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
        asked = options & {t.option for t in candidates if t.option}
        fitting = [t for t in fitting if (t.option in asked if asked else not t.option)]
        if not fitting:
            raise ValidationFailed(
                f"{action} with {', '.join(sorted(asked))} is not for this {self.name}", fields=sorted(asked)
            )
        if caller is not None:
            # Not this caller's to take, whatever the status (not the complainant, not the loser).
            refusals = [t.who(subject, caller) for t in fitting if t.who]
            if len(refusals) == len(fitting) and all(r is not None for r in refusals):
                raise refusals[0]  # type: ignore[misc]
        for t in fitting:
            if subject.status in t.source:
                return t
        raise IllegalTransition(
            f"cannot {action} {_a(self.name)} in status {subject.status!r}",
            status=subject.status,
        )

    def allowed_actions(self, subject: Any, role: str, caller: Caller | None = None) -> list[str]:
        """Actions `role` (and this caller of it) could take on `subject` now: the console's
        buttons and the `actions` field; nothing listed that would answer 403."""
        return sorted(
            {
                t.action
                for t in self.transitions
                if role in t.roles
                and subject.status in t.source
                and t.guard(subject)
                and not (t.who and caller is not None and t.who(subject, caller) is not None)
            }
        )


def describe(machine: Machine, deadlines: Mapping[str, tuple[str, str]]) -> str:
    """A Markdown table of the machine and its deadlines: docs are generated, never re-listed."""
    lines = [f"### {machine.name}", "", "| action | who | from | to | when | effect |", "|---|---|---|---|---|---|"]
    for t in machine.transitions:
        lines.append(
            f"| `{t.action}` | {', '.join(sorted(t.roles))} | {', '.join(sorted(t.source))} | {t.target} "
            f"| {t.when or ''} | {t.effect.value if t.effect else ''} |"
        )
    lines += ["", "| status | deadline action (system) | policy timer |", "|---|---|---|"]
    lines += [f"| {status} | `{action}` | `{timer}` |" for status, (action, timer) in deadlines.items()]
    return "\n".join(lines) + "\n"


def describe_actions(machine: Machine, resource: str) -> str:
    """A Markdown table of the machine's actions, their labels, who takes them and their inputs."""
    lines = [
        f"### {machine.name}",
        "",
        "| action | 中文 | who | request fields | writes |",
        "|---|---|---|---|---|",
    ]
    for name, spec in machine.specs.items():
        roles = sorted({r for t in machine.transitions if t.action == name for r in t.roles})
        posted = spec.posted and roles != ["system"]
        where = f"`POST /v1/{resource}/{{id}}/{spec.segment}`" if posted else f"`{name}`"
        fields = "; ".join(_field(f, _required_when(machine, name, f.name)) for f in spec.fields) or "—"
        writes = ", ".join(f"{k} → `{v}`" for k, v in spec.writes.items()) or "—"
        evidence = " (needs evidence)" if spec.evidence else ""
        lines.append(
            f"| {where} {spec.label.en}{evidence} | {spec.label.zh} | {', '.join(roles)} | {fields} | {writes} |"
        )
    return "\n".join(lines) + "\n"


def _required_when(machine: Machine, action: str, name: str) -> str:
    return " or ".join(t.when for t in machine.transitions if t.action == action and name in t.requires)


def _field(f: Input, when: str) -> str:
    need = "required" if f.required else (f"required for {when}" if when else "optional")
    bound = f.bound
    if isinstance(bound, Choice):
        shape = " \\| ".join(f"`{v}`" for v in bound.values)
    elif isinstance(bound, Text):
        shape = f"text ≤ {bound.max_length}"
    elif isinstance(bound, Number):
        shape = f"integer {bound.minimum}–{bound.maximum}"
    elif isinstance(bound, EvidenceIds):
        shape = f"evidence ids ≤ {bound.max_items}"
    else:
        shape = getattr(f.type, "__name__", str(f.type)).replace(" | None", "")  # (optional says so)
    return f"`{f.name}` ({shape}, {need})"
