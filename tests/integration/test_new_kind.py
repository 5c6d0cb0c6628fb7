"""Adding an action is a change to the domain's table and nothing else: a throw-away kind with
one action gets its route, request model, OpenAPI entry, audit replay and docs from the generic
machinery alone (no route, schema, audit or docs code written for it)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from aftersales.api import problems
from aftersales.api.action_routes import add_action_routes
from aftersales.api.auth import mint
from aftersales.domain.actions import ActionSpec, Label, Line, label
from aftersales.domain.clock import SystemClock
from aftersales.domain.machine import Machine, describe_actions, transition
from aftersales.domain.roles import MERCHANT
from aftersales.services import audit
from aftersales.services.context import Actor
from aftersales.services.kinds import KINDS, Registered, act_by_machine
from aftersales.services.parties import Names
from aftersales.services.transitions import Kind, creation
from aftersales.store.repositories import Repo
from conftest import SECRET


@dataclass
class Parcel:
    id: str
    buyer_id: str
    merchant_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    mark: str | None = None
    version: int = 1
    deadline_action: str | None = None
    deadline_due_at: datetime | None = None


@dataclass(frozen=True)
class Stamp:
    mark: Line = field(metadata=label("印记", "Mark"))


MACHINE = Machine(
    "parcel",
    [transition("stamp", "new", "stamped", MERCHANT)],
    [ActionSpec("stamp", Label("盖章", "Stamp"), Stamp, writes={"mark": "mark"}, summary="The merchant stamps it")],
    statuses=("new", "stamped"),
    terminal=("stamped",),
)
TABLE = sa.Table(
    "parcels_throwaway",
    sa.MetaData(),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("buyer_id", sa.String(64)),
    sa.Column("merchant_id", sa.String(64)),
    sa.Column("status", sa.String(32)),
    sa.Column("mark", sa.String(200)),
    sa.Column("version", sa.Integer),
    sa.Column("deadline_action", sa.String(40)),
    sa.Column("deadline_due_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)
KIND = Kind(
    name="parcel",
    machine=MACHINE,
    deadlines={},
    snapshot_fields=("status", "deadline_action", "deadline_due_at"),
    repo=lambda uow: Repo(uow.conn, TABLE, Parcel),
)
ENTRY = Registered(
    KIND,
    TABLE,
    "parcels",
    get=lambda uow, actor, i: None,
    act=act_by_machine(KIND, "parcel"),
    fire=lambda uow, env, row: None,
)


class ParcelOut(BaseModel):
    id: str
    status: str
    mark: str | None
    version: int


def _view(p: Parcel, actor: Actor, names: Names) -> dict[str, Any]:
    return {"id": p.id, "status": p.status, "mark": p.mark, "version": p.version}


@pytest.fixture
def parcels(runtime) -> Iterator[httpx.Client]:
    """A real server of an app with nothing but the throw-away kind's generated routes."""
    TABLE.create(runtime.engine, checkfirst=True)
    app = FastAPI()
    app.state.runtime = runtime
    problems.install(app)
    router = APIRouter(prefix="/v1/parcels")
    add_action_routes(router, ENTRY, _view, ParcelOut)
    app.include_router(router)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    token = mint(SECRET, sub="m-1-staff", role="merchant", merchant_id="m-1", now=SystemClock().now())
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"})
    for _ in range(500):  # until it listens (bounded)
        try:
            client.get("/openapi.json")
            break
        except httpx.TransportError:
            thread.join(0.01)
    try:
        yield client
    finally:
        server.should_exit = True
        thread.join(10)
        TABLE.drop(runtime.engine, checkfirst=True)


def _new_parcel(runtime, parcel_id: str) -> None:
    now = runtime.env.clock.now()
    parcel = Parcel(parcel_id, "b-1", "m-1", "new", now, now)
    with runtime.uow() as uow:
        KIND.repo(uow).insert(parcel)
        creation(uow, KIND, parcel, Actor("integration", "marketplace"), now, {})
        uow.commit()


def test_a_new_kind_with_one_action_gets_its_route_model_openapi_audit_and_docs(runtime, parcels):
    spec = parcels.get("/openapi.json").json()
    operation = spec["paths"]["/v1/parcels/{subject_id}/stamp"]["post"]
    assert operation["summary"] == "The merchant stamps it"
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert body["required"] == ["mark"] and body["properties"]["mark"]["maxLength"] == 200
    assert body["additionalProperties"] is False

    _new_parcel(runtime, "pc-1")
    assert parcels.post("/v1/parcels/pc-1/stamp", json={}).status_code == 422
    assert parcels.post("/v1/parcels/pc-1/stamp", json={"mark": "已验", "stray": 1}).status_code == 422
    stamped = parcels.post("/v1/parcels/pc-1/stamp", json={"mark": " 已验 "})
    assert stamped.status_code == 200, stamped.text
    assert stamped.json() == {"id": "pc-1", "status": "stamped", "mark": "已验", "version": 2}
    again = parcels.post("/v1/parcels/pc-1/stamp", json={"mark": "x"})
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"

    with runtime.uow() as uow:
        events = uow.events.for_subject("parcel", "pc-1")
        row = uow.execute(sa.select(TABLE).where(TABLE.c.id == "pc-1")).one()
    found: list[str] = []
    state = audit.replay(events, problems=found, kinds={**KINDS, "parcel": ENTRY})
    assert found == []
    assert (state["status"], state["mark"]) == (row.status, row.mark) == ("stamped", "已验")

    doc = describe_actions(MACHINE, "parcels")
    assert (
        "| `POST /v1/parcels/{id}/stamp` Stamp | 盖章 | merchant | `mark` (text ≤ 200, required) | mark → `mark` |"
        in doc
    )
