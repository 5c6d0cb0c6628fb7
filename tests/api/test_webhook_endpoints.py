"""Webhook endpoints (docs/api.md "Webhook endpoints"): a shop's merchant keeps its shop's, an admin
the platform's; the secret is shown at creation and rotation only; deletion ends deliveries; the
delivery log reads and retries what the relay wrote (its rows are written directly here)."""

from __future__ import annotations

import base64
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from aftersales.domain.webhooks import ENDPOINTS_PER_OWNER, SECRET_OVERLAP
from aftersales.runtime import Runtime
from aftersales.services.pages import encode
from aftersales.store import tables as t
from api_builders import assert_problem, db_state

PATH = "/v1/webhook-endpoints"
PUBLIC = "https://93.184.215.14/hooks"  # a public address literal: accepted without a DNS lookup


def _create(client, url=PUBLIC, events=("after_sale.*", "dispute.ruled"), **extra):
    return client.post(PATH, json={"url": url, "events": list(events), **extra})


def _created(client, **kw) -> dict[str, Any]:
    r = _create(client, **kw)
    assert r.status_code == 201, r.text
    return r.json()


def _stored(runtime: Runtime, endpoint_id: str) -> Any:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(t.webhook_endpoints).where(t.webhook_endpoints.c.id == endpoint_id)).one()


def _deliver(runtime: Runtime, endpoint_id: str, status: str, *, event_id: int, attempts: int = 0, **cols: Any) -> int:
    """A delivery as the relay writes it, with `attempts` logged attempts that got a 500."""
    now = runtime.env.clock.now()
    with runtime.engine.begin() as conn:
        delivery_id = conn.execute(
            t.webhook_deliveries.insert()
            .values(
                endpoint_id=endpoint_id,
                event_id=event_id,
                message_id=f"msg_{event_id}",
                type="after_sale.approved",
                subject="after_sale:as_1",
                payload={"type": "after_sale.approved"},
                status=status,
                attempts=attempts,
                next_attempt_at=now + timedelta(hours=1) if status == "pending" else None,
                last_status_code=500 if attempts else None,
                last_latency_ms=12 if attempts else None,
                created_at=now,
                **cols,
            )
            .returning(t.webhook_deliveries.c.id)
        ).scalar_one()
        for i in range(attempts):
            conn.execute(
                t.webhook_attempts.insert().values(
                    delivery_id=delivery_id, at=now + timedelta(seconds=i), status_code=500, latency_ms=10 + i
                )
            )
    return int(delivery_id)


def _set(runtime: Runtime, endpoint_id: str, **values: Any) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(t.webhook_endpoints.update().where(t.webhook_endpoints.c.id == endpoint_id).values(**values))


def test_a_merchant_adds_lists_reads_and_deletes_its_endpoints(api, runtime):
    merchant = api.as_("merchant", merchant_id="m-1")
    made = _created(merchant, events=["after_sale.*", "dispute.ruled", "after_sale.*"], description=" 订单系统 ")
    assert made["id"].startswith("we_") and made["merchant_id"] == "m-1" and made["status"] == "enabled"
    assert made["events"] == ["after_sale.*", "dispute.ruled"] and made["description"] == "订单系统"
    assert made["secret"].startswith("whsec_") and len(base64.b64decode(made["secret"][6:])) == 32
    assert made["secret"] == _stored(runtime, made["id"]).secret
    second = _created(merchant, events=["*"])
    listed = merchant.get(PATH).json()
    assert [e["id"] for e in listed["items"]] == [made["id"], second["id"]] and listed["next_cursor"] is None
    one = merchant.get(f"{PATH}/{made['id']}")
    assert one.status_code == 200 and one.json() == {k: v for k, v in made.items() if k != "secret"}
    paged = merchant.get(PATH, params={"limit": 1}).json()
    assert [e["id"] for e in paged["items"]] == [made["id"]]
    rest = merchant.get(PATH, params={"limit": 1, "cursor": paged["next_cursor"]}).json()
    assert [e["id"] for e in rest["items"]] == [second["id"]] and rest["next_cursor"] is None

    r = merchant.delete(f"{PATH}/{made['id']}")
    assert r.status_code == 204 and r.content == b""
    assert [e["id"] for e in merchant.get(PATH).json()["items"]] == [second["id"]]
    for call in (
        lambda: merchant.get(f"{PATH}/{made['id']}"),
        lambda: merchant.delete(f"{PATH}/{made['id']}"),
        lambda: merchant.post(f"{PATH}/{made['id']}/rotate-secret"),
        lambda: merchant.post(f"{PATH}/{made['id']}/enable"),
        lambda: merchant.get(f"{PATH}/{made['id']}/deliveries"),
    ):
        assert_problem(call(), 404, "not_found")
    # The row stays for the delivery log, marked deleted, its previous secret dropped.
    assert _stored(runtime, made["id"]).status == "deleted"


