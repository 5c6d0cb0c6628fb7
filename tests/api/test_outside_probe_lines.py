"""The line-item and negotiation endpoints probed from outside, as an attacker would: a real uvicorn
server, hostile bodies, other tenants' ids, bursts, and combinations of refunds that might pay a
buyer more than the goods or take a merchant's recourse away. Each test here is a defect found
that way and fixed."""

from __future__ import annotations

from typing import Any

from aftersales.runtime import Runtime
from api_builders import assert_problem, db_state, feed_order, file_case
from live_server import Api

SHIP = {"carrier": "顺丰速运", "tracking_number": "SF123456"}


def _post(client: Any, case_id: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = client.post(f"/v1/after-sales/{case_id}/{action}", json=body or {})
    assert r.status_code == 200, r.text
    return r.json()


def _speedy_refunded(api: Api) -> str:
    """A return refunded as it shipped back (极速退款: online, under ¥500): the money moved."""
    feed_order(api, quantity=1, unit_price=10000)
    case_id = file_case(api)["id"]
    _post(api.as_("merchant", merchant_id="m-1"), case_id, "approve", {"return_address": "杭州"})
    shipped = _post(api.as_("buyer", "b-1"), case_id, "ship-return", SHIP)
    assert shipped["status"] == "return_shipped"
    refunds = api.as_("admin", "admin-1").get("/v1/refunds", params={"after_sale_id": case_id}).json()["items"]
    assert [r["amount"] for r in refunds] == [10000]
    return case_id


def test_after_a_speedy_refund_the_buyer_cannot_withdraw_the_return(api: Api, runtime: Runtime) -> None:
    """Withdrawing is for before the money moved: a buyer refunded as the parcel left could
        otherwise close the case and leave the merchant nothing to confirm or dispute. Never again for
    this case, so a 403 and not listed in its actions."""
    case_id = _speedy_refunded(api)
    buyer = api.as_("buyer", "b-1")
    assert "withdraw" not in buyer.get(f"/v1/after-sales/{case_id}").json()["actions"]
    before = db_state(runtime)
    assert_problem(buyer.post(f"/v1/after-sales/{case_id}/withdraw", json={}), 403)
    assert db_state(runtime) == before


def test_after_a_speedy_refund_the_buyer_cannot_withdraw_the_merchant_s_dispute_away(
    api: Api, runtime: Runtime
) -> None:
    """The merchant disputes an empty parcel; the buyer, already refunded, withdrawing would close
    the dispute unruled and keep the money on the merchant's account."""
    case_id = _speedy_refunded(api)
    merchant, buyer = api.as_("merchant", merchant_id="m-1"), api.as_("buyer", "b-1")
    dispute_id = _post(merchant, case_id, "dispute-return", {"reason": "empty_package", "statement": "空包"})[
        "dispute_id"
    ]
    before = db_state(runtime)
    assert_problem(buyer.post(f"/v1/after-sales/{case_id}/withdraw", json={}), 403)
    assert db_state(runtime) == before
    dispute = api.as_("agent", "agent-1").get(f"/v1/disputes/{dispute_id}").json()
    assert dispute["status"] not in ("final", "closed"), dispute


def test_staff_of_two_shops_with_the_same_login_do_not_share_uploads(api: Api, runtime: Runtime) -> None:
    """Logins are unique within a shop: `ops` at m-1 and `ops` at m-2 are two people."""
    ours, theirs = api.as_("merchant", "ops", merchant_id="m-1"), api.as_("merchant", "ops", merchant_id="m-2")
    up = ours.post("/v1/evidence", files={"file": ("note.txt", b"m-1 internal")}, data={"kind": "other"})
    assert up.status_code == 201, up.text
    evidence_id = up.json()["id"]
    assert ours.get(f"/v1/evidence/{evidence_id}/content").content == b"m-1 internal"
    for path in (f"/v1/evidence/{evidence_id}", f"/v1/evidence/{evidence_id}/content"):
        assert_problem(theirs.get(path), 404, "not_found")
    # Nor may the other shop cite it on one of its own cases, where its buyer could read it.
    feed_order(api, "o-2001", buyer="b-2", merchant="m-2")
    case_id = file_case(api, "o-2001", buyer="b-2")["id"]
    before = db_state(runtime)
    r = theirs.post(f"/v1/after-sales/{case_id}/messages", json={"body": "看附件", "evidence": [evidence_id]})
    assert_problem(r, 422)
    assert db_state(runtime) == before
