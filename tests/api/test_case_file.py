"""Case file export: the whole case as verifiable JSON and as a readable PDF."""

from __future__ import annotations

import hashlib
import io
import json

from pypdf import PdfReader

from aftersales.services.case_file import digest
from api_builders import assert_problem, feed_order, file_case
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
    assert "Items" in text and "× 2" in text  # the units the request is about


def test_only_the_parties_and_agents_may_export(api):
    case_id, _ = _disputed_case(api)
    for client in (api.as_("buyer", "b-2"), api.as_("merchant", merchant_id="m-2")):
        assert_problem(client.get(f"/v1/after-sales/{case_id}/case-file"), 404, "not_found")
        assert_problem(client.get(f"/v1/after-sales/{case_id}/case-file.pdf"), 404, "not_found")
    assert_problem(api.as_("integration", "marketplace").get(f"/v1/after-sales/{case_id}/case-file"), 403, "forbidden")
    assert_problem(api.anonymous.get(f"/v1/after-sales/{case_id}/case-file"), 401, "unauthenticated")
    assert api.as_("admin").get(f"/v1/after-sales/{case_id}/case-file.pdf").status_code == 200