def test_the_platform_s_endpoints_are_the_admin_s_and_apart_from_the_shops(api):
    admin, merchant = api.as_("admin", "admin-1"), api.as_("merchant", merchant_id="m-1")
    platform = _created(admin, events=["complaint.*"])
    shop = _created(merchant)
    assert platform["merchant_id"] is None
    assert [e["id"] for e in admin.get(PATH).json()["items"]] == [platform["id"]]
    assert [e["id"] for e in merchant.get(PATH).json()["items"]] == [shop["id"]]
    assert_problem(admin.get(f"{PATH}/{shop['id']}"), 404, "not_found")
    assert_problem(merchant.get(f"{PATH}/{platform['id']}"), 404, "not_found")
    assert api.as_("admin", "admin-2").get(f"{PATH}/{platform['id']}").status_code == 200


def test_another_shop_finds_nothing_other_roles_are_refused_and_nobody_writes(api, runtime):
    own = _created(api.as_("merchant", merchant_id="m-1"))
    delivery = _deliver(runtime, own["id"], "dead", event_id=1, attempts=2)
    before = db_state(runtime)
    calls = {
        "list": lambda c: c.get(PATH),
        "create": lambda c: _create(c),
        "get": lambda c: c.get(f"{PATH}/{own['id']}"),
        "delete": lambda c: c.delete(f"{PATH}/{own['id']}"),
        "rotate": lambda c: c.post(f"{PATH}/{own['id']}/rotate-secret"),
        "enable": lambda c: c.post(f"{PATH}/{own['id']}/enable"),
        "deliveries": lambda c: c.get(f"{PATH}/{own['id']}/deliveries"),
        "retry": lambda c: c.post(f"/v1/webhook-deliveries/{delivery}/retry"),
    }
    other = api.as_("merchant", merchant_id="m-2")
    for name in ("get", "delete", "rotate", "enable", "deliveries", "retry"):
        assert_problem(calls[name](other), 404, "not_found")
    for role in ("buyer", "agent", "integration"):
        for call in calls.values():
            assert_problem(call(api.as_(role)), 403, "forbidden")
    for call in calls.values():
        assert_problem(call(api.anonymous), 401, "unauthenticated")
    assert db_state(runtime) == before
    assert other.get(PATH).json()["items"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "https://user:pw@93.184.215.14/hook",
        "ftp://93.184.215.14/hook",
        "not a url",
        "https://no-such-host.invalid/hook",
    ],
)
def test_a_url_leading_to_a_private_or_no_address_is_refused(api, runtime, url):
    before = db_state(runtime)
    body = assert_problem(_create(api.as_("merchant", merchant_id="m-1"), url=url), 422, "webhook_url_refused")
    assert [e["loc"] for e in body["errors"]] == [["url"]]
    assert db_state(runtime) == before


