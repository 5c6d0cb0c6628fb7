"""Evidence (docs/api.md "Evidence"): uploads are typed by their content, capped in size, stored by
hash, and readable only by the uploader, the parties of a case that cites them, and agents."""

from __future__ import annotations

import hashlib

import pytest

from api_builders import ADDRESS, assert_problem, case_body, db_state, feed_order
from media_samples import JPEG, PDF, PNG

CHAT = "买家: 茶叶受潮了\n商家: 请提供照片\n".encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
CAP = 64 * 1024  # the test settings' evidence_max_bytes


def _upload(
    client,
    content: bytes,
    *,
    name: str = "photo.png",
    kind: str = "product_media",
    content_type: str = "application/octet-stream",
):
    return client.post("/v1/evidence", files={"file": (name, content, content_type)}, data={"kind": kind})


def test_upload_answers_id_sha256_media_type_size_and_kind(api):
    r = _upload(api.as_("buyer", "b-1"), PNG, name="receipt.png", kind="order_info")
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["id"].startswith("ev")
    assert ev["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert (ev["media_type"], ev["size"], ev["kind"]) == ("image/png", len(PNG), "order_info")


@pytest.mark.parametrize(
    "content,name,claimed,detected",
    [
        (PNG, "x.pdf", "application/pdf", "image/png"),
        (JPEG, "scan.png", "image/png", "image/jpeg"),
        (PDF, "photo.jpg", "image/jpeg", "application/pdf"),
        (CHAT, "chat.exe", "application/x-msdownload", "text/plain"),
    ],
)
def test_media_type_is_detected_from_the_content_not_the_name(api, content, name, claimed, detected):
    r = _upload(api.as_("buyer", "b-1"), content, name=name, content_type=claimed)
    assert r.status_code == 201, r.text
    assert r.json()["media_type"] == detected


def test_a_file_exactly_at_the_cap_is_accepted(api):
    content = PNG + b"\x00" * (CAP - len(PNG))
    r = _upload(api.as_("buyer", "b-1"), content)
    assert r.status_code == 201, r.text
    assert r.json()["size"] == CAP


REFUSED = {
    "windows executable named photo.jpg": (EXE, "photo.jpg", "product_media", 415, "unsupported_media_type"),
    "zip named photo.jpg": (ZIP, "photo.jpg", "product_media", 415, "unsupported_media_type"),
    "elf binary named chat.txt": (ELF, "chat.txt", "chat_record", 415, "unsupported_media_type"),
    "one byte over the cap": (PNG + b"\x00" * (CAP + 1 - len(PNG)), "big.png", "product_media", 413, "file_too_large"),
    "far over the cap": (PNG + b"\x00" * CAP * 4, "huge.png", "product_media", 413, "file_too_large"),
    "empty file": (b"", "empty.png", "product_media", 422, None),
    "unknown kind": (PNG, "x.png", "selfie", 422, "validation_error"),
    "empty kind": (PNG, "x.png", "", 422, None),
}


@pytest.mark.parametrize("what", REFUSED)
def test_refused_upload_is_a_problem_and_stores_nothing(api, runtime, what):
    content, name, kind, status, code = REFUSED[what]
    before = db_state(runtime)
    r = _upload(api.as_("buyer", "b-1"), content, name=name, kind=kind)
    assert_problem(r, status, code)
    assert db_state(runtime) == before  # no evidence row and no file on disk
    assert before["evidence"] == [] and before["files"] == []


def test_upload_without_a_file_or_kind_is_422(api, runtime):
    buyer = api.as_("buyer", "b-1")
    before = db_state(runtime)
    assert_problem(buyer.post("/v1/evidence", data={"kind": "other"}), 422, "validation_error")
    assert_problem(buyer.post("/v1/evidence", files={"file": ("a.png", PNG, "image/png")}), 422, "validation_error")
    assert_problem(buyer.post("/v1/evidence", json={"file": "aGVsbG8=", "kind": "other"}), 422, "validation_error")
    assert db_state(runtime) == before


def test_upload_needs_a_token(api, runtime):
    before = db_state(runtime)
    assert_problem(_upload(api.anonymous, PNG), 401, "unauthenticated")
    assert db_state(runtime) == before


def test_unknown_evidence_id_is_404(api):
    assert_problem(api.as_("agent").get("/v1/evidence/ev_nope"), 404, "not_found")
    assert_problem(api.as_("agent").get("/v1/evidence/ev_nope/content"), 404, "not_found")


def test_same_upload_with_an_idempotency_key_stores_it_once(api, runtime):
    buyer = api.as_("buyer", "b-1")
    headers = {"Idempotency-Key": "upload-1"}
    first = buyer.post(
        "/v1/evidence", files={"file": ("a.png", PNG, "image/png")}, data={"kind": "other"}, headers=headers
    )
    again = buyer.post(
        "/v1/evidence", files={"file": ("a.png", PNG, "image/png")}, data={"kind": "other"}, headers=headers
    )
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert len(db_state(runtime)["evidence"]) == 1
    r = buyer.post(
        "/v1/evidence", files={"file": ("a.png", JPEG, "image/jpeg")}, data={"kind": "other"}, headers=headers
    )
    assert_problem(r, 422, "idempotency_key_reused")


# --- who may read it ---------------------------------------------------------------------------


def test_uploader_reads_it_and_its_bytes_back(api):
    buyer = api.as_("buyer", "b-1")
    ev = _upload(buyer, PNG, name="x.pdf").json()
    r = buyer.get(f"/v1/evidence/{ev['id']}")
    assert r.status_code == 200 and r.json()["sha256"] == ev["sha256"]
    content = buyer.get(f"/v1/evidence/{ev['id']}/content")
    assert content.status_code == 200 and content.content == PNG
    assert content.headers["content-type"].startswith("image/png")  # what it is, not what it was called
    assert content.headers["x-content-type-options"] == "nosniff"


def test_evidence_is_private_until_a_case_cites_it_then_the_cases_parties_read_it(api):
    feed_order(api, "o-1", buyer="b-1", merchant="m-1")
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    other_buyer, other_merchant = api.as_("buyer", "b-2"), api.as_("merchant", merchant_id="m-2")
    ev = _upload(buyer, PNG).json()
    missing = assert_problem(merchant.get("/v1/evidence/ev_nope"), 404)

    # Before it is cited, only the uploader and agents see it.
    assert assert_problem(merchant.get(f"/v1/evidence/{ev['id']}"), 404) == missing
    assert api.as_("agent").get(f"/v1/evidence/{ev['id']}").status_code == 200

    r = buyer.post("/v1/after-sales", json=case_body("o-1", evidence=[ev["id"]]))
    assert r.status_code == 201 and r.json()["evidence"] == [ev["id"]], r.text

    assert merchant.get(f"/v1/evidence/{ev['id']}").status_code == 200
    assert merchant.get(f"/v1/evidence/{ev['id']}/content").content == PNG
    for outsider in (other_buyer, other_merchant):
        assert assert_problem(outsider.get(f"/v1/evidence/{ev['id']}"), 404) == missing
        assert_problem(outsider.get(f"/v1/evidence/{ev['id']}/content"), 404, "not_found")
    assert api.as_("agent").get(f"/v1/evidence/{ev['id']}/content").content == PNG
    assert api.as_("admin").get(f"/v1/evidence/{ev['id']}").status_code == 200


def test_merchant_evidence_cited_in_a_refusal_is_read_by_the_buyer(api):
    feed_order(api, "o-1")
    case_id = api.as_("buyer", "b-1").post("/v1/after-sales", json=case_body("o-1")).json()["id"]
    merchant = api.as_("merchant", merchant_id="m-1")
    ev = _upload(merchant, PDF, name="inspection.pdf", kind="inspection_report").json()
    r = merchant.post(f"/v1/after-sales/{case_id}/reject", json={"reason": "no_quality_issue", "evidence": [ev["id"]]})
    assert r.status_code == 200, r.text
    assert api.as_("buyer", "b-1").get(f"/v1/evidence/{ev['id']}/content").content == PDF
    assert_problem(api.as_("buyer", "b-2").get(f"/v1/evidence/{ev['id']}"), 404, "not_found")


def test_citing_someone_elses_evidence_is_422_and_writes_nothing(api, runtime):
    feed_order(api, "o-1", buyer="b-1")
    feed_order(api, "o-2", buyer="b-2")
    theirs = _upload(api.as_("buyer", "b-1"), PNG).json()["id"]
    before = db_state(runtime)
    r = api.as_("buyer", "b-2").post("/v1/after-sales", json=case_body("o-2", evidence=[theirs]))
    assert_problem(r, 422, "validation_error")
    assert db_state(runtime) == before
    # ...and filing it did not let b-2 read it.
    assert_problem(api.as_("buyer", "b-2").get(f"/v1/evidence/{theirs}"), 404, "not_found")


def test_a_merchant_cannot_cite_the_buyers_private_upload_to_read_it(api, runtime):
    feed_order(api, "o-1")
    case_id = api.as_("buyer", "b-1").post("/v1/after-sales", json=case_body("o-1")).json()["id"]
    private = _upload(api.as_("buyer", "b-1"), JPEG).json()["id"]
    merchant = api.as_("merchant", merchant_id="m-1")
    before = db_state(runtime)
    r = merchant.post(f"/v1/after-sales/{case_id}/reject", json={"reason": "no_quality_issue", "evidence": [private]})
    assert_problem(r, 422, "validation_error")
    assert db_state(runtime) == before
    assert_problem(merchant.get(f"/v1/evidence/{private}"), 404, "not_found")
    r = merchant.post(f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS})
    assert r.status_code == 200


