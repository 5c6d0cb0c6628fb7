"""A small marketplace to click through: merchants, buyers, orders in every state and cases at
every step, written through the same use cases as the API (so the timeline is real)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from .api.auth import mint
from .domain.clock import ManualClock
from .runtime import Runtime
from .services import (
    cases,
    complaints,
    disputes,
    evidence,
    messages,
    orders,
    parties,
    prices,
    reply_templates,
    reviews,
    rulings,
)
from .services.context import Actor, Env

MERCHANTS = {"m-1": "西湖茶庄", "m-2": "潮流服饰旗舰店", "m-3": "数码优选"}
BUYERS = {"b-1": "张伟", "b-2": "李娜", "b-3": "王芳", "b-4": "刘洋"}
AGENTS = {"agent-1": "客服小周", "agent-2": "仲裁员老陈"}
CATALOGUE = {
    "m-1": [("tea-250g", "西湖龙井 明前特级 250g", 9900), ("tea-pu", "云南普洱 熟茶饼 357g", 16800)],
    "m-2": [("dress-m", "法式碎花连衣裙 M码", 25900), ("coat-l", "羊毛双面呢大衣 L码", 89900)],
    "m-3": [("earbuds", "降噪蓝牙耳机 Pro", 59900), ("charger", "65W 氮化镓充电器", 12900)],
}
# Each shop's return-address book 退货地址库; the first entry is its default.
BOOKS = {
    "m-1": [
        {
            "id": "hz-aftersales",
            "name": "陈师傅",
            "phone": "0571-87001234",
            "address": "浙江省杭州市西湖区龙井路 18 号 西湖茶庄售后部",
        },
    ],
    "m-2": [
        {
            "id": "gz-warehouse",
            "name": "林小姐",
            "phone": "020-36001188",
            "address": "广东省广州市白云区服装城 3 栋 201",
        },
        {
            "id": "sh-store",
            "name": "周店长",
            "phone": "021-52006677",
            "address": "上海市静安区南京西路 1266 号 潮流服饰门店",
        },
    ],
    "m-3": [
        {
            "id": "sz-returns",
            "name": "黄工",
            "phone": "0755-26009900",
            "address": "广东省深圳市南山区科技园 9 号 数码优选退货仓",
        },
    ],
}
INTEGRATION = Actor("integration", "marketplace")
# Completed orders their buyers reviewed 评价: (buyer, shop, item, rating, text, the shop's reply).
REVIEWS = [
    ("b-3", "m-1", 0, 5, "茶香浓郁，回甘明显，包装也很用心，会回购。", "感谢您的认可，欢迎常来品茶！"),
    ("b-2", "m-2", 0, 3, "裙子版型不错，但颜色比图片暗一些。", None),
    ("b-4", "m-3", 1, 4, "充电速度快，体积小，出差很方便。", None),
]


def _merchant(mid: str) -> Actor:
    return Actor("merchant", f"{mid}-staff", merchant_id=mid)


class _Builder:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        start = runtime.env.clock.now() - timedelta(hours=30)
        self.clock = ManualClock(start)
        self.env: Env = dataclasses.replace(runtime.env, clock=self.clock)
        self.n = 0

    def tick(self, minutes: int = 17) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    def order(
        self,
        buyer: str,
        merchant: str,
        method: str,
        upto: str,
        pick: int = 0,
        qty: int = 1,
        *,
        more: dict[int, int] | None = None,
        discount: int = 0,
    ) -> str:
        """An order of `qty` of the merchant's item `pick` (and `more`: pick -> quantity)."""
        self.n += 1
        picks = {pick: qty, **(more or {})}
        items = [
            {"sku": sku, "title": title, "quantity": n, "unit_price": price}
            for (sku, title, price), n in ((CATALOGUE[merchant][p], n) for p, n in picks.items())
        ]
        oid = f"o-{20261100 + self.n}"
        data = {
            "id": oid,
            "buyer_id": buyer,
            "merchant_id": merchant,
            "payment_method": method,
            "currency": "CNY",
            "shipping_fee": 800 if method == "online" else 1200,
            "items": items,
            "discount": discount,
            "policy": None,
        }
        path = ["pay" if method == "online" else "confirm", "ship", "deliver", "complete"]
        stops = {
            "awaiting_payment": 0,
            "awaiting_confirmation": 0,
            "stocking": 1,
            "shipped": 2,
            "delivered": 3,
            "completed": 4,
        }
        with self.runtime.uow() as uow:
            orders.create(uow, self.env, INTEGRATION, data)
            uow.commit()
        for action in path[: stops.get(upto, 0)]:
            who = _merchant(merchant) if action in ("confirm", "ship") else INTEGRATION
            params = {"carrier": "顺丰速运", "tracking_number": f"SF{1000000 + self.n}"} if action == "ship" else {}
            self.tick(5)
            self._do(orders.act, who, oid, action, params)
        if upto == "cancelled":
            self._do(
                orders.act,
                _merchant(merchant) if method == "cod" else Actor("buyer", buyer),
                oid,
                "cancel",
                {"reason": "买家协商取消"},
            )
        return oid

    def case(
        self,
        oid: str,
        buyer: str,
        merchant: str,
        type_: str,
        reason: str,
        description: str,
        steps: list[tuple[str, str, dict[str, Any]]],
        amount: int | None = None,
        photo: bool = False,
        items: list[dict[str, Any]] | None = None,
        price_drop_id: str | None = None,
    ) -> str:
        self.tick()
        buyer_actor = Actor("buyer", buyer)
        with self.runtime.uow() as uow:
            ev = [self._photo(uow, buyer_actor)] if photo else []
            case = cases.file(
                uow,
                self.env,
                buyer_actor,
                {
                    "order_id": oid,
                    "type": type_,
                    "reason": reason,
                    "amount": amount,
                    "description": description,
                    "evidence": ev,
                    "items": items,
                    "price_drop_id": price_drop_id,
                },
            )
            uow.commit()
        for who, action, params in steps:
            self.tick()
            actor = buyer_actor if who == "buyer" else _merchant(merchant)
            self._do(cases.act, actor, case.id, action, params)
        return case.id

    def _photo(self, uow: Any, actor: Actor) -> str:
        import io

        text = "聊天记录：买家 14:02 收到的茶叶受潮结块；商家 14:10 请提供照片。\n".encode()
        return evidence.upload(uow, self.env, actor, kind="chat_record", stream=io.BytesIO(text), filename="chat.txt")[
            "id"
        ]

    def _do(self, fn: Any, *args: Any) -> Any:
        """Run one use case `fn(uow, env, *args)` in a transaction of its own."""
        with self.runtime.uow() as uow:
            out = fn(uow, self.env, *args)
            uow.commit()
        return out


