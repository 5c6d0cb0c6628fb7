"""Evidence as each reader gets it (docs/api.md "Evidence"): a photo's EXIF and location reach its
uploader and the platform, never the other party; thumbnails; the same bytes stored once; and
object storage (a real S3 HTTP server on loopback) serving downloads through pre-signed URLs."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import ExifTags, Image

from aftersales.integrations.storage import PREFIX, content_key
from aftersales.runtime import Runtime
from aftersales.runtime import storage as storage_for
from api_builders import assert_problem, case_body, db_state, feed_order

LATITUDE = (31.0, 14.0, 9.0)  # 31°14'09" N: where the buyer lives, in the photo's GPS tags


def _photo(size: tuple[int, int] = (80, 40), orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: camera model, GPS position, and stored on its side
    (orientation 6: shown turned 90° clockwise), half red, half blue from left to right."""
    image = Image.new("RGB", size, "red")
    image.paste("blue", (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "Phone X"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = LATITUDE
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=95)
    return out.getvalue()


def _exif(data: bytes) -> dict[str, Any]:
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return {**dict(exif), "gps": dict(exif.get_ifd(ExifTags.IFD.GPSInfo)), "xmp": image.info.get("xmp")}


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _cited_photo(api: Any, photo: bytes) -> str:
    """The buyer uploads the photo and files a case citing it: the shop may now read it."""
    feed_order(api, "o-1", buyer="b-1", merchant="m-1")
    buyer = api.as_("buyer", "b-1")
    r = buyer.post("/v1/evidence", files={"file": ("IMG_0001.jpg", photo)}, data={"kind": "product_media"})
    assert r.status_code == 201, r.text
    evidence_id = r.json()["id"]
    r = buyer.post("/v1/after-sales", json=case_body("o-1", evidence=[evidence_id]))
    assert r.status_code == 201, r.text
    return str(evidence_id)


def test_the_photo_s_exif_and_gps_reach_the_uploader_and_agents_but_not_the_other_party(api):
    photo = _photo()
    assert _exif(photo)["gps"][ExifTags.GPS.GPSLatitude] == LATITUDE and _exif(photo)[ExifTags.Base.Model]
    evidence_id = _cited_photo(api, photo)
    content = f"/v1/evidence/{evidence_id}/content"

    for reader in (api.as_("buyer", "b-1"), api.as_("agent", "agent-1"), api.as_("admin", "admin-1")):
        r = reader.get(content)
        assert r.status_code == 200 and r.content == photo, "the uploader and the platform get the original"
        assert r.headers["content-length"] == str(len(photo))
        assert r.headers["x-evidence-variant"] == "original"

    merchant = api.as_("merchant", merchant_id="m-1")
    r = merchant.get(content)
    assert r.status_code == 200 and r.headers["x-evidence-variant"] == "stripped"
    assert r.headers["content-type"] == "image/jpeg"
    seen = _exif(r.content)
    assert seen == {"gps": {}, "xmp": None}, seen  # no tag at all: no camera, no position, no orientation
    upright = _image(r.content)
    assert upright.size == (40, 80), "turned as the orientation tag said, before the tag was dropped"
    # Turned clockwise, the stored left half (red) is on top, the right half (blue) below.
    assert upright.getpixel((20, 5))[0] > 200 and upright.getpixel((20, 75))[2] > 200
    assert_problem(merchant.get(content, params={"variant": "original"}), 403, "original_not_allowed")
    assert merchant.get(content, params={"variant": "stripped"}).content == r.content

    # An agent can see what the shop was shown.
    r = api.as_("agent", "agent-1").get(content, params={"variant": "stripped"})
    assert r.status_code == 200 and r.headers["x-evidence-variant"] == "stripped"
    assert _exif(r.content)["gps"] == {}
    assert_problem(merchant.get(content, params={"variant": "other"}), 422)


def test_a_thumbnail_is_a_small_upright_jpeg_without_metadata_for_whoever_may_read_the_file(api):
    evidence_id = _cited_photo(api, _photo(size=(1000, 500)))
    path = f"/v1/evidence/{evidence_id}/thumbnail"
    for reader in (api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1"), api.as_("agent", "a")):
        r = reader.get(path)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert r.headers["x-evidence-variant"] == "thumbnail"
        assert r.headers["content-disposition"].startswith('attachment; filename="IMG_0001.jpg"')
        thumb = _image(r.content)
        assert thumb.format == "JPEG" and thumb.size == (160, 320)
        assert _exif(r.content) == {"gps": {}, "xmp": None}
    assert (
        api.as_("buyer", "b-1")
        .get(path, params={"disposition": "inline"})
        .headers["content-disposition"]
        .startswith("inline;")
    )
    for outsider in (api.as_("buyer", "b-2"), api.as_("merchant", merchant_id="m-2")):
        assert_problem(outsider.get(path), 404, "not_found")


def test_a_file_that_is_not_an_image_has_no_thumbnail_and_is_the_same_for_every_reader(api):
    feed_order(api, "o-1", buyer="b-1", merchant="m-1")
    buyer = api.as_("buyer", "b-1")
    chat = "买家: 茶叶受潮了\n".encode()
    evidence_id = buyer.post("/v1/evidence", files={"file": ("chat.txt", chat)}, data={"kind": "chat_record"}).json()[
        "id"
    ]
    assert buyer.post("/v1/after-sales", json=case_body("o-1", evidence=[evidence_id])).status_code == 201
    assert_problem(buyer.get(f"/v1/evidence/{evidence_id}/thumbnail"), 404, "no_thumbnail")
    merchant = api.as_("merchant", merchant_id="m-1")
    for variant in (None, "original", "stripped"):
        r = merchant.get(f"/v1/evidence/{evidence_id}/content", params={"variant": variant} if variant else None)
        assert r.status_code == 200 and r.content == chat and r.headers["x-evidence-variant"] == "original"


def test_the_same_bytes_uploaded_twice_are_two_evidence_rows_and_one_stored_object(api, runtime):
    buyer, photo = api.as_("buyer", "b-1"), _photo()
    first, second = (
        buyer.post("/v1/evidence", files={"file": (name, photo)}, data={"kind": "product_media"}).json()
        for name in ("a.jpg", "b.jpg")
    )
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    keys = [o.key for o in runtime.env.storage.list(PREFIX)]
    assert len(keys) == 3 and content_key(first["sha256"]) in keys  # the original, its stripped copy, its thumbnail
    assert buyer.get(f"/v1/evidence/{second['id']}/content").content == photo


# --- object storage ------------------------------------------------------------------------------


@pytest.fixture
def s3_runtime(runtime: Runtime, s3_storage: Any) -> Iterator[Runtime]:
    """The runtime with the S3 backend the settings would build (AFTERSALES_STORAGE=s3)."""
    settings = dataclasses.replace(
        runtime.settings,
        storage="s3",
        s3_bucket=s3_storage.bucket,
        s3_endpoint_url=s3_storage.client.meta.endpoint_url,
        s3_region="us-east-1",
    )
    runtime.env.storage = storage_for(settings)
    yield runtime
    runtime.env.storage.client.close()  # type: ignore[attr-defined]


def test_on_s3_a_download_is_a_redirect_to_a_presigned_url_of_the_right_bytes(api, s3_runtime, s3_storage):
    photo = _photo()
    evidence_id = _cited_photo(api, photo)
    keys = {o.key for o in s3_storage.list(PREFIX)}
    assert len(keys) == 3, "the original, its stripped copy and its thumbnail are in the bucket"
    assert not list((s3_runtime.settings.data_dir / "evidence").rglob("sha256*")), "nothing stored locally"

    def fetch(client: httpx.Client, path: str, **params: str) -> httpx.Response:
        r = client.get(path, params=params, follow_redirects=False)
        assert r.status_code == 307, r.text
        assert r.headers["cache-control"] == "no-store"
        location = r.headers["location"]
        assert location.startswith(s3_storage.client.meta.endpoint_url) and "X-Amz-Expires=300" in location
        return httpx.get(location)  # from the bucket, with no token: the URL is the authorisation

    original = fetch(api.as_("buyer", "b-1"), f"/v1/evidence/{evidence_id}/content")
    assert original.status_code == 200 and original.content == photo
    assert original.headers["content-type"] == "image/jpeg"
    assert original.headers["content-disposition"].startswith('attachment; filename="IMG_0001.jpg"')

    merchant = api.as_("merchant", merchant_id="m-1")
    stripped = fetch(merchant, f"/v1/evidence/{evidence_id}/content", disposition="inline")
    assert stripped.status_code == 200 and _exif(stripped.content) == {"gps": {}, "xmp": None}
    assert stripped.headers["content-disposition"].startswith("inline;")
    assert _image(stripped.content).size == (40, 80)
    thumb = fetch(merchant, f"/v1/evidence/{evidence_id}/thumbnail")
    assert thumb.status_code == 200 and _image(thumb.content).format == "JPEG"

    # Authorisation comes first: no redirect for those who may not read it.
    assert_problem(merchant.get(f"/v1/evidence/{evidence_id}/content", params={"variant": "original"}), 403)
    assert_problem(api.as_("merchant", merchant_id="m-2").get(f"/v1/evidence/{evidence_id}/content"), 404)


def test_an_image_stored_before_its_copies_existed_is_still_stripped_for_the_other_party(api, runtime):
    """Rows from before migration 0014 have no stripped copy or thumbnail: made on the spot."""
    from aftersales.store import tables as t

    photo = _photo()
    evidence_id = _cited_photo(api, photo)
    with runtime.engine.begin() as conn:
        conn.execute(
            t.evidence.update()
            .where(t.evidence.c.id == evidence_id)
            .values(stripped_sha256=None, thumbnail_sha256=None)
        )
    merchant = api.as_("merchant", merchant_id="m-1")
    r = merchant.get(f"/v1/evidence/{evidence_id}/content")
    assert r.status_code == 200 and r.headers["x-evidence-variant"] == "stripped"
    assert _exif(r.content) == {"gps": {}, "xmp": None} and _image(r.content).size == (40, 80)
    thumb = merchant.get(f"/v1/evidence/{evidence_id}/thumbnail")
    assert thumb.status_code == 200 and _image(thumb.content).size == (40, 80)
    assert api.as_("buyer", "b-1").get(f"/v1/evidence/{evidence_id}/content").content == photo


def test_an_upload_to_a_bucket_that_does_not_answer_is_503_and_writes_no_row(api, runtime, s3_storage):
    from aftersales.integrations.storage import S3Storage

    missing = S3Storage("no-such-bucket", endpoint_url=s3_storage.client.meta.endpoint_url, region="us-east-1")
    runtime.env.storage = missing
    try:
        r = api.as_("buyer", "b-1").post("/v1/evidence", files={"file": ("a.jpg", _photo())}, data={"kind": "other"})
        assert_problem(r, 503, "storage_unavailable")
        assert r.headers["retry-after"] == "1"
    finally:
        missing.client.close()
    assert db_state(runtime)["evidence"] == []
