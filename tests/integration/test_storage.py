"""The Storage contract, the same tests on each backend: local files, and S3 against a real S3 HTTP
server on loopback (moto's). Then the sweeper, on the injected clock, over both."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aftersales.config import ConfigError, Settings
from aftersales.domain.clock import ManualClock
from aftersales.integrations.storage import (
    PREFIX,
    LocalStorage,
    ObjectMissing,
    S3Storage,
    Storage,
    content_key,
    key_hash,
)
from aftersales.runtime import Runtime
from aftersales.runtime import storage as storage_for
from aftersales.services import evidence
from aftersales.services.context import Actor

BUYER = Actor("buyer", "b-1")


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str) -> Iterator[Storage]:
    # s3_endpoint named here, not looked up: the server starts before a test's threads are counted
    if request.param == "local":
        yield LocalStorage(tmp_path / "data" / "evidence")  # where the test settings' data_dir keeps it
    else:
        yield request.getfixturevalue("s3_storage")


def _key(data: bytes) -> str:
    return content_key(hashlib.sha256(data).hexdigest())


def test_content_keys_fan_out_by_the_hash_and_read_back() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    assert content_key(sha) == f"sha256/{sha[:2]}/{sha[2:4]}/{sha}"
    assert key_hash(content_key(sha)) == sha
    assert key_hash(f"sha256/{sha[:2]}/{sha}") is None and key_hash("other/x") is None


def test_put_get_exists_delete(storage: Storage) -> None:
    key = _key(b"chat log")
    assert not storage.exists(key)
    with pytest.raises(ObjectMissing):
        storage.get(key)
    storage.put(key, b"chat log", "text/plain")
    assert storage.exists(key) and storage.get(key) == b"chat log"
    assert b"".join(storage.open(key)) == b"chat log"
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # already gone: no error
    with pytest.raises(ObjectMissing):
        storage.open(key)


def test_a_stream_is_written_whole_and_read_back_in_chunks(storage: Storage) -> None:
    data = os.urandom(300_000)
    storage.put(_key(data), io.BytesIO(data), "application/octet-stream")
    chunks = list(storage.open(_key(data)))
    assert b"".join(chunks) == data and len(chunks) > 1


def test_the_same_key_written_twice_is_one_object(storage: Storage) -> None:
    key = _key(b"same bytes")
    storage.put(key, b"same bytes", "text/plain")
    storage.put(key, io.BytesIO(b"same bytes"), "text/plain")
    assert [o.key for o in storage.list(PREFIX)] == [key]


def test_list_names_the_keys_under_a_prefix_with_size_and_age(storage: Storage) -> None:
    a, b = _key(b"a"), _key(b"bb")
    before = datetime.now(UTC) - timedelta(seconds=5)  # the store's clock, not business time
    storage.put(a, b"a", "text/plain")
    storage.put(b, b"bb", "text/plain")
    storage.put("elsewhere/c", b"ccc", "text/plain")
    listed = {o.key: o for o in storage.list(PREFIX)}
    assert set(listed) == {a, b}
    assert listed[b].size == 2
    assert all(before <= o.modified_at <= datetime.now(UTC) + timedelta(seconds=5) for o in listed.values())
    for prefix in (a[:9], a[:8], "sha256", a):  # a folder, half a folder's name, a whole key
        assert [o.key for o in storage.list(prefix)] == [k for k in sorted((a, b)) if k.startswith(prefix)]
    assert list(storage.list("nothing/")) == []


def test_url_is_none_locally_and_a_presigned_download_on_s3(storage: Storage) -> None:
    key = _key(b"%PDF-1.7 report")
    storage.put(key, b"%PDF-1.7 report", "application/pdf")
    url = storage.url(
        key, timedelta(minutes=5), content_type="application/pdf", disposition='attachment; filename="r.pdf"'
    )
    if isinstance(storage, LocalStorage):
        assert url is None
        return
    assert url is not None and "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == b"%PDF-1.7 report"
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'attachment; filename="r.pdf"'


def test_a_key_that_climbs_out_of_the_local_root_is_refused(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path / "objects")
    for key in ("../x", "sha256/../../x", "", "a//b"):
        with pytest.raises(ValueError):
            local.put(key, b"x", "text/plain")


def test_local_storage_still_reads_files_stored_in_the_old_layout(tmp_path: Path) -> None:
    sha = hashlib.sha256(b"old").hexdigest()
    (tmp_path / sha[:2]).mkdir()
    (tmp_path / sha[:2] / sha).write_bytes(b"old")
    local = LocalStorage(tmp_path)
    assert local.exists(content_key(sha)) and local.get(content_key(sha)) == b"old"


# --- settings -----------------------------------------------------------------------------------


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    base = {"AFTERSALES_DATA_DIR": str(tmp_path), "AFTERSALES_JWT_SECRET": "x" * 32}
    assert Settings.from_env(base).storage == "local"
    assert isinstance(storage_for(Settings.from_env(base)), LocalStorage)
    with pytest.raises(ConfigError, match="AFTERSALES_S3_BUCKET"):
        Settings.from_env({**base, "AFTERSALES_STORAGE": "s3"})
    with pytest.raises(ConfigError, match="AFTERSALES_STORAGE"):
        Settings.from_env({**base, "AFTERSALES_STORAGE": "ftp"})
    s3 = Settings.from_env(
        {
            **base,
            "AFTERSALES_STORAGE": "S3",
            "AFTERSALES_S3_BUCKET": "evidence",
            "AFTERSALES_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "AFTERSALES_S3_REGION": "cn-north-1",
        }
    )
    built = storage_for(s3)
    assert isinstance(built, S3Storage) and built.bucket == "evidence"
    assert built.client.meta.endpoint_url == "http://127.0.0.1:9000" and built.client.meta.region_name == "cn-north-1"
    built.client.close()


# --- the sweeper ----------------------------------------------------------------------------------


@pytest.fixture
def env(runtime: Runtime, storage: Storage, clock: ManualClock) -> Any:
    """The runtime's Env on the backend under test, its clock on the store's own time: an
    object's age is the store's write time against the injected clock."""
    runtime.env.storage = storage
    clock.set(datetime.now(UTC))
    return runtime.env


def _upload(runtime: Runtime, env: Any, data: bytes) -> dict[str, Any]:
    with runtime.uow() as uow:
        row = evidence.upload(uow, env, BUYER, kind="other", stream=io.BytesIO(data), filename="f.txt")
        uow.commit()
    return row


def _sweep(runtime: Runtime, env: Any) -> list[str]:
    with runtime.uow() as uow:
        return evidence.sweep(uow, env)


def test_two_uploads_of_the_same_bytes_are_two_rows_and_one_object(runtime: Runtime, env: Any) -> None:
    first, second = _upload(runtime, env, b"chat log"), _upload(runtime, env, b"chat log")
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    assert [o.key for o in env.storage.list(PREFIX)] == [content_key(first["sha256"])]


def test_the_sweeper_deletes_only_unreferenced_objects_older_than_the_grace_period(
    runtime: Runtime, env: Any, clock: ManualClock
) -> None:
    kept = _upload(runtime, env, b"a committed upload")
    orphan = _key(b"written, then the upload died before its commit")
    env.storage.put(orphan, b"written, then the upload died before its commit", "text/plain")
    env.storage.put("elsewhere/not-a-content-key", b"x", "text/plain")
    clock.advance(evidence.SWEEP_GRACE - timedelta(minutes=1))
    assert _sweep(runtime, env) == []  # maybe an upload still in flight
    assert env.storage.exists(orphan)
    clock.advance(timedelta(minutes=2))
    assert _sweep(runtime, env) == [orphan]
    assert not env.storage.exists(orphan)
    assert env.storage.exists(content_key(kept["sha256"])), "an object a row references is never swept"
    assert env.storage.exists("elsewhere/not-a-content-key")
    clock.advance(timedelta(days=30))
    assert _sweep(runtime, env) == []


def test_the_sweeper_keeps_an_image_s_stripped_copy_and_thumbnail(
    runtime: Runtime, env: Any, clock: ManualClock
) -> None:
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (50, 40), "blue").save(png, format="PNG")
    row = _upload(runtime, env, png.getvalue())
    stored = {o.key for o in env.storage.list(PREFIX)}
    assert stored == {content_key(row[c]) for c in ("sha256", "stripped_sha256", "thumbnail_sha256")}
    clock.advance(timedelta(days=1))
    assert _sweep(runtime, env) == []
    assert {o.key for o in env.storage.list(PREFIX)} == stored


def test_a_refused_upload_leaves_no_object_but_spares_one_a_row_references(runtime: Runtime, env: Any) -> None:
    kept = _upload(runtime, env, b"already evidence")
    for data in (b"already evidence", b"new bytes"):
        with runtime.uow() as uow:
            evidence.upload(uow, env, BUYER, kind="other", stream=io.BytesIO(data), filename=None)
            # no commit: the transaction rolls back (as a lost Idempotency-Key race does)
    assert [o.key for o in env.storage.list(PREFIX)] == [content_key(kept["sha256"])]
    assert not list(Path(runtime.env.data_dir, "evidence").glob(".upload-*")), "the spooled upload is removed"


def test_the_deadline_worker_s_housekeeping_sweeps(runtime: Runtime, env: Any, clock: ManualClock) -> None:
    from aftersales.worker.engine import DeadlineEngine

    kept = _upload(runtime, env, b"a committed upload")
    orphan = _key(b"orphan")
    env.storage.put(orphan, b"orphan", "text/plain")
    clock.advance(timedelta(hours=2))
    DeadlineEngine(runtime.engine, env, worker_id="housekeeper").housekeeping()
    assert [o.key for o in env.storage.list(PREFIX)] == [content_key(kept["sha256"])]


def test_the_storage_sweep_command(
    runtime: Runtime, env: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aftersales storage sweep` on the backend the settings name, on the system clock."""
    from aftersales import cli

    monkeypatch.setenv("AFTERSALES_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("AFTERSALES_DATA_DIR", str(runtime.settings.data_dir))
    kept = _upload(runtime, env, b"a committed upload")
    orphan = _key(b"orphan")
    env.storage.put(orphan, b"orphan", "text/plain")
    if isinstance(env.storage, S3Storage):
        monkeypatch.setenv("AFTERSALES_STORAGE", "s3")
        monkeypatch.setenv("AFTERSALES_S3_BUCKET", env.storage.bucket)
        monkeypatch.setenv("AFTERSALES_S3_ENDPOINT_URL", env.storage.client.meta.endpoint_url)
        monkeypatch.setenv("AFTERSALES_S3_REGION", "us-east-1")
        cli.main(["storage", "sweep", "--grace-minutes", "0"])  # a bucket's write times cannot be set back
    else:
        two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
        for obj in env.storage.list(PREFIX):
            os.utime(env.storage.root / obj.key, (two_hours_ago, two_hours_ago))
        cli.main(["storage", "sweep"])
    assert capsys.readouterr().out.split() == [orphan]
    assert [o.key for o in env.storage.list(PREFIX)] == [content_key(kept["sha256"])]


def test_an_upload_whose_object_vanished_before_its_commit_puts_it_back(runtime: Runtime, env: Any) -> None:
    """A rolled-back upload of the same bytes (or a sweep) may delete the object between this
    upload's write and its commit: the committed upload writes it again from its spooled copy."""
    with runtime.uow() as uow:
        row = evidence.upload(uow, env, BUYER, kind="other", stream=io.BytesIO(b"raced bytes"), filename=None)
        env.storage.delete(content_key(row["sha256"]))
        uow.commit()
    assert env.storage.get(content_key(row["sha256"])) == b"raced bytes"


def test_the_sweeper_spares_an_orphan_rewritten_since_its_listing(
    runtime: Runtime, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload of an old orphan's very bytes rewrites it while the sweep runs: it stays. (On
    local files, whose write time can be set back; a bucket's cannot.)"""
    if not isinstance(env.storage, LocalStorage):
        pytest.skip("a bucket's write times cannot be set back")
    orphan = _key(b"orphan")
    env.storage.put(orphan, b"orphan", "text/plain")
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    os.utime(env.storage.root / orphan, (two_hours_ago, two_hours_ago))
    real_list, calls = env.storage.list, []

    def list_with_an_upload_in_between(prefix: str) -> Iterator[Any]:
        calls.append(prefix)
        if len(calls) == 2:  # after the sweep's listing, before its delete
            env.storage.put(orphan, b"orphan", "text/plain")
        return real_list(prefix)

    monkeypatch.setattr(env.storage, "list", list_with_an_upload_in_between)
    assert _sweep(runtime, env) == []
    assert env.storage.exists(orphan) and len(calls) == 2
