"""Webhook endpoints (docs/api.md "Webhook endpoints"): a shop's merchant keeps its shop's, an admin
the platform's (merchant_id NULL); each owner sees only its own, and another's id is not found.
The relay (worker/relay.py) delivers to enabled endpoints from the same tables; this module only
manages them and reads their delivery log.

The signing secret is answered twice only: at creation and at rotation. No read, listing or event
carries it; besides the endpoint's row, which must hold it to sign, only the stored response of an
`Idempotency-Key` does (48 h), so that a retried creation gets its secret back."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..domain import webhooks as domain
from ..domain.actions import typed
from ..domain.errors import Conflict, Forbidden, NotFound, ValidationFailed, VersionConflict
from ..domain.ids import new_id
from ..domain.roles import ADMIN, MERCHANT
from ..integrations import addresses
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import Actor, Env
from .pages import page
from .reads import Page

KIND = "webhook_endpoint"  # events.subject_kind of an endpoint's events
w, dl, at = t.webhook_endpoints.c, t.webhook_deliveries.c, t.webhook_attempts.c
# What an endpoint's read shows: everything but its secrets.
_SHOWN = (
    "id",
    "merchant_id",
    "url",
    "events",
    "description",
    "status",
    "disabled_reason",
    "failure_streak",
    "previous_secret_expires_at",
    "version",
    "created_at",
    "updated_at",
)
_DELIVERY = (
    "id",
    "endpoint_id",
    "event_id",
    "message_id",
    "type",
    "subject",
    "status",
    "attempts",
    "next_attempt_at",
    "last_status_code",
    "last_latency_ms",
    "last_error",
    "created_at",
    "delivered_at",
)
DELETED_ERROR = "endpoint deleted"  # last_error of the deliveries a deletion leaves dead


def _owner(actor: Actor) -> str | None:
    """Whose endpoints the caller keeps: a merchant its shop's, an admin the platform's (None)."""
    if actor.role == MERCHANT and actor.merchant_id:
        return actor.merchant_id
    if actor.role == ADMIN:
        return None
    raise Forbidden("webhook endpoints are kept by a shop's merchant or, for the platform, an admin")


def _mine(actor: Actor) -> Any:
    owner = _owner(actor)
    return w.merchant_id.is_(None) if owner is None else w.merchant_id == owner


def new_secret() -> str:
    """`whsec_` and base64 of random bytes: the Standard Webhooks form of a signing key."""
    return domain.SECRET_PREFIX + base64.b64encode(secrets.token_bytes(domain.SECRET_BYTES)).decode()


@dataclass(frozen=True)
class Checked:
    """A new endpoint's fields, checked by `check` (bounds, filters, where its URL leads)."""

    owner: str | None
    url: str
    events: list[str]
    description: str | None


def check(actor: Actor, data: domain.NewEndpoint | Mapping[str, Any], *, allow_private: bool) -> Checked:
    """Everything about a new endpoint that needs no database, its URL resolved included. Run it
    before the transaction opens: a slow DNS answer must not hold the database's writers (SQLite
    takes its write lock at BEGIN)."""
    owner = _owner(actor)
    args = typed(domain.NewEndpoint, data)
    url = domain.url(args.url)
    events = domain.filters(args.events)
    description = domain.description(args.description)
    try:
        addresses.resolve(url, allow_private=allow_private)
    except addresses.AddressRefused as exc:
        raise ValidationFailed(
            f"the webhook URL is refused: {exc}", code="webhook_url_refused", fields=["url"]
        ) from None
    return Checked(owner, url, events, description)


