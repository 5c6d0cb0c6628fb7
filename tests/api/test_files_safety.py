"""Evidence files are the clients' bytes, never pages of ours: each upload is checked whole
against the type its magic claims, and what is served is a download (or a sandboxed preview of an
image), never something a browser would run. HTML pages carry security headers."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from api_builders import assert_problem, db_state
from media_samples import GIF, JPEG, PDF, PNG, image

CHAT = "买家: 茶叶受潮了\n商家: 请提供照片\n".encode()
# A PDF that runs a script when a browser's viewer opens it.
SCRIPTED_PDF = (
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /OpenAction 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /S /JavaScript /JS (app.alert(document.cookie)) >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def _upload(client, content: bytes, name: str = "photo.png", kind: str = "product_media"):
    return client.post("/v1/evidence", files={"file": (name, content, "application/octet-stream")}, data={"kind": kind})


def _disposition(r) -> tuple[str, str, str]:
    """(type, filename, filename*) of a Content-Disposition header."""
    value = r.headers["content-disposition"]
    kind = value.split(";")[0].strip()
    plain = re.search(r'filename="([^"]*)"', value)
    star = re.search(r"filename\*=UTF-8''([^;]*)", value)
    return kind, plain.group(1) if plain else "", unquote(star.group(1)) if star else ""


def test_evidence_is_served_as_a_sandboxed_attachment_named_for_what_it_is(api):
    buyer = api.as_("buyer", "b-1")
    ev = _upload(buyer, SCRIPTED_PDF, name='../../invoice"; x=1\r\n.html', kind="inspection_report").json()
    r = buyer.get(f"/v1/evidence/{ev['id']}/content")
    assert r.status_code == 200 and r.content == SCRIPTED_PDF
    kind, plain, star = _disposition(r)
    assert kind == "attachment"
    # No path, quote or line break survives, and the extension is the real type's, not .html.
    assert re.fullmatch(r"invoice[A-Za-z0-9_-]*\.pdf", plain), plain
    assert star.startswith("invoice") and star.endswith(".pdf") and not set(star) & set('/\\"\r\n'), star
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "sandbox"


def test_a_name_in_chinese_is_kept_in_filename_star_and_replaced_in_plain_filename(api):
    buyer = api.as_("buyer", "b-1")
    ev = _upload(buyer, PNG, name="茶叶受潮.jpg").json()
    kind, plain, star = _disposition(buyer.get(f"/v1/evidence/{ev['id']}/content"))
    assert (kind, plain, star) == ("attachment", f"{ev['id']}.png", "茶叶受潮.png")


@pytest.mark.parametrize("content,media_type", [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif")])
def test_an_image_may_be_previewed_inline_still_sandboxed(api, content, media_type):
    buyer = api.as_("buyer", "b-1")
    ev = _upload(buyer, content).json()
    r = buyer.get(f"/v1/evidence/{ev['id']}/content", params={"disposition": "inline"})
    assert r.status_code == 200 and r.content == content
    assert r.headers["content-type"] == media_type
    assert _disposition(r)[0] == "inline"
    assert r.headers["content-security-policy"] == "sandbox"
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("content,name", [(SCRIPTED_PDF, "a.pdf"), (CHAT, "chat.txt")])
def test_anything_but_an_image_is_never_shown_inline(api, content, name):
    buyer = api.as_("buyer", "b-1")
    ev = _upload(buyer, content, name=name, kind="chat_record").json()
    r = buyer.get(f"/v1/evidence/{ev['id']}/content", params={"disposition": "inline"})
    assert_problem(r, 422, "inline_not_allowed")


TOO_BIG_TO_SNIFF = 4096  # past the 512 bytes the type is guessed from

CORRUPT = {
    "png header on junk": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    "png cut in half": PNG[: len(PNG) // 2],
    "jpeg header on junk": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * TOO_BIG_TO_SNIFF,
    "jpeg without its end": JPEG[:-40],
    "gif header on junk": b"GIF89a" + b"\x00" * TOO_BIG_TO_SNIFF,
    "pdf without %%EOF": b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n" + b" " * TOO_BIG_TO_SNIFF,
    "text that stops being utf-8 after 512 bytes": "聊天".encode() * 300 + b"\xff\xfe binary",
    "text with a control character after 512 bytes": b"hello " * 200 + b"\x00\x01\x02",
    "mp4 whose box runs past the end": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x10\x00mdat",
    "mp4 with an impossible box size": b"\x00\x00\x00\x04ftypmp42\x00\x00\x00\x00mp42isom",
    "image past pillow's decompression-bomb size": image("PNG", (10_000, 9_000), mode="1"),
}


@pytest.mark.parametrize("what", CORRUPT)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, as the bomb is opened
def test_a_file_that_is_not_what_its_magic_says_is_refused_and_stores_nothing(api, runtime, what):
    before = db_state(runtime)
    body = assert_problem(_upload(api.as_("buyer", "b-1"), CORRUPT[what]), 422, "corrupt_file")
    assert body["media_type"] in ("image/png", "image/jpeg", "image/gif", "application/pdf", "text/plain", "video/mp4")
    assert db_state(runtime) == before


def test_whole_files_of_each_type_are_accepted(api):
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x10mdat" + b"\x01" * 8
    buyer = api.as_("buyer", "b-1")
    for content, media_type in [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (PDF, "application/pdf"),
        (CHAT * 100, "text/plain"),
        (mp4, "video/mp4"),
    ]:
        r = _upload(buyer, content)
        assert r.status_code == 201, r.text
        assert r.json()["media_type"] == media_type


def test_an_unsupported_type_is_415_as_the_openapi_says(api, runtime):
    declared = api.anonymous.get("/openapi.json").json()["paths"]["/v1/evidence"]["post"]["responses"]
    assert "415" in declared and "413" in declared
    before = db_state(runtime)
    zip_file = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 200
    assert_problem(_upload(api.as_("buyer", "b-1"), zip_file, name="photo.jpg"), 415, "unsupported_media_type")
    assert db_state(runtime) == before


@pytest.mark.parametrize("path", ["/", "/docs", "/redoc"])
def test_html_pages_carry_security_headers(api, path):
    r = api.anonymous.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    policy = {d.split()[0]: d.split()[1:] for d in r.headers["content-security-policy"].split("; ")}
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["object-src"] == ["'none'"] and policy["script-src"] == ["'self'"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


def test_json_answers_do_not_carry_the_html_policy(api):
    r = api.anonymous.get("/healthz")
    assert r.headers["content-type"].startswith("application/json")
    assert "content-security-policy" not in r.headers
