"""Reviews 评价 over HTTP: a completed order, reviewed once by its buyer within the review window,
what the review rules refuse, the merchant's one reply, and who sees and does what."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from aftersales.services import audit
from aftersales.store import tables as t
from api_builders import assert_problem, db_state, feed_order, race
from media_samples import PNG

WINDOW = timedelta(days=15)  # douyin@1's review_window


def _review(api, order_id="o-1001", buyer="b-1", **over):
    body = {"order_id": order_id, "rating": 5, "text": "茶叶很新鲜，包装完好", **over}
    return api.as_("buyer", buyer).post("/v1/reviews", json=body)


def _posted(api, order_id="o-1001", buyer="b-1", **over):
    r = _review(api, order_id, buyer, **over)
    assert r.status_code == 201, r.text
    return r.json()


def _photo(api, buyer="b-1"):
    r = api.as_("buyer", buyer).post(
        "/v1/evidence", files={"file": ("tea.png", io.BytesIO(PNG))}, data={"kind": "product_media"}
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _reviews(runtime):
    with runtime.engine.connect() as conn:
        return list(conn.execute(sa.select(t.reviews)))


def test_a_buyer_reviews_a_completed_order_with_a_photo_and_the_merchant_replies_once(api, runtime):
    feed_order(api, upto="completed")
    photo = _photo(api)
    review = _posted(api, rating=4, text="  味道不错，物流稍慢 ", evidence=[photo])
    assert (review["rating"], review["text"], review["status"], review["evidence"]) == (
        4,
        "味道不错，物流稍慢",
        "posted",
        [photo],
    )
    assert (review["buyer_id"], review["merchant_id"], review["policy"], review["actions"]) == (
        "b-1",
        "m-1",
        "douyin@1",
        [],
    )
    merchant = api.as_("merchant", merchant_id="m-1")
    assert merchant.get(f"/v1/reviews/{review['id']}").json()["actions"] == ["reply"]
    # The shop reads the photo of a review of its order; another shop does not.
    assert merchant.get(f"/v1/evidence/{photo}").status_code == 200
    assert_problem(api.as_("merchant", merchant_id="m-2").get(f"/v1/evidence/{photo}"), 404, "not_found")

    r = merchant.post(f"/v1/reviews/{review['id']}/reply", json={"reply": "感谢支持，已催促物流"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reply"], r.json()["replied_by"], r.json()["actions"]) == (
        "replied",
        "感谢支持，已催促物流",
        "m-1-staff",
        [],
    )
    assert r.headers["etag"] == f'"{r.json()["version"]}"' == '"2"'
    again = merchant.post(f"/v1/reviews/{review['id']}/reply", json={"reply": "再回复一次"})
    assert_problem(again, 409, "reply_used")
    assert merchant.get(f"/v1/reviews/{review['id']}").json()["reply"] == "感谢支持，已催促物流"

    events = api.as_("agent").get(f"/v1/reviews/{review['id']}/events").json()["items"]
    assert [(e["action"], e["actor"]["role"]) for e in events] == [("post", "buyer"), ("reply", "merchant")]
    assert events[0]["data"] == {"order_id": "o-1001", "rating": 4, "text": "味道不错，物流稍慢", "evidence": [photo]}
    with runtime.uow() as uow:
        assert audit.verify(uow, "review", review["id"]) == []


def test_a_review_is_taken_at_the_end_of_the_window_and_refused_a_second_after(api, runtime, clock):
    feed_order(api, "o-1", upto="completed")
    feed_order(api, "o-2", upto="completed")
    clock.advance(WINDOW)
    assert _review(api, "o-1").status_code == 201
    clock.advance(timedelta(seconds=1))
    before = db_state(runtime)
    late = assert_problem(_review(api, "o-2"), 409, "review_period_over")
    assert late["due_at"].startswith("2026-12-")
    assert db_state(runtime) == before


@pytest.mark.parametrize("upto", ["stocking", "delivered"])
def test_an_order_not_completed_is_not_reviewed(api, runtime, upto):
    feed_order(api, upto=upto)
    before = db_state(runtime)
    assert_problem(_review(api), 409, "order_not_completed")
    assert db_state(runtime) == before


BROKEN = [
    ("加我 138 0013 8000 便宜卖你", "contact_phone"),
    ("客服电话０５７１-８８８８８８８８", "contact_phone"),
    ("有问题找我微信：tea_lover88", "contact_wechat"),
    ("想要同款的+vx私我", "contact_wechat"),
    ("QQ号 12345678 拉你进群", "contact_qq"),
    ("更多好茶看 https://tea.example 这里", "contact_url"),
    ("店外买更便宜 teashop.cn", "contact_url"),
    ("专业代购，价格美丽", "advertising"),
    ("好评返现五元，值了", "advertising"),
    ("傻逼商家，发霉的茶", "abuse"),
    ("you IDIOT seller, the tea was stale", "abuse"),
]


@pytest.mark.parametrize(("text", "rule"), BROKEN)
def test_a_review_breaking_a_rule_is_refused_naming_it_and_nothing_is_written(api, runtime, text, rule):
    feed_order(api, upto="completed")
    before = db_state(runtime)
    refused = assert_problem(_review(api, text=text), 422, "review_rejected")
    assert refused["rules"] == [rule]
    assert db_state(runtime) == before


def test_a_review_breaking_several_rules_names_each_of_them(api):
    feed_order(api, upto="completed")
    refused = assert_problem(_review(api, text="垃圾货，加微信 abc12345 退钱，傻逼"), 422, "review_rejected")
    assert refused["rules"] == ["contact_wechat", "abuse"]


CLEAN = [
    "",
    "茶叶很香，第二次购买了，微信支付也方便",
    "2026年11月24日下单，3天到货，价格199元很划算",
    "Good tea, fast delivery, paid with WeChat Pay",
    "质量一般，包装有点简陋，不过客服态度好",
]


@pytest.mark.parametrize("text", CLEAN)
def test_a_clean_review_is_taken(api, text):
    feed_order(api, upto="completed")
    assert _posted(api, text=text)["text"] == text


def test_an_order_is_reviewed_once(api, runtime):
    feed_order(api, upto="completed")
    first = _posted(api)
    before = db_state(runtime)
    again = assert_problem(_review(api, rating=1, text="改成差评"), 409, "review_exists")
    assert again["review_id"] == first["id"]
    assert db_state(runtime) == before


def test_two_racing_first_reviews_of_one_order_give_one_review(api, runtime):
    for n in range(3):
        feed_order(api, f"o-{n}", upto="completed")
        results = race([lambda n=n: _review(api, f"o-{n}", rating=5), lambda n=n: _review(api, f"o-{n}", rating=1)])
        assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert_problem(loser, 409, "review_exists")
    assert len(_reviews(runtime)) == 3


def test_a_merchant_s_reply_follows_the_rules_too(api, runtime):
    feed_order(api, upto="completed")
    review = _posted(api)
    before = db_state(runtime)
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/reviews/{review['id']}/reply", json={"reply": "有问题加微信 teashop2026 联系"}
    )
    assert assert_problem(r, 422, "reply_rejected")["rules"] == ["contact_wechat"]
    assert db_state(runtime) == before


def test_other_buyers_and_shops_see_nothing_of_a_review(api, runtime):
    feed_order(api, upto="completed")
    review = _posted(api)
    rid = review["id"]
    before = db_state(runtime)
    other_buyer, other_shop = api.as_("buyer", "b-2"), api.as_("merchant", merchant_id="m-2")
    assert_problem(other_buyer.get(f"/v1/reviews/{rid}"), 404, "not_found")
    assert_problem(other_buyer.get(f"/v1/reviews/{rid}/events"), 404, "not_found")
    assert_problem(other_shop.get(f"/v1/reviews/{rid}"), 404, "not_found")
    assert_problem(other_shop.post(f"/v1/reviews/{rid}/reply", json={"reply": "谢谢"}), 404, "not_found")
    assert_problem(_review(api, buyer="b-2"), 404, "not_found")  # another buyer's order
    assert other_buyer.get("/v1/reviews").json()["items"] == []
    assert other_shop.get("/v1/reviews", params={"merchant_id": "m-1"}).json()["items"] == []
    assert db_state(runtime) == before
    # The marketplace (which publishes reviews) and the platform read every one.
    for staff in (api.as_("integration", "marketplace"), api.as_("agent"), api.as_("admin")):
        assert [x["id"] for x in staff.get("/v1/reviews", params={"order_id": "o-1001"}).json()["items"]] == [rid]


def test_only_the_buyer_reviews_and_only_the_merchant_replies(api, runtime):
    feed_order(api, upto="completed")
    for role, sub, mid in [("merchant", None, "m-1"), ("agent", None, None), ("integration", "marketplace", None)]:
        r = api.as_(role, sub, mid).post("/v1/reviews", json={"order_id": "o-1001", "rating": 5})
        assert_problem(r, 403, "forbidden")
    review = _posted(api)
    before = db_state(runtime)
    for role, sub in [("buyer", "b-1"), ("agent", None), ("admin", None), ("integration", "marketplace")]:
        r = api.as_(role, sub).post(f"/v1/reviews/{review['id']}/reply", json={"reply": "谢谢"})
        assert_problem(r, 403, "forbidden")
    assert_problem(api.anonymous.get("/v1/reviews"), 401, "unauthenticated")
    assert db_state(runtime) == before


@pytest.mark.parametrize(
    "body",
    [
        {"order_id": "o-1001"},
        {"order_id": "o-1001", "rating": 0},
        {"order_id": "o-1001", "rating": 6},
        {"order_id": "o-1001", "rating": "5"},
        {"order_id": "o-1001", "rating": 5, "text": "好" * 501},
        {"order_id": "o-1001", "rating": 5, "evidence": [f"ev-{n}" for n in range(10)]},
        {"order_id": "o-1001", "rating": 5, "evidence": ["ev-unknown"]},
        {"order_id": "o-1001", "rating": 5, "stars": 5},
    ],
)
def test_bad_input_is_a_422_and_writes_nothing(api, runtime, body):
    feed_order(api, upto="completed")
    before = db_state(runtime)
    assert_problem(api.as_("buyer", "b-1").post("/v1/reviews", json=body), 422, "validation_error")
    assert db_state(runtime) == before


def test_a_buyer_cites_only_photos_they_may_read(api, runtime):
    feed_order(api, upto="completed")
    someone_elses = _photo(api, buyer="b-2")
    before = db_state(runtime)
    assert_problem(_review(api, evidence=[someone_elses]), 422, "validation_error")
    assert db_state(runtime) == before
