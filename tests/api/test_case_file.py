"""Case file export: the whole case as verifiable JSON and as a readable PDF."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import threading

import pytest
from pypdf import PdfReader

from aftersales.domain import labels
from aftersales.export import fonts, pdf
from aftersales.export.reader import Reader
from aftersales.services.case_file import digest
from api_builders import assert_problem, feed_order, file_case
from conftest import IN_CI
from media_samples import PNG


def _disputed_case(api):
    feed_order(api)
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    ev = buyer.post(
        "/v1/evidence", files={"file": ("photo.png", PNG, "image/png")}, data={"kind": "product_media"}
    ).json()
    case = file_case(api, evidence=[ev["id"]])
    assert merchant.post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}).status_code == 200
    r = buyer.post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "商家拒绝，请平台介入"})
    assert r.status_code == 200, r.text
    return case["id"], ev


def test_the_json_case_file_holds_order_timeline_statements_and_evidence_hashes(api):
    case_id, ev = _disputed_case(api)
    r = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case_id}/case-file")
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["order"]["id"] == "o-1001" and f["case"]["id"] == case_id
    actions = [(e["subject_kind"], e["action"]) for e in f["timeline"]]
    assert ("after_sale", "file") in actions and ("after_sale", "reject") in actions
    assert ("after_sale", "escalate") in actions and ("dispute", "open") in actions
    assert f["disputes"][0]["statements"][0]["statement"] == "商家拒绝，请平台介入"
    assert [e["sha256"] for e in f["evidence"]] == [hashlib.sha256(PNG).hexdigest()] == [ev["sha256"]]


def test_the_digest_verifies_and_any_tampering_breaks_it(api):
    case_id, _ = _disputed_case(api)
    f = api.as_("agent").get(f"/v1/after-sales/{case_id}/case-file").json()
    payload = {k: v for k, v in f.items() if k != "integrity"}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(canonical).hexdigest() == f["integrity"]["digest"] == digest(f)
    f["case"]["amount"] += 1
    assert digest(f) != f["integrity"]["digest"]


def test_the_pdf_is_a_readable_document_with_the_ids_and_digest(api):
    case_id, _ = _disputed_case(api)
    merchant = api.as_("merchant", merchant_id="m-1")
    r = merchant.get(f"/v1/after-sales/{case_id}/case-file.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(r.content))
    text = "".join(page.extract_text() for page in reader.pages)
    digest_value = merchant.get(f"/v1/after-sales/{case_id}/case-file").json()["integrity"]["digest"]
    assert len(reader.pages) >= 1
    assert case_id in text and "o-1001" in text and digest_value in text.replace("\n", "")
    assert "商品" in text and "× 2" in text  # the units the request is about


def test_only_the_parties_and_agents_may_export(api):
    case_id, _ = _disputed_case(api)
    for client in (api.as_("buyer", "b-2"), api.as_("merchant", merchant_id="m-2")):
        assert_problem(client.get(f"/v1/after-sales/{case_id}/case-file"), 404, "not_found")
        assert_problem(client.get(f"/v1/after-sales/{case_id}/case-file.pdf"), 404, "not_found")
    assert_problem(api.as_("integration", "marketplace").get(f"/v1/after-sales/{case_id}/case-file"), 403, "forbidden")
    assert_problem(api.anonymous.get(f"/v1/after-sales/{case_id}/case-file"), 401, "unauthenticated")
    assert api.as_("admin").get(f"/v1/after-sales/{case_id}/case-file.pdf").status_code == 200


def _with_names(api, buyer="张伟", shop="西湖茶庄"):
    market = api.as_("integration", "marketplace")
    assert market.put("/v1/merchants/m-1", json={"name": shop, "timezone": "Asia/Shanghai"}).status_code == 200
    assert market.put("/v1/buyers/b-1", json={"display_name": buyer}).status_code == 200
    return _disputed_case(api)


def _pdf(client, case_id, **params):
    r = client.get(f"/v1/after-sales/{case_id}/case-file.pdf", params=params)
    assert r.status_code == 200, r.text
    return PdfReader(io.BytesIO(r.content)), " ".join(_text(r.content).split())  # lines wrap in cells


def _text(pdf: bytes) -> str:
    """The PDF's text as poppler reads it: pypdf misreads some codes of reportlab's subset fonts
    (their ToUnicode maps them right; pypdf gives NUL for a few letters)."""
    if shutil.which("pdftotext") is None:
        if IN_CI:
            pytest.fail("CI=true but pdftotext is missing: install Debian's poppler-utils")
        pytest.skip("pdftotext (Debian's poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def _fonts(reader):
    """Every font the pages name: (base name, subtype, its descriptor's embedded file keys)."""
    found = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for d in descendants:
                descriptor = d.get("/FontDescriptor")
                keys = set(descriptor.get_object()) if descriptor else set()
                embedded = keys & {"/FontFile", "/FontFile2", "/FontFile3"}
                found.append((str(d["/BaseFont"]), str(d["/Subtype"]), embedded))
    return found


def test_the_pdf_embeds_a_subset_of_its_chinese_font_and_names_no_other(api):
    case_id, _ = _with_names(api)
    reader, _ = _pdf(api.as_("buyer", "b-1"), case_id)
    used = _fonts(reader)
    # Every font but the standard Helvetica reportlab's pages list unused is our embedded subset
    # (tagged ABCDEF+ by reportlab); no CID font is named without its file.
    ours = [(name, embedded) for name, subtype, embedded in used if name != "/Helvetica"]
    assert ours and all("+NotoSansSC" in name and embedded == {"/FontFile2"} for name, embedded in ours), used
    assert not [f for f in used if f[1] in {"/CIDFontType0", "/CIDFontType2"} and not f[2]], used
    assert "STSong" not in str(used)


def test_the_pdf_speaks_the_readers_language_with_names_times_and_money(api, clock):
    case_id, _ = _with_names(api)
    buyer = api.as_("buyer", "b-1")
    f = buyer.get(f"/v1/after-sales/{case_id}/case-file").json()
    _, zh = _pdf(buyer, case_id)
    case = f["case"]
    assert "售后案件档案" in zh and "时间线" in zh
    assert labels.CASE_TYPE[case["type"]].zh in zh and labels.CASE_REASON[case["reason"]].zh in zh
    assert labels.CASE_STATUS["in_intervention"].zh in zh and "商品无质量问题" in zh  # status and reason in words
    assert "张伟" in zh and "西湖茶庄" in zh and "b-1" not in zh  # names, not ids
    assert "西湖茶庄 客服" in zh and "m-1-staff" not in zh  # the shop's staff, for the shop
    assert f"¥{case['amount'] / 100:,.2f}" in zh and f"({case['amount']})" not in zh
    assert "申请平台介入" in zh  # the escalate action's label
    assert "Asia/Shanghai" in zh and "2026-11-24 10:00" in zh  # the shop's zone: 02:00 UTC is 10:00 there
    assert labels.EVIDENCE_KIND["product_media"].zh in zh
    _, en = _pdf(buyer, case_id, lang="en", tz="Europe/Berlin")
    assert "Case file" in en and "Timeline" in en and "C ase" not in en
    assert labels.CASE_TYPE[case["type"]].en in en and labels.CASE_STATUS["in_intervention"].en in en
    assert "Call in the platform" in en and "The goods have no quality issue" in en
    assert "售后案件档案" not in en and "张伟" in en  # names stay as they are
    assert "Europe/Berlin" in en and "2026-11-24 03:00" in en


def test_the_timeline_details_read_as_labels_money_and_goods_not_raw_inputs(api):
    case_id, _ = _with_names(api)
    _, zh = _pdf(api.as_("buyer", "b-1"), case_id)
    _, en = _pdf(api.as_("buyer", "b-1"), case_id, lang="en")
    for raw in ("quality_problem", "no_quality_issue", "reason=", "tea-250g", '"', "return_refund", "intervention"):
        assert raw not in zh and raw not in en, raw
    assert "None" not in zh and "None" not in en and "对接系统 (marketplace)" in zh
    assert "拒绝原因: 商品无质量问题" in zh and "西湖龙井 250g × 2" in zh  # the reject's input, the file's goods
    assert "待商家处理 → 商家已拒绝" in zh
    assert "Reason: The goods have no quality issue" in en


def test_the_pdf_refuses_an_unknown_language_or_time_zone(api):
    case_id, _ = _with_names(api)
    buyer = api.as_("buyer", "b-1")
    assert buyer.get(f"/v1/after-sales/{case_id}/case-file.pdf", params={"lang": "fr"}).status_code == 422
    assert_problem(
        buyer.get(f"/v1/after-sales/{case_id}/case-file.pdf", params={"tz": "Mars/Olympus"}), 422, "unknown_timezone"
    )


@pytest.fixture
def font_search(monkeypatch, tmp_path):
    """The font search pointed at `tmp_path` only (no packaged font), searched afresh."""
    monkeypatch.setattr(fonts, "PACKAGED", ())
    monkeypatch.setattr(fonts, "SYSTEM_DIRS", (tmp_path,))
    fonts.forget()
    yield tmp_path
    fonts.forget()


def test_without_any_chinese_font_the_pdf_is_a_clear_503_not_worth_retrying(api, font_search):
    case_id, _ = _disputed_case(api)
    r = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case_id}/case-file.pdf")
    body = assert_problem(r, 503, "pdf_font_missing")
    assert "Retry-After" not in r.headers  # an operator must install the font first
    assert "fonts-noto-cjk" in body["detail"] and "pylopdf-fonts-zh-cn" in body["detail"]
    assert api.as_("buyer", "b-1").get(f"/v1/after-sales/{case_id}/case-file").status_code == 200  # JSON needs none