def test_private_addresses_are_taken_when_the_operator_allows_them(serve, settings, clock, engine):
    allowing = Runtime.build(dataclasses.replace(settings, webhook_allow_private=True), clock=clock, engine=engine)
    made = _created(serve(allowing).as_("merchant", merchant_id="m-1"), url="http://127.0.0.1:9/hook")
    assert made["url"] == "http://127.0.0.1:9/hook"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"url": PUBLIC, "events": []}, None),
        ({"url": PUBLIC}, None),
        ({"url": PUBLIC, "events": "after_sale.*"}, None),
        ({"url": PUBLIC, "events": ["orders.*"]}, "unknown_event_type"),
        ({"url": PUBLIC, "events": ["after_sales.approved"]}, "unknown_event_type"),
        ({"url": PUBLIC, "events": ["after_sale"]}, "invalid_event_filter"),
        ({"url": PUBLIC, "events": ["after_sale.Approved!"]}, "invalid_event_filter"),
        ({"url": PUBLIC, "events": ["after_sale.*.*"]}, "invalid_event_filter"),
        ({"url": PUBLIC, "events": ["**"]}, "unknown_event_type"),
        ({"url": PUBLIC, "events": [f"order.e{i}" for i in range(51)]}, None),
        ({"url": PUBLIC, "events": ["order." + "x" * 60]}, None),
        ({"url": "https://93.184.215.14/" + "a" * 2000, "events": ["*"]}, None),
        ({"url": " ", "events": ["*"]}, None),
        ({"url": PUBLIC, "events": ["*"], "secret": "whsec_mine"}, None),
        ({"url": PUBLIC, "events": ["*"], "description": "d" * 501}, None),
    ],
)
def test_event_filters_and_fields_out_of_bounds_are_refused(api, runtime, payload, code):
    before = db_state(runtime)
    assert_problem(api.as_("merchant", merchant_id="m-1").post(PATH, json=payload), 422, code)
    assert db_state(runtime) == before


def test_an_owner_keeps_at_most_the_cap_and_a_deleted_one_frees_its_place(api):
    merchant = api.as_("merchant", merchant_id="m-1")
    made = [_created(merchant, events=["*"]) for _ in range(ENDPOINTS_PER_OWNER)]
    assert_problem(_create(merchant), 409, "too_many_webhook_endpoints")
    _created(api.as_("merchant", merchant_id="m-2"))  # the cap is per owner
    _created(api.as_("admin"))
    assert merchant.delete(f"{PATH}/{made[3]['id']}").status_code == 204
    _created(merchant)
    assert_problem(_create(merchant), 409, "too_many_webhook_endpoints")


def test_rotation_answers_a_new_secret_once_and_the_old_one_signs_for_the_overlap(api, runtime, clock):
    merchant = api.as_("merchant", merchant_id="m-1")
    made = _created(merchant)
    clock.advance(timedelta(hours=3))
    r = merchant.post(f"{PATH}/{made['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    assert rotated["version"] == made["version"] + 1 and r.headers["etag"] == f'"{rotated["version"]}"'
    row = _stored(runtime, made["id"])
    assert (row.secret, row.previous_secret) == (rotated["secret"], made["secret"])
    assert row.previous_secret_expires_at == clock.now() + SECRET_OVERLAP
    assert rotated["previous_secret_expires_at"] == (clock.now() + SECRET_OVERLAP).isoformat()
    # Again inside the overlap: the first secret is gone, the second one now overlaps.
    clock.advance(timedelta(hours=1))
    again = merchant.post(f"{PATH}/{made['id']}/rotate-secret").json()
    row = _stored(runtime, made["id"])
    assert (row.secret, row.previous_secret) == (again["secret"], rotated["secret"])
    assert row.previous_secret_expires_at == clock.now() + SECRET_OVERLAP
    assert "secret" not in merchant.get(f"{PATH}/{made['id']}").json()


def test_no_read_listing_or_event_carries_a_secret(api, runtime):
    merchant = api.as_("merchant", merchant_id="m-1")
    made = _created(merchant)
    rotated = merchant.post(f"{PATH}/{made['id']}/rotate-secret").json()
    _set(runtime, made["id"], status="disabled", disabled_reason="10 failures in a row")
    assert merchant.post(f"{PATH}/{made['id']}/enable").status_code == 200
    shown = [merchant.get(PATH).text, merchant.get(f"{PATH}/{made['id']}").text]
    with runtime.engine.connect() as conn:
        events = conn.execute(
            sa.select(t.events).where(t.events.c.subject_kind == "webhook_endpoint").order_by(t.events.c.id)
        ).all()
        outbox = conn.execute(sa.select(t.outbox.c.topic, t.outbox.c.payload).order_by(t.outbox.c.id)).all()
    assert [e.action for e in events] == ["created", "secret_rotated", "enabled"]
    assert all(e.data["merchant_id"] == "m-1" and e.actor_id == "m-1-staff" for e in events)
    assert [o.topic for o in outbox] == [
        "webhook_endpoint.created",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.enabled",
    ]
    for text in [*shown, *(repr(tuple(e)) for e in events), *(repr(tuple(o)) for o in outbox)]:
        assert "whsec_" not in text
        assert made["secret"][6:] not in text and rotated["secret"][6:] not in text


def test_enable_brings_back_an_endpoint_the_relay_disabled(api, runtime):
    merchant = api.as_("merchant", merchant_id="m-1")
    made = _created(merchant)
    _set(runtime, made["id"], status="disabled", disabled_reason="failing since 2026-11-20", failure_streak=15)
    seen = merchant.get(f"{PATH}/{made['id']}").json()
    assert (seen["status"], seen["disabled_reason"], seen["failure_streak"]) == (
        "disabled",
        "failing since 2026-11-20",
        15,
    )
    r = merchant.post(f"{PATH}/{made['id']}/enable")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["disabled_reason"], r.json()["failure_streak"]) == ("enabled", None, 0)
    # Enabling an enabled endpoint changes nothing.
    before = db_state(runtime)
    again = merchant.post(f"{PATH}/{made['id']}/enable")
    assert again.status_code == 200 and again.json() == r.json()
    assert db_state(runtime) == before


