"""Safety on retries and races (docs/api.md): Idempotency-Key replays, If-Match and ETag, and two
conflicting actions racing without If-Match resolve to one winner and a clean 409."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from api_builders import ADDRESS, assert_problem, case_body, db_state, feed_order, file_case, order_body, race


def _events(api, case_id: str) -> list[str]:
    return [e["action"] for e in api.as_("agent").get(f"/v1/after-sales/{case_id}/events").json()["items"]]


def _cases(api) -> list[dict]:
    return api.as_("agent").get("/v1/after-sales").json()["items"]


# --- Idempotency-Key -------------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_response_and_files_one_case(api):
    feed_order(api)
    buyer = api.as_("buyer", "b-1")
    headers = {"Idempotency-Key": "file-o-1001"}
    first = buyer.post("/v1/after-sales", json=case_body(), headers=headers)
    again = buyer.post("/v1/after-sales", json=case_body(), headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"] == f'"{first.json()["version"]}"'
    assert [c["id"] for c in _cases(api)] == [first.json()["id"]]
    assert _events(api, first.json()["id"]) == ["file"]


def test_without_a_key_a_retry_is_a_new_request(api):
    """The contrast: no key, no replay; the order's one open request makes the retry a 409."""
    feed_order(api)
    buyer = api.as_("buyer", "b-1")
    assert buyer.post("/v1/after-sales", json=case_body()).status_code == 201
    assert_problem(buyer.post("/v1/after-sales", json=case_body()), 409, "case_already_open")