def test_a_noto_font_in_the_system_directories_is_the_fallback(api, font_search):
    packaged = fonts.Path(str(fonts.resources.files("pylopdf_fonts_zh_cn").joinpath("NotoSansSC-Regular.otf")))
    (font_search / "opentype" / "noto").mkdir(parents=True)
    (font_search / "opentype" / "noto" / "NotoSansSC-Regular.otf").write_bytes(packaged.read_bytes())
    case_id, _ = _disputed_case(api)
    reader, text = _pdf(api.as_("buyer", "b-1"), case_id)
    assert fonts.source().path.parent == font_search / "opentype" / "noto"
    assert "售后案件档案" in text and any(embedded == {"/FontFile2"} for _, _, embedded in _fonts(reader))


def _files(api):
    """Case files of the same case whose texts differ in Latin and in Chinese letters: a rare
    name outside GB2312 (堃, 喆), other shop names, both languages."""
    case_id, _ = _with_names(api, buyer="王堃喆", shop="Bright Moon 明月 Co.")
    f = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case_id}/case-file").json()
    other = json.loads(json.dumps(f))
    other["parties"]["buyer"]["display_name"], other["parties"]["merchant"]["name"] = "张伟", "西湖茶庄"
    return [(f, "zh", "Asia/Shanghai"), (f, "en", "Europe/Berlin"), (other, "zh", None), (other, "en", "UTC")]