def load(runtime: Runtime) -> bool:
    """Populate an empty database; False (and nothing written) if it already has orders."""
    with runtime.uow() as uow:
        if uow.orders.find(limit=1):
            return False
    b = _Builder(runtime)
    # The parties' profiles come first: every page after shows their names.
    for mid, name in MERCHANTS.items():
        profile = {"name": name, "timezone": "Asia/Shanghai", "return_addresses": BOOKS[mid]}
        b._do(parties.upsert_merchant, INTEGRATION, mid, profile)
    for bid, name in BUYERS.items():
        b._do(parties.upsert_buyer, INTEGRATION, bid, {"display_name": name})
    ship_back = {"carrier": "中通快递", "tracking_number": "ZT7788990011"}
    # Orders in every status.
    for status, method in [
        ("stocking", "online"),
        ("awaiting_confirmation", "cod"),
        ("shipped", "online"),
        ("delivered", "cod"),
        ("completed", "online"),
        ("cancelled", "online"),
        ("cancelled", "cod"),
    ]:
        b.order("b-4", "m-3", method, status, pick=1)
    # Cases at every step.
    o = b.order("b-1", "m-1", "online", "delivered")
    talked = b.case(o, "b-1", "m-1", "return_refund", "quality_problem", "茶叶受潮结块，无法饮用", [], photo=True)
    # Its negotiation 协商记录, the shop answering from one of its quick replies 话术.
    for title, text in [
        ("索要照片", "亲，麻烦提供一下商品问题的照片，我们马上为您核实"),
        ("催发货", "亲，已为您加急处理"),
    ]:
        b._do(reply_templates.create, _merchant("m-1"), "m-1", {"title": title, "body": text})
    b.tick()
    b._do(messages.post, Actor("buyer", "b-1"), talked, {"body": "茶叶打开就是潮的，能退吗？"})
    with runtime.uow() as uow:
        ask = reply_templates.listing(uow, _merchant("m-1"), "m-1")[0]["id"]
    b.tick()
    b._do(messages.post, _merchant("m-1"), talked, {"template_id": ask})
    o = b.order("b-2", "m-2", "online", "delivered")
    b.case(
        o,
        "b-2",
        "m-2",
        "return_refund",
        "not_as_described",
        "颜色与图片严重不符",
        [("merchant", "approve", {"return_address_id": "gz-warehouse"})],
    )
    o = b.order("b-3", "m-2", "online", "completed", pick=1)
    b.case(
        o,
        "b-3",
        "m-2",
        "exchange",
        "wrong_item",
        "尺码发错，想换成 L 码",
        [("merchant", "approve", {"return_address_id": "gz-warehouse"}), ("buyer", "ship_return", ship_back)],
    )
    o = b.order("b-1", "m-3", "cod", "delivered")
    b.case(
        o,
        "b-1",
        "m-3",
        "return_refund",
        "damaged",
        "耳机外壳开裂",
        [
            ("merchant", "approve", {"return_address_id": "sz-returns"}),
            ("buyer", "ship_return", ship_back),
            ("merchant", "confirm_receipt", {}),
        ],
    )
    o = b.order("b-2", "m-1", "online", "delivered", pick=1)
    b.case(
        o,
        "b-2",
        "m-1",
        "refund_only",
        "changed_mind",
        "拍错了，不想要了",
        [("merchant", "reject", {"reason": "not_seven_day_returnable", "note": "茶饼已拆封，不支持无理由退款"})],
    )
    o = b.order("b-3", "m-3", "online", "delivered")
    b.case(
        o,
        "b-3",
        "m-3",
        "refund_only",
        "false_advertising",
        "宣传降噪 40dB，实际几乎没有降噪",
        [
            ("merchant", "reject", {"reason": "no_quality_issue", "note": "产品检测合格"}),
            ("buyer", "escalate", {"statement": "商家拒绝退款，请平台介入，附测评对比"}),
        ],
    )
    o = b.order("b-4", "m-1", "online", "delivered")
    b.case(
        o, "b-4", "m-1", "refund_only", "damaged", "包装破损，茶叶洒了一半", [("merchant", "approve", {})], amount=5000
    )
    o = b.order("b-1", "m-2", "online", "completed")
    b.case(o, "b-1", "m-2", "return_refund", "changed_mind", "不喜欢这个款式", [("buyer", "withdraw", {})])
    # Line items: two teas and a pu'er cake with a ¥30 discount 优惠; one tea refunded already, the
    # cake's request open beside it, one tea still free to ask about.
    o = b.order("b-2", "m-1", "online", "delivered", qty=2, more={1: 1}, discount=3000)
    b.case(
        o,
        "b-2",
        "m-1",
        "refund_only",
        "damaged",
        "两罐中有一罐破损漏茶",
        [("merchant", "approve", {})],
        items=[{"sku": "tea-250g", "quantity": 1}],
    )
    b.case(
        o,
        "b-2",
        "m-1",
        "return_refund",
        "quality_problem",
        "普洱茶饼有霉点",
        [],
        items=[{"sku": "tea-pu", "quantity": 1}],
    )
    # 协商: a partial refund offered, the buyer yet to answer (the merchant's clock paused).
    o = b.order("b-3", "m-1", "online", "delivered", pick=1)
    b.case(
        o,
        "b-3",
        "m-1",
        "return_refund",
        "quality_problem",
        "普洱茶饼表面有白霜，担心发霉",
        [("merchant", "offer", {"amount": 6000, "note": "白霜为正常陈化现象；补偿 60 元，茶饼无需退回"})],
    )
    # 延长时效: the merchant extended its deadline once, waiting for the maker's report.
    o = b.order("b-4", "m-3", "online", "delivered", pick=1)
    b.case(
        o,
        "b-4",
        "m-3",
        "return_refund",
        "quality_problem",
        "充电器充电时严重发烫",
        [("merchant", "extend", {"hours": 24, "reason": "已送厂家检测，等待检测报告"})],
    )
    # 补寄: two earbuds ordered, one missing; the shop sent it and the buyer has yet to confirm.
    o = b.order("b-1", "m-3", "online", "delivered", qty=2)
    b.case(
        o,
        "b-1",
        "m-3",
        "reship",
        "missing_items",
        "只收到一副耳机，少发了一副",
        [("merchant", "reship", {"carrier": "顺丰速运", "tracking_number": "SF7000001"})],
        items=[{"sku": "earbuds", "quantity": 1}],
    )
    # 价保: the charger sells for ¥30 less since it was paid for; the shop has yet to answer.
    o = b.order("b-2", "m-3", "online", "shipped", pick=1)
    b.tick()
    drop = b._do(prices.report, INTEGRATION, {"merchant_id": "m-3", "sku": "charger", "price": 9900})
    b.case(o, "b-2", "m-3", "price_protection", "price_drop", "付款两天后降价 30 元", [], price_drop_id=drop["id"])
    # 极速退款: a return refunded as it shipped back, the goods still on their way.
    o = b.order("b-3", "m-1", "online", "delivered")
    b.case(
        o,
        "b-3",
        "m-1",
        "return_refund",
        "not_as_described",
        "茶叶等级与描述不符",
        [("merchant", "approve", {"return_address_id": "hz-aftersales"}), ("buyer", "ship_return", ship_back)],
    )
    # The platform's half: an agent roster, a ruled dispute under appeal, a complaint.
    for agent_id, name in AGENTS.items():
        b._do(
            disputes.upsert_agent, Actor("admin", "admin-1"), agent_id, {"name": name, "capacity": 20, "active": True}
        )
    o = b.order("b-4", "m-2", "online", "delivered", pick=1)
    ruled = b.case(
        o,
        "b-4",
        "m-2",
        "return_refund",
        "quality_problem",
        "大衣掉毛严重",
        [
            ("merchant", "reject", {"reason": "no_quality_issue", "note": "正常现象"}),
            ("buyer", "escalate", {"statement": "掉毛严重，附视频"}),
        ],
    )
    with runtime.uow() as uow:
        ruled_case = uow.cases.get(ruled)
        assert ruled_case is not None
        dispute_id = ruled_case.dispute_id
    b.tick()
    b._do(
        rulings.rule,
        Actor("agent", "agent-1"),
        dispute_id,
        {
            "outcome": "partial_refund",
            "amount": 30000,
            "liable_party": "merchant",
            "rationale": "商品存在质量瑕疵，但买家已穿着，部分退款",
        },
    )
    b.tick()
    b._do(
        rulings.appeal,
        _merchant("m-2"),
        dispute_id,
        {"grounds": "羊毛大衣轻微掉毛属正常现象，附质检报告", "evidence": []},
    )
    b.tick()
    b._do(
        complaints.file,
        Actor("buyer", "b-2"),
        {"category": "induced_review", "merchant_id": "m-3", "description": "客服要求五星好评返现 5 元"},
    )
    for buyer, shop, pick, rating, text, reply in REVIEWS:
        o = b.order(buyer, shop, "online", "completed", pick=pick)
        b.tick()
        review = b._do(reviews.post, Actor("buyer", buyer), {"order_id": o, "rating": rating, "text": text})
        if reply:
            b.tick()
            b._do(reviews.act, _merchant(shop), review.id, "reply", {"reply": reply})
    # Orders awaiting payment come last: their 24 h auto-cancel lies in the future.
    b.clock.set(runtime.env.clock.now())
    b.order("b-2", "m-1", "online", "awaiting_payment")
    return True


def print_tokens(runtime: Runtime) -> None:
    secret, now, ttl = runtime.settings.jwt_secret, runtime.env.clock.now(), timedelta(days=30)
    if secret is None:
        print("No demo tokens: AFTERSALES_JWT_SECRET is unset, so tokens come from the marketplace's IdP only.")
        return
    print("Demo tokens (valid 30 days):")
    people: list[tuple[str, str, str | None, str]] = [
        ("integration", "marketplace", None, "marketplace systems"),
        ("admin", "admin-1", None, "admin"),
    ]
    people += [("buyer", bid, None, name) for bid, name in BUYERS.items()]
    people += [("merchant", f"{mid}-staff", mid, name) for mid, name in MERCHANTS.items()]
    people += [("agent", aid, None, name) for aid, name in AGENTS.items()]
    for role, sub, mid, name in people:
        print(
            f"  {role:<11} {sub:<12} {name}\n    {mint(secret, sub=sub, role=role, merchant_id=mid, now=now, ttl=ttl)}"
        )