def create(uow: UnitOfWork, env: Env, actor: Actor, new: Checked) -> dict[str, Any]:
    """A new enabled endpoint for the caller's shop (or the platform), answered with its secret; an
    owner keeps at most ENDPOINTS_PER_OWNER that are not deleted."""
    if new.owner != _owner(actor):
        raise Forbidden("an endpoint is created for the caller's own shop or the platform")
    owner, url, events = new.owner, new.url, new.events
    live = uow.execute(sa.select(sa.func.count()).where(_mine(actor), w.status != domain.DELETED)).scalar_one()
    if live >= domain.ENDPOINTS_PER_OWNER:
        raise Conflict(
            f"an owner keeps at most {domain.ENDPOINTS_PER_OWNER} webhook endpoints; delete one first",
            code="too_many_webhook_endpoints",
        )
    now = env.clock.now()
    row = {
        "id": new_id("we", now),
        "merchant_id": owner,
        "url": url,
        "events": events,
        "description": new.description,
        "secret": new_secret(),
        "previous_secret": None,
        "previous_secret_expires_at": None,
        "status": domain.ENABLED,
        "disabled_reason": None,
        "failure_streak": 0,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    uow.execute(t.webhook_endpoints.insert().values(**row))
    _event(uow, actor, row, "created", before=None, data={"url": url, "events": events})
    return {**_shown(row), "secret": row["secret"]}


def listing(uow: UnitOfWork, actor: Actor, *, cursor: str | None = None, limit: int = 50) -> Page[dict[str, Any]]:
    """The caller's endpoints that are not deleted, oldest first."""
    where = [_mine(actor), w.status != domain.DELETED]
    rows, nxt = page(uow.conn, t.webhook_endpoints, where, cursor, limit, False)
    return Page([_shown(r._mapping) for r in rows], nxt)


def get(uow: UnitOfWork, actor: Actor, endpoint_id: str) -> dict[str, Any]:
    return _shown(_row(uow, actor, endpoint_id))


def rotate_secret(uow: UnitOfWork, env: Env, actor: Actor, endpoint_id: str) -> dict[str, Any]:
    """A new secret; the current one signs beside it for SECRET_OVERLAP. Rotating again within the
    overlap drops the oldest: only the last two secrets ever sign."""
    row = _row(uow, actor, endpoint_id)
    now = env.clock.now()
    changes = {
        "secret": new_secret(),
        "previous_secret": row["secret"],
        "previous_secret_expires_at": now + domain.SECRET_OVERLAP,
    }
    after = _update(uow, row, changes, now)
    expires = after["previous_secret_expires_at"].isoformat()
    _event(uow, actor, after, "secret_rotated", before=row, data={"previous_secret_expires_at": expires})
    return {**_shown(after), "secret": changes["secret"]}


def enable(uow: UnitOfWork, env: Env, actor: Actor, endpoint_id: str) -> dict[str, Any]:
    """An endpoint the relay disabled takes deliveries again, its failure streak forgotten. An
    enabled one is answered as it is (nothing to do, no event)."""
    row = _row(uow, actor, endpoint_id)
    if row["status"] == domain.ENABLED:
        return _shown(row)
    after = _update(uow, row, {"status": domain.ENABLED, "disabled_reason": None, "failure_streak": 0}, env.clock.now())
    _event(uow, actor, after, "enabled", before=row, data={"disabled_reason": row["disabled_reason"]})
    return _shown(after)


def delete(uow: UnitOfWork, env: Env, actor: Actor, endpoint_id: str) -> None:
    """The endpoint takes no more deliveries and is not found from now on; its row stays (status
    `deleted`, the old secret dropped) so that its delivery log keeps its owner. Deliveries still
    pending to it become dead: nobody will receive them."""
    row = _row(uow, actor, endpoint_id)
    now = env.clock.now()
    after = _update(
        uow, row, {"status": domain.DELETED, "previous_secret": None, "previous_secret_expires_at": None}, now
    )
    uow.execute(
        t.webhook_deliveries.update()
        .where(dl.endpoint_id == row["id"], dl.status == "pending")
        .values(status="dead", next_attempt_at=None, last_error=DELETED_ERROR)
    )
    _event(uow, actor, after, "deleted", before=row, data={})


def deliveries(
    uow: UnitOfWork,
    actor: Actor,
    endpoint_id: str,
    *,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[dict[str, Any]]:
    """The endpoint's delivery log, newest first: each delivery with its attempts, oldest first."""
    row = _row(uow, actor, endpoint_id)
    if status is not None and status not in domain.DELIVERY_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(domain.DELIVERY_STATUSES)}", fields=["status"])
    where = [dl.endpoint_id == row["id"], *([dl.status == status] if status else [])]
    rows, nxt = page(uow.conn, t.webhook_deliveries, where, cursor, limit)
    return Page(_with_attempts(uow, [{k: r._mapping[k] for k in _DELIVERY} for r in rows]), nxt)


def retry(uow: UnitOfWork, env: Env, actor: Actor, delivery_id: str) -> dict[str, Any]:
    """A dead or pending delivery is due now again (one more attempt; the relay's schedule goes on
    from its count). A succeeded one is 409; so is one to a disabled endpoint (enable it first)."""
    found = _delivery(uow, actor, delivery_id)
    if found["status"] == "succeeded":
        raise Conflict("the delivery succeeded already", code="delivery_succeeded")
    endpoint = uow.execute(sa.select(w.status).where(w.id == found["endpoint_id"])).scalar_one()
    if endpoint == domain.DISABLED:
        raise Conflict("the endpoint is disabled: enable it first", code="webhook_endpoint_disabled")
    now = env.clock.now()
    done = uow.execute(
        t.webhook_deliveries.update()
        .where(dl.id == found["id"], dl.status == found["status"])
        .values(status="pending", next_attempt_at=now)
    )
    if done.rowcount != 1:  # the relay settled it meanwhile
        raise VersionConflict("the delivery changed meanwhile; read it again", code="version_conflict")
    return _with_attempts(uow, [{**found, "status": "pending", "next_attempt_at": now}])[0]


def _with_attempts(uow: UnitOfWork, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each delivery with its `attempt_log`, oldest attempt first: one query for a page."""
    log: dict[int, list[dict[str, Any]]] = {d["id"]: [] for d in found}
    if log:
        query = sa.select(at.delivery_id, at.at, at.status_code, at.latency_ms, at.error)
        for a in uow.execute(query.where(at.delivery_id.in_(list(log))).order_by(at.delivery_id, at.id)):
            log[a.delivery_id].append(
                {"at": a.at, "status_code": a.status_code, "latency_ms": a.latency_ms, "error": a.error}
            )
    return [{**d, "attempt_log": log[d["id"]]} for d in found]


def _delivery(uow: UnitOfWork, actor: Actor, delivery_id: str) -> dict[str, Any]:
    """A delivery to one of the caller's endpoints (not deleted); anything else is not found."""
    _owner(actor)
    if not (delivery_id.isascii() and delivery_id.isdigit() and len(delivery_id) <= 18):
        raise NotFound("delivery not found")
    query = (
        sa.select(*(dl[c] for c in _DELIVERY))
        .join(t.webhook_endpoints, w.id == dl.endpoint_id)
        .where(dl.id == int(delivery_id), _mine(actor), w.status != domain.DELETED)
    )
    row = uow.execute(query).first()
    if row is None:
        raise NotFound("delivery not found")
    return dict(row._mapping)


def _row(uow: UnitOfWork, actor: Actor, endpoint_id: str) -> dict[str, Any]:
    """The caller's endpoint, not deleted; another owner's (or a deleted one) is not found."""
    mine = _mine(actor)
    query = sa.select(t.webhook_endpoints).where(w.id == endpoint_id, mine, w.status != domain.DELETED)
    row = uow.execute(query).first()
    if row is None:
        raise NotFound("webhook endpoint not found")
    return dict(row._mapping)


def _update(uow: UnitOfWork, row: dict[str, Any], changes: dict[str, Any], now: Any) -> dict[str, Any]:
    """Compare-and-set on the version (of two rotations racing, one wins); only `changes` are
    written, so what the relay wrote meanwhile (its failure streak) stays."""
    values = {**changes, "version": row["version"] + 1, "updated_at": now}
    done = uow.execute(
        t.webhook_endpoints.update().where(w.id == row["id"], w.version == row["version"]).values(**values)
    )
    if done.rowcount != 1:
        raise VersionConflict("the webhook endpoint changed meanwhile; retry", code="version_conflict")
    return {**row, **values}


def _shown(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in _SHOWN}


def _event(
    uow: UnitOfWork,
    actor: Actor,
    row: dict[str, Any],
    action: str,
    *,
    before: dict[str, Any] | None,
    data: dict[str, Any],
) -> None:
    """An endpoint's event, without its secrets; `merchant_id` says whose it is (NULL: the platform's)."""

    def picture(r: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if r is None else {"status": r["status"], "version": r["version"]}

    uow.events.record(
        kind=KIND,
        subject_id=row["id"],
        action=action,
        actor_role=actor.role,
        actor_id=actor.id,
        at=row["updated_at"],
        before=picture(before),
        after=picture(row),
        data={"merchant_id": row["merchant_id"], **data},
        meta={"merchant_id": row["merchant_id"], "version": row["version"]},  # the shop's endpoints hear it
    )