def _expected(file, lang, tz):
    reader = Reader.of_file(file, lang, pdf.zone(tz, file))
    return set("".join(pdf._texts(pdf._blocks(file, reader)))) - set(" \n")


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_every_character_of_each_document_comes_out_whatever_was_rendered_before(api, order):
    docs = _files(api)
    for file, lang, tz in docs if order == "forward" else docs[::-1]:
        text = _text(pdf.render(file, lang, tz))
        assert "\x00" not in text and "\ufffd" not in text, (lang, tz)
        missing = _expected(file, lang, tz) - set(text)
        assert not missing, (lang, tz, sorted(missing))
        assert file["parties"]["buyer"]["display_name"] in text


def test_documents_rendered_at_once_each_get_their_own_characters(api):
    docs = _files(api)
    out: dict[int, bytes] = {}
    threads = [threading.Thread(target=lambda i=i, d=d: out.update({i: pdf.render(*d)})) for i, d in enumerate(docs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, doc in enumerate(docs):
        assert not _expected(*doc) - set(_text(out[i])), doc[1:]


def test_a_ruling_its_appeal_and_the_refund_read_as_labels(api):
    _with_names(api)
    feed_order(api, "o-1002")
    case = file_case(api, "o-1002")
    merchant, buyer = api.as_("merchant", merchant_id="m-1"), api.as_("buyer", "b-1")
    assert merchant.post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}).status_code == 200
    dispute_id = buyer.post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "请介入"}).json()["dispute_id"]
    deny = {"outcome": "deny", "liable_party": "buyer", "rationale": "证据不足"}
    assert api.as_("agent", "agent-1").post(f"/v1/disputes/{dispute_id}/rule", json=deny).status_code == 200
    appeal = buyer.post(f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "补充了开箱视频"})
    assert appeal.status_code == 201, appeal.text
    decided = api.as_("agent", "agent-2").post(
        f"/v1/appeals/{appeal.json()['id']}/decide", json={"decision": "overturn", "rationale": "视频证明受潮"}
    )
    assert decided.status_code == 200, decided.text
    _, zh = _pdf(buyer, case["id"])
    _, en = _pdf(buyer, case["id"], lang="en")
    assert "驳回" in zh and "责任方: 买家" in zh and "平台客服 (agent-1)" in zh
    assert "改判 视频证明受潮" in zh and "原路退回" in zh and "Ruling overturned" in en
    assert "To the original payment" in en and "original_payment" not in en and "扣分 4 分" in zh
    for raw in ("overturn", "refunded", "appeal id", "violation id", "_id"):
        assert raw not in zh, raw