def test_same_key_replays_an_action_and_applies_it_once(api):
    feed_order(api)
    case_id = file_case(api)["id"]
    merchant = api.as_("merchant", merchant_id="m-1")
    headers = {"Idempotency-Key": "approve-1"}
    first = merchant.post(f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS}, headers=headers)
    again = merchant.post(f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["etag"] == first.headers["etag"]
    assert _events(api, case_id) == ["file", "approve"]
    assert merchant.get(f"/v1/after-sales/{case_id}").json()["version"] == first.json()["version"]


def test_same_key_replays_an_order_feed(api):
    market = api.as_("integration", "marketplace")
    headers = {"Idempotency-Key": "feed-o-1"}
    first = market.post("/v1/orders", json=order_body("o-1"), headers=headers)
    again = market.post("/v1/orders", json=order_body("o-1"), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    events = api.as_("agent").get("/v1/orders/o-1/events").json()["items"]
    assert [e["action"] for e in events] == ["create"]


def test_same_key_with_another_body_is_422_idempotency_key_reused_and_writes_nothing(api, runtime):
    feed_order(api)
    feed_order(api, "o-2")
    buyer = api.as_("buyer", "b-1")
    headers = {"Idempotency-Key": "k-1"}
    first = buyer.post("/v1/after-sales", json=case_body(amount=100), headers=headers)
    assert first.status_code == 201
    before = db_state(runtime)
    for body in (case_body(amount=101), case_body("o-2", amount=100)):
        assert_problem(buyer.post("/v1/after-sales", json=body, headers=headers), 422, "idempotency_key_reused")
    # The same key on another endpoint is another request too.
    r = buyer.post(f"/v1/after-sales/{first.json()['id']}/withdraw", headers=headers)
    assert_problem(r, 422, "idempotency_key_reused")
    assert db_state(runtime) == before


def test_a_failed_request_stores_no_key_so_a_corrected_retry_succeeds(api):
    feed_order(api)
    buyer = api.as_("buyer", "b-1")
    headers = {"Idempotency-Key": "k-1"}
    assert_problem(
        buyer.post("/v1/after-sales", json=case_body(amount=10**6), headers=headers), 422, "amount_exceeds_refundable"
    )
    # Same key, same (bad) body: evaluated again, still refused, not replayed as a success.
    assert_problem(
        buyer.post("/v1/after-sales", json=case_body(amount=10**6), headers=headers), 422, "amount_exceeds_refundable"
    )
    r = buyer.post("/v1/after-sales", json=case_body(amount=500), headers=headers)
    assert r.status_code == 201 and r.json()["amount"] == 500, r.text


def test_keys_are_per_caller(api):
    feed_order(api, "o-1", buyer="b-1")
    feed_order(api, "o-2", buyer="b-2")
    headers = {"Idempotency-Key": "same-string"}
    one = api.as_("buyer", "b-1").post("/v1/after-sales", json=case_body("o-1"), headers=headers)
    two = api.as_("buyer", "b-2").post("/v1/after-sales", json=case_body("o-2"), headers=headers)
    assert one.status_code == two.status_code == 201, two.text
    assert one.json()["id"] != two.json()["id"] and two.json()["buyer_id"] == "b-2"
    assert "idempotent-replayed" not in two.headers
    # b-2 retrying b-1's exact request with the same key does not get b-1's case back.
    r = api.as_("buyer", "b-2").post("/v1/after-sales", json=case_body("o-1"), headers=headers)
    assert_problem(r, 422, "idempotency_key_reused")
    assert len(_cases(api)) == 2


def test_concurrent_retries_with_one_key_file_one_case_and_all_get_its_response(api):
    feed_order(api)

    def call() -> httpx.Response:
        with api.as_("buyer", "b-1") as buyer:
            return buyer.post("/v1/after-sales", json=case_body(), headers={"Idempotency-Key": "burst"})

    responses = race([call] * 4)
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(_cases(api)) == 1
    assert _events(api, responses[0].json()["id"]) == ["file"]


# --- If-Match and ETag ------------------------------------------------------------------------


def test_etag_is_the_version_on_reads_and_actions(api):
    feed_order(api)
    case = file_case(api)
    merchant = api.as_("merchant", merchant_id="m-1")
    r = merchant.get(f"/v1/after-sales/{case['id']}")
    assert r.headers["etag"] == f'"{r.json()["version"]}"' and r.json()["version"] == case["version"]
    r = merchant.post(f"/v1/after-sales/{case['id']}/approve", json={"return_address": ADDRESS})
    assert r.json()["version"] > case["version"]
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    order = merchant.get("/v1/orders/o-1001")
    assert order.headers["etag"] == f'"{order.json()["version"]}"'


def test_stale_if_match_is_412_precondition_failed_and_changes_nothing(api, runtime):
    feed_order(api)
    case = file_case(api)
    merchant = api.as_("merchant", merchant_id="m-1")
    stale = case["version"] + 1
    before = db_state(runtime)
    for value in (f'"{stale}"', str(stale), '"0"'):
        r = merchant.post(
            f"/v1/after-sales/{case['id']}/approve", json={"return_address": ADDRESS}, headers={"If-Match": value}
        )
        assert_problem(r, 412, "precondition_failed")
    assert db_state(runtime) == before
    assert merchant.get(f"/v1/after-sales/{case['id']}").json()["status"] == "pending_merchant"


def test_matching_if_match_succeeds_and_the_old_etag_is_then_stale(api):
    feed_order(api)
    case_id = file_case(api)["id"]
    merchant = api.as_("merchant", merchant_id="m-1")
    etag = merchant.get(f"/v1/after-sales/{case_id}").headers["etag"]
    r = merchant.post(
        f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS}, headers={"If-Match": etag}
    )
    assert r.status_code == 200 and r.json()["status"] == "awaiting_return", r.text
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case_id}/withdraw", headers={"If-Match": etag})
    assert_problem(r, 412, "precondition_failed")
    weak = "W/" + merchant.get(f"/v1/after-sales/{case_id}").headers["etag"]  # a weak form is accepted too
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case_id}/withdraw", headers={"If-Match": weak})
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text


def test_if_match_on_order_actions(api):
    feed_order(api, "o-1", upto="stocking")
    market = api.as_("integration", "marketplace")
    version = market.get("/v1/orders/o-1").json()["version"]
    r = market.post(
        "/v1/orders/o-1/ship", json={"carrier": "SF", "tracking_number": "1"}, headers={"If-Match": f'"{version + 5}"'}
    )
    assert_problem(r, 412, "precondition_failed")
    assert market.get("/v1/orders/o-1").json()["status"] == "stocking"
    r = market.post(
        "/v1/orders/o-1/ship", json={"carrier": "SF", "tracking_number": "1"}, headers={"If-Match": f'"{version}"'}
    )
    assert r.status_code == 200 and r.json()["status"] == "shipped"