def test_the_delivery_log_lists_newest_first_with_each_attempt(api, runtime, clock):
    merchant = api.as_("merchant", merchant_id="m-1")
    made, other = _created(merchant), _created(merchant)
    first = _deliver(runtime, made["id"], "succeeded", event_id=1, attempts=1)
    clock.advance(timedelta(minutes=1))
    second = _deliver(runtime, made["id"], "dead", event_id=2, attempts=3, last_error="HTTP 500")
    clock.advance(timedelta(minutes=1))
    third = _deliver(runtime, made["id"], "pending", event_id=3)
    _deliver(runtime, other["id"], "pending", event_id=3)
    url = f"{PATH}/{made['id']}/deliveries"
    items = merchant.get(url).json()["items"]
    assert [d["id"] for d in items] == [third, second, first]
    dead = items[1]
    assert (dead["type"], dead["status"], dead["attempts"], dead["last_status_code"], dead["last_latency_ms"]) == (
        "after_sale.approved",
        "dead",
        3,
        500,
        12,
    )
    assert dead["last_error"] == "HTTP 500" and dead["message_id"] == "msg_2" and dead["next_attempt_at"] is None
    assert [a["latency_ms"] for a in dead["attempt_log"]] == [10, 11, 12]
    assert all(a["status_code"] == 500 for a in dead["attempt_log"])
    assert items[0]["attempt_log"] == [] and items[0]["next_attempt_at"] is not None
    page = merchant.get(url, params={"limit": 2}).json()
    assert [d["id"] for d in page["items"]] == [third, second]
    rest = merchant.get(url, params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [d["id"] for d in rest["items"]] == [first] and rest["next_cursor"] is None
    assert [d["id"] for d in merchant.get(url, params={"status": "dead"}).json()["items"]] == [second]
    assert_problem(merchant.get(url, params={"status": "lost"}), 422)
    for cursor in ("not-a-cursor", encode(clock.now(), "abc"), encode(clock.now(), "9" * 30)):
        assert_problem(merchant.get(url, params={"cursor": cursor}), 422)
    assert_problem(merchant.get(url, params={"limit": 0}), 422)


def test_a_retry_makes_a_dead_or_pending_delivery_due_now(api, runtime, clock):
    merchant = api.as_("merchant", merchant_id="m-1")
    made = _created(merchant)
    dead = _deliver(runtime, made["id"], "dead", event_id=1, attempts=5)
    pending = _deliver(runtime, made["id"], "pending", event_id=2, attempts=1)
    done = _deliver(runtime, made["id"], "succeeded", event_id=3, attempts=1)
    clock.advance(timedelta(minutes=5))
    r = merchant.post(f"/v1/webhook-deliveries/{dead}/retry")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["next_attempt_at"], r.json()["attempts"]) == (
        "pending",
        clock.now().isoformat(),
        5,
    )
    assert len(r.json()["attempt_log"]) == 5
    r = merchant.post(f"/v1/webhook-deliveries/{pending}/retry")
    assert (r.json()["status"], r.json()["next_attempt_at"]) == ("pending", clock.now().isoformat())
    with runtime.engine.connect() as conn:
        d = t.webhook_deliveries.c
        due = conn.execute(sa.select(d.id).where(d.status == "pending", d.next_attempt_at <= clock.now())).scalars()
        assert sorted(due) == sorted([dead, pending])
    assert_problem(merchant.post(f"/v1/webhook-deliveries/{done}/retry"), 409, "delivery_succeeded")
    _set(runtime, made["id"], status="disabled", disabled_reason="failing")
    assert_problem(merchant.post(f"/v1/webhook-deliveries/{dead}/retry"), 409, "webhook_endpoint_disabled")
    for missing in ("999999", "abc", "9" * 30, "-1"):
        assert_problem(merchant.post(f"/v1/webhook-deliveries/{missing}/retry"), 404, "not_found")


