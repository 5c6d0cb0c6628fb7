"""The case file's words for what a timeline entry changed and said: labels, money and goods
instead of codes, fen and skus; people by name or by role."""

from zoneinfo import ZoneInfo

from aftersales.domain import labels
from aftersales.export.details import FIELDS, SKIPPED, details
from aftersales.export.reader import Reader
from aftersales.services.kinds import KINDS

PEOPLE = {"buyer": {"id": "b-1", "display_name": "张伟"}, "merchant": {"id": "m-1", "name": "西湖茶庄"}}
ZH = Reader("zh", ZoneInfo("Asia/Shanghai"), "CNY", PEOPLE, {"tea-250g": "西湖龙井 250g"})
EN = Reader("en", ZoneInfo("UTC"), "USD", PEOPLE, {"tea-250g": "Longjing 250g"})


def _event(kind, action, before, after, data):
    return {"subject_kind": kind, "action": action, "before": before, "after": after, "data": data}


def test_a_ruling_reads_as_its_outcome_liable_party_and_money():
    ruling = _event(
        "dispute",
        "rule",
        {"status": "under_review", "version": 3},
        {"status": "ruled", "version": 4, "deadline_due_at": "2026-12-01T00:00:00+00:00"},
        {"outcome": "partial_refund", "liable_party": "merchant", "amount": 5050, "rationale": "受潮"},
    )
    assert details(ruling, ZH) == "审理中 → 已裁决; 裁决结果: 部分退款; 责任方: 商家; 退款金额: ¥50.50; 判责理由: 受潮"
    en = details(ruling, EN)
    assert "Under review → Ruled" in en and "Partial refund" in en and "The merchant" in en
    assert "USD 50.50" in en and "version" not in en and "deadline" not in en


def test_goods_flags_and_changed_fields_read_in_words():
    opened = _event(
        "order", "after_sale_opened", {"status": "delivered"}, {"status": "delivered"}, {"items": {"tea-250g": 2}}
    )
    assert details(opened, ZH) == "商品: 西湖龙井 250g × 2"
    approved = _event(
        "after_sale",
        "approve",
        {"status": "pending_merchant", "amount": 19800, "dispute_id": None},
        {"status": "awaiting_return", "amount": 9900, "dispute_id": "dp-1"},
        {"keep_item": True},
    )
    assert details(approved, EN) == (
        "Awaiting the merchant → Awaiting the return; Amount: USD 198.00 → USD 99.00; Dispute: dp-1; "
        f"{_keep_item_label()}: yes"
    )


def _keep_item_label():
    spec = labels.MACHINES["after_sale"].specs["approve"]
    return next(i.label.en for i in spec.fields if i.name == "keep_item")


def test_a_creation_leaves_out_its_zero_amounts():
    created = _event(
        "order", "create", None, {"status": "awaiting_payment", "paid_amount": 0}, {"payment_method": "cod"}
    )
    assert details(created, ZH) == "待付款; 支付方式: 货到付款"


def test_people_go_by_name_the_shop_s_staff_for_their_shop_others_by_role():
    assert ZH.name("buyer", "b-1") == "张伟" and ZH.name("merchant", "m-1") == "西湖茶庄"
    assert ZH.name("merchant", "m-1-staff") == "西湖茶庄 客服" and EN.name("merchant", "m-1-staff") == "西湖茶庄 staff"
    assert ZH.name("agent", "agent-7") == "平台客服 (agent-7)" and EN.name("system", "system") == "System"
    assert ZH.name("buyer", "b-2") == "买家 (b-2)"  # another buyer than the file's: no name to give


def test_every_field_a_case_file_s_timeline_snapshots_has_its_words_or_is_bookkeeping():
    for kind in ("order", "after_sale", "dispute"):
        for name in KINDS[kind].kind.snapshot_fields:
            assert name in FIELDS or name in SKIPPED or name.startswith("deadline"), (kind, name)


def test_instants_and_agents_in_the_details_read_as_local_times_and_people():
    assigned = _event(
        "dispute", "assign", {"assignee": None}, {"assignee": "agent-3", "ruled_at": "2026-11-24T02:00:00+00:00"}, {}
    )
    assert details(assigned, ZH) == "承办客服: 平台客服 (agent-3); 裁决时间: 2026-11-24 10:00"
