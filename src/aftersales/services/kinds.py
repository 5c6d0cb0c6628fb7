"""The registry of subject kinds: each kind (order, case, dispute, complaint, review) once, with its
machine, deadlines, table and use cases. The worker, the audit, the API's action routes and
`aftersales machines` iterate this registry instead of naming the kinds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..domain.machine import Machine
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import cases, complaints, disputes, effects, orders, reviews, rulings
from .context import SYSTEM, Actor, Env, visible
from .transitions import Kind, apply

assert effects.HANDLERS  # every effect's handler is registered before any action is taken

# (uow, env, actor, subject id, action, its typed inputs, If-Match, deadline id) -> the subject
Act = Callable[[UnitOfWork, Env, Actor, str, str, Any, int | None, int | None], Any]
# (uow, env, taken deadline row) -> None: the system's action when a deadline fires
Fire = Callable[[UnitOfWork, Env, Any], None]


@dataclass(frozen=True)
class Registered:
    kind: Kind
    table: sa.Table
    resource: str  # the collection's URL segment under /v1
    get: Callable[[UnitOfWork, Actor, str], Any]
    act: Act
    fire: Fire
    set_based: bool = False  # its subject-only system actions fire set-based (worker/engine.py)

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def machine(self) -> Machine:
        return self.kind.machine


def _fire_by(act: Act, notices: dict[str, Callable[..., Any]]) -> Fire:
    """A deadline fires the system's action through the kind's own use case, or its notice."""

    def fire(uow: UnitOfWork, env: Env, row: Any) -> None:
        notice = notices.get(row.action)
        if notice is not None:
            notice(uow, env, row.subject_id, deadline_id=row.id)
        else:
            act(uow, env, SYSTEM, row.subject_id, row.action, None, None, row.id)

    return fire


def act_by_machine(kind: Kind, what: str) -> Act:
    """The use case of a kind whose actions need nothing but its machine and specs: load the
    subject the caller may see, take the action, return it."""

    def act(
        uow: UnitOfWork,
        env: Env,
        actor: Actor,
        subject_id: str,
        action: str,
        inputs: Any,
        if_match: int | None,
        deadline_id: int | None = None,
    ) -> Any:
        subject = visible(kind.repo(uow).get(subject_id), actor, what)
        apply(uow, env, actor, kind, subject, action, inputs, if_match=if_match, deadline_id=deadline_id)
        return subject

    return act


def _act(use_case: Callable[..., Any]) -> Act:
    return lambda uow, env, actor, subject_id, action, inputs, if_match, deadline_id: use_case(
        uow, env, actor, subject_id, action, inputs, if_match=if_match, deadline_id=deadline_id
    )


def _dispute_act(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    dispute_id: str,
    action: str,
    inputs: Any,
    if_match: int | None,
    deadline_id: int | None = None,
) -> Any:
    if action in ("accept", "decline"):
        return disputes.review_application(uow, env, actor, dispute_id, action, if_match)
    if action == "finalize":
        return rulings.finalize(uow, env, dispute_id, deadline_id=deadline_id)
    use_cases: dict[str, Callable[..., Any]] = {
        "assign": disputes.assign,
        "submit_evidence": disputes.submit_evidence,
        "request_evidence": disputes.request_evidence,
        "rule": rulings.rule,
        "appeal": rulings.appeal,
    }
    return use_cases[action](uow, env, actor, dispute_id, inputs, if_match)


def _build(entries: Iterable[Registered]) -> dict[str, Registered]:
    out: dict[str, Registered] = {}
    for entry in entries:
        if entry.name in out:
            raise ValueError(f"subject kind {entry.name!r} registered twice")
        out[entry.name] = entry
    return out


KINDS: dict[str, Registered] = _build(
    [
        Registered(
            orders.ORDER,
            t.orders,
            "orders",
            orders.get,
            _act(orders.act),
            _fire_by(_act(orders.act), {}),
            set_based=True,
        ),
        Registered(
            cases.CASE,
            t.after_sales,
            "after-sales",
            cases.get,
            _act(cases.act),
            _fire_by(_act(cases.act), {"ruling_overdue": cases.ruling_overdue}),
            set_based=True,
        ),
        Registered(
            disputes.DISPUTE,
            t.disputes,
            "disputes",
            disputes.get,
            _dispute_act,
            _fire_by(_dispute_act, {}),
        ),
        Registered(
            complaints.COMPLAINT,
            t.complaints,
            "complaints",
            complaints.get,
            _act(complaints.act),
            _fire_by(_act(complaints.act), {"review_overdue": complaints.review_overdue}),
        ),
        Registered(
            reviews.REVIEW,
            t.reviews,
            "reviews",
            reviews.get,
            _act(reviews.act),
            _fire_by(_act(reviews.act), {}),
        ),
    ]
)