def test_a_shop_cannot_carry_one_buyer_s_photo_into_another_buyer_s_case(api, runtime):
    """The shop reads every photo of its cases; citing one on another case would show it to that
    case's buyer. A party cites its own files, or those already on the case."""
    feed_order(api, "o-1", buyer="b-1")
    feed_order(api, "o-2", buyer="b-2")
    photo = _upload(api.as_("buyer", "b-1"), JPEG).json()["id"]
    first = api.as_("buyer", "b-1").post("/v1/after-sales", json=case_body("o-1", evidence=[photo])).json()["id"]
    second = api.as_("buyer", "b-2").post("/v1/after-sales", json=case_body("o-2")).json()["id"]
    merchant = api.as_("merchant", merchant_id="m-1")
    assert merchant.get(f"/v1/evidence/{photo}").status_code == 200  # the shop reads it (case 1)
    before = db_state(runtime)
    r = merchant.post(f"/v1/after-sales/{second}/reject", json={"reason": "buyer_damaged", "evidence": [photo]})
    assert_problem(r, 422, "evidence_not_citable")
    r = merchant.post(f"/v1/after-sales/{second}/messages", json={"body": "看这张", "evidence": [photo]})
    assert_problem(r, 422, "evidence_not_citable")
    assert db_state(runtime) == before
    assert_problem(api.as_("buyer", "b-2").get(f"/v1/evidence/{photo}"), 404, "not_found")
    # On its own case the buyer's photo may be cited again (the refusal points at it).
    r = merchant.post(f"/v1/after-sales/{first}/reject", json={"reason": "buyer_damaged", "evidence": [photo]})
    assert r.status_code == 200, r.text