def test_deleting_an_endpoint_leaves_its_pending_deliveries_dead(api, runtime):
    merchant = api.as_("merchant", merchant_id="m-1")
    made, kept = _created(merchant), _created(merchant)
    pending = _deliver(runtime, made["id"], "pending", event_id=1, attempts=2)
    done = _deliver(runtime, made["id"], "succeeded", event_id=2, attempts=1)
    elsewhere = _deliver(runtime, kept["id"], "pending", event_id=1)
    assert merchant.delete(f"{PATH}/{made['id']}").status_code == 204
    with runtime.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(t.webhook_deliveries))}
        event = conn.execute(sa.select(t.events).where(t.events.c.action == "deleted")).one()
    assert (rows[pending].status, rows[pending].next_attempt_at, rows[pending].last_error) == (
        "dead",
        None,
        "endpoint deleted",
    )
    assert rows[done].status == "succeeded" and rows[elsewhere].status == "pending"
    assert (event.subject_id, event.before["status"], event.after["status"]) == (made["id"], "enabled", "deleted")
    assert_problem(merchant.post(f"/v1/webhook-deliveries/{pending}/retry"), 404, "not_found")


def test_a_repeated_creation_with_its_idempotency_key_answers_the_same_endpoint(api, runtime):
    merchant = api.as_("merchant", merchant_id="m-1")
    body = {"url": PUBLIC, "events": ["*"]}
    first = merchant.post(PATH, json=body, headers={"Idempotency-Key": "k-1"})
    again = merchant.post(PATH, json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(merchant.get(PATH).json()["items"]) == 1
    assert_problem(
        merchant.post(PATH, json={**body, "events": ["order.*"]}, headers={"Idempotency-Key": "k-1"}),
        422,
        "idempotency_key_reused",
    )


def test_every_answer_fits_the_shape_the_openapi_declares(api, runtime):
    import jsonschema_rs

    spec = api.anonymous.get("/openapi.json").json()
    merchant = api.as_("merchant", merchant_id="m-1")
    made = _create(merchant)
    endpoint_id = made.json()["id"]
    delivery = _deliver(runtime, endpoint_id, "dead", event_id=1, attempts=2)
    checks = [
        ("post", PATH, 201, made),
        ("get", PATH, 200, merchant.get(PATH)),
        ("get", f"{PATH}/{{endpoint_id}}", 200, merchant.get(f"{PATH}/{endpoint_id}")),
        ("post", f"{PATH}/{{endpoint_id}}/rotate-secret", 200, merchant.post(f"{PATH}/{endpoint_id}/rotate-secret")),
        ("post", f"{PATH}/{{endpoint_id}}/enable", 200, merchant.post(f"{PATH}/{endpoint_id}/enable")),
        ("get", f"{PATH}/{{endpoint_id}}/deliveries", 200, merchant.get(f"{PATH}/{endpoint_id}/deliveries")),
        (
            "post",
            "/v1/webhook-deliveries/{delivery_id}/retry",
            200,
            merchant.post(f"/v1/webhook-deliveries/{delivery}/retry"),
        ),
    ]
    for method, path, status, response in checks:
        assert response.status_code == status, (path, response.text)
        schema = spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
        jsonschema_rs.validate({"$ref": schema["$ref"], "components": spec["components"]}, response.json())