# --- races: exactly one winner, the other 409 ------------------------------------------------


@pytest.mark.parametrize("round_", range(3))
def test_racing_approve_and_reject_have_one_winner_and_a_409(api, round_):
    feed_order(api)
    case_id = file_case(api)["id"]

    def approve() -> httpx.Response:
        with api.as_("merchant", merchant_id="m-1") as m:
            return m.post(f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS})

    def reject() -> httpx.Response:
        with api.as_("merchant", "m-1-boss", merchant_id="m-1") as m:
            return m.post(f"/v1/after-sales/{case_id}/reject", json={"reason": "no_quality_issue"})

    calls = [approve, reject] if round_ % 2 == 0 else [reject, approve]
    responses = race(calls)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    loser = next(r for r in responses if r.status_code == 409)
    assert_problem(loser, 409)
    assert loser.json()["code"] in ("illegal_transition", "version_conflict", "concurrent_update")
    final = api.as_("agent").get(f"/v1/after-sales/{case_id}").json()
    assert final["status"] == winner["status"] in ("awaiting_return", "rejected")
    assert final["version"] == winner["version"]
    won = "approve" if winner["status"] == "awaiting_return" else "reject"
    assert _events(api, case_id) == ["file", won]


def test_racing_withdraw_and_approve_leave_the_state_their_events_say(api):
    feed_order(api)
    case_id = file_case(api)["id"]

    def withdraw() -> httpx.Response:
        with api.as_("buyer", "b-1") as b:
            return b.post(f"/v1/after-sales/{case_id}/withdraw")

    def approve() -> httpx.Response:
        with api.as_("merchant", merchant_id="m-1") as m:
            return m.post(f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS})

    responses = race([withdraw, approve])
    codes = sorted(r.status_code for r in responses)
    # Both orders are legal (withdraw is allowed from awaiting_return too); what must hold is that
    # the final state is the result of the events, in order, and no response is a 500.
    assert all(c in (200, 409) for c in codes), [r.text for r in responses]
    final = api.as_("agent").get(f"/v1/after-sales/{case_id}").json()
    events = _events(api, case_id)
    assert events[0] == "file" and events.count("approve") <= 1 and events.count("withdraw") <= 1
    assert final["status"] == ("closed" if events[-1] == "withdraw" else "awaiting_return")
    assert len(events) - 1 == codes.count(200)


def test_two_buyers_racing_for_the_same_orders_request_slot_file_one_case(api):
    """One open request per order: two concurrent filings (different keys) get one winner."""
    feed_order(api)

    def file_one(amount: int) -> Callable[[], httpx.Response]:
        def call() -> httpx.Response:
            with api.as_("buyer", "b-1") as b:
                return b.post("/v1/after-sales", json=case_body(amount=amount))

        return call

    responses = race([file_one(100), file_one(200), file_one(300)])
    assert sorted(r.status_code for r in responses) == [201, 409, 409], [r.text for r in responses]
    assert len(_cases(api)) == 1


def test_concurrent_retries_of_one_action_with_one_key_all_get_the_first_response(api):
    feed_order(api)
    case_id = file_case(api)["id"]

    def call() -> httpx.Response:
        with api.as_("merchant", merchant_id="m-1") as m:
            return m.post(
                f"/v1/after-sales/{case_id}/approve",
                json={"return_address": ADDRESS},
                headers={"Idempotency-Key": "approve-burst"},
            )

    responses = race([call] * 3)
    assert [r.status_code for r in responses] == [200] * 3, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    assert _events(api, case_id) == ["file", "approve"]


def test_if_match_star_matches_any_current_version(api):
    feed_order(api)
    case = file_case(api)
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case['id']}/withdraw", headers={"If-Match": "*"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
