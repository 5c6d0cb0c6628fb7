"""The payments routes over HTTP: the simulated provider's signed callback (idempotent, forged ones
refused and writing nothing), its faults switched by an admin outside production, and the agents'
queue of refunds with their retry."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa

from aftersales.integrations.payments import SIGNATURE_HEADER, SimulatedProvider, sign
from aftersales.runtime import Runtime
from aftersales.services import payments
from aftersales.store import tables
from api_builders import assert_problem, db_state, feed_order

CALLBACK = "/v1/payments/callbacks/simulated"
FAULTS = "/v1/admin/payments/simulated"


def _refund(api) -> dict:
    """A paid order the buyer cancels: its full refund, pending."""
    feed_order(api, "o-1", upto="stocking")
    r = api.as_("buyer", "b-1").post("/v1/orders/o-1/cancel", json={"reason": "拍错"})
    assert r.status_code == 200, r.text
    [refund] = api.as_("agent").get("/v1/refunds", params={"order_id": "o-1"}).json()["items"]
    assert refund["status"] == "pending"
    return refund


def _pass(api) -> None:
    runtime = api.runtime
    payments.run(runtime.engine, runtime.env, runtime.payments)


def _status(api, refund_id: str) -> dict:
    [row] = [r for r in api.as_("agent").get("/v1/refunds").json()["items"] if r["id"] == refund_id]
    return row


def _events(api, refund_id: str) -> list[str]:
    e = tables.events.c
    with api.runtime.engine.connect() as conn:
        query = sa.select(e.action).where(e.subject_kind == "refund", e.subject_id == refund_id).order_by(e.id)
        return list(conn.execute(query).scalars())


def _fault(api, fault: str, **more) -> None:
    r = api.as_("admin", "admin-1").put(FAULTS, json={"fault": fault, **more})
    assert r.status_code == 200 and r.json()["fault"] == fault, r.text


def test_a_duplicated_callback_confirms_once(api):
    _fault(api, "duplicate_callback")
    refund = _refund(api)
    _pass(api)
    assert _status(api, refund["id"])["status"] == "pending"  # accepted: the callback confirms it
    provider = api.runtime.payments
    first, second = provider.callbacks(refund["id"])
    assert first == second
    answers = [
        api.anonymous.post(
            CALLBACK, content=c.body, headers={SIGNATURE_HEADER: c.signature, "Content-Type": "application/json"}
        )
        for c in (first, second)
    ]
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert [a.json()["changed"] for a in answers] == [True, False]
    assert all(a.json()["status"] == "succeeded" for a in answers)
    assert _events(api, refund["id"]) == ["succeeded"]
    refund_after = _status(api, refund["id"])
    assert refund_after["status"] == "succeeded" and refund_after["completed_at"]
    before = db_state(api.runtime)
    _pass(api)  # nothing left to ask the provider
    assert db_state(api.runtime) == before


def test_a_forged_or_unsigned_callback_is_refused_and_changes_nothing(api):
    _fault(api, "slow")
    refund = _refund(api)
    _pass(api)
    body = f'{{"refund_id": "{refund["id"]}", "reference": "sim-{refund["id"]}", "state": "succeeded"}}'.encode()
    before = db_state(api.runtime)
    for headers in (
        {SIGNATURE_HEADER: sign("not-the-provider-secret", body)},
        {SIGNATURE_HEADER: "sha256=" + "0" * 64},
        {},
    ):
        assert_problem(api.anonymous.post(CALLBACK, content=body, headers=headers), 401, "invalid_signature")
    assert db_state(api.runtime) == before
    assert _status(api, refund["id"])["status"] == "pending"
    # Well signed but about no refund of ours, or not a callback at all.
    secret = api.runtime.settings.payments_secret
    stranger = b'{"refund_id": "rf_nope", "reference": "sim-rf_nope", "state": "succeeded"}'
    assert_problem(
        api.anonymous.post(CALLBACK, content=stranger, headers={SIGNATURE_HEADER: sign(secret, stranger)}), 404
    )
    assert_problem(api.anonymous.post(CALLBACK, content=b"[1]", headers={SIGNATURE_HEADER: sign(secret, b"[1]")}), 401)
    assert db_state(api.runtime) == before


def test_agents_see_failed_and_late_refunds_and_retry_them(api):
    _fault(api, "error")
    refund = _refund(api)
    for wait in (timedelta(0), *payments.BACKOFF):
        api.clock.advance(wait)
        _pass(api)
    agent, buyer = api.as_("agent"), api.as_("buyer", "b-1")
    queue = agent.get("/v1/refunds", params={"status": "failed"}).json()["items"]
    assert [r["id"] for r in queue] == [refund["id"]] and queue[0]["attempts"] == payments.MAX_ATTEMPTS
    assert agent.get("/v1/refunds", params={"late": "true"}).json()["items"] == []
    assert [r["id"] for r in buyer.get("/v1/refunds", params={"status": "failed"}).json()["items"]] == [refund["id"]]
    assert_problem(agent.get("/v1/refunds", params={"status": "lost"}), 422)
    assert_problem(buyer.post(f"/v1/refunds/{refund['id']}/retry"), 403, "forbidden")
    assert_problem(api.as_("buyer", "b-2").post(f"/v1/refunds/{refund['id']}/retry"), 404)
    _fault(api, "none")
    retried = agent.post(f"/v1/refunds/{refund['id']}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "pending", retried.text
    assert_problem(agent.post(f"/v1/refunds/{refund['id']}/retry"), 409, "refund_not_failed")
    _pass(api)
    assert _status(api, refund["id"])["status"] == "succeeded"
    assert agent.get("/v1/refunds", params={"status": "failed"}).json()["items"] == []


def test_only_an_admin_switches_the_faults_and_only_outside_production(api, serve, runtime):
    assert_problem(api.as_("agent").put(FAULTS, json={"fault": "error"}), 403)
    assert_problem(api.as_("admin", "admin-1").put(FAULTS, json={"fault": "meltdown"}), 422)
    assert_problem(api.as_("admin", "admin-1").put(FAULTS, json={"fault": "slow", "delay_seconds": -1}), 422)
    provider = runtime.payments
    assert isinstance(provider, SimulatedProvider) and provider.fault()[0] == "none"
    _fault(api, "slow", delay_seconds=3600)
    assert provider.fault() == ("slow", timedelta(hours=1))
    production = Runtime.build(
        dataclasses.replace(runtime.settings, payments_faults=False), clock=runtime.env.clock, engine=runtime.engine
    )
    assert_problem(serve(production).as_("admin", "admin-1").put(FAULTS, json={"fault": "none"}), 404)
    assert provider.fault()[0] == "slow"


@pytest.mark.parametrize("value", ["stripe", "SIMULATED"])
def test_any_provider_but_the_simulated_one_is_refused_at_start_up(value, tmp_path):
    from aftersales.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="AFTERSALES_PAYMENTS"):
        Settings.from_env({"AFTERSALES_PAYMENTS": value, "AFTERSALES_DATA_DIR": str(tmp_path)}, demo=True)
    assert Settings.from_env({"AFTERSALES_DATA_DIR": str(tmp_path)}, demo=True).payments == "simulated"


def test_hostile_unsigned_bodies_on_the_callback_are_refused_and_change_nothing(api, runtime):
    hostile = [
        b"[]",
        b"\xff\xfe{",
        b'{"a":' * 300 + b"1" + b"}" * 300,
        b'{"refund_id": "\\u0000\\ud800", "reference": 1e308, "state": "succeeded"}',
        ('{"refund_id": "' + "长" * 400_000 + '"}').encode(),
    ]
    _refund(api)
    before = db_state(runtime)
    for body in hostile:
        r = api.anonymous.post(CALLBACK, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (401, 413), (body[:40], r.status_code, r.text[:200])
        assert_problem(r, r.status_code)
    assert db_state(runtime) == before


def test_advancing_the_simulated_clock_runs_the_payments_pass_too(serve, settings, engine):
    sim = serve(Runtime.build(dataclasses.replace(settings, simulated_clock=True), engine=engine))
    _fault(sim, "error")
    refund = _refund(sim)
    admin = sim.as_("admin", "admin-1")
    first = admin.post("/v1/admin/clock", json={"advance_seconds": 0})
    assert first.status_code == 200 and first.json()["refunds_submitted"] == 1, first.text
    assert _status(sim, refund["id"])["attempts"] == 1
    early = admin.post("/v1/admin/clock", json={"advance_seconds": 60})
    assert early.json()["refunds_submitted"] == 0  # its next try waits the backoff
    _fault(sim, "none")
    later = admin.post("/v1/admin/clock", json={"advance_seconds": int(payments.BACKOFF[0].total_seconds())})
    assert later.json()["refunds_submitted"] == 1
    assert _status(sim, refund["id"])["status"] == "succeeded"


def test_in_production_the_public_callback_key_signs_nothing():
    """Unset in production, the key is random: a callback signed with the simulation's public
    default cannot mark a refund paid (outside probe)."""
    from aftersales.config import SIMULATED_PAYMENTS_SECRET, Settings

    env = {"AFTERSALES_ENV": "production", "AFTERSALES_JWT_SECRET": "p" * 32}
    first, second = Settings.from_env(env), Settings.from_env(env)
    assert SIMULATED_PAYMENTS_SECRET not in (first.payments_secret, second.payments_secret)
    assert first.payments_secret != second.payments_secret and len(first.payments_secret) >= 32
    chosen = Settings.from_env(env | {"AFTERSALES_PAYMENTS_SECRET": "k" * 40})
    assert chosen.payments_secret == "k" * 40
    assert Settings.from_env({}, demo=True).payments_secret == SIMULATED_PAYMENTS_SECRET
