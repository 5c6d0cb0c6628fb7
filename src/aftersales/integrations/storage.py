"""Where evidence bytes live: a `Storage` is a flat store of objects named by key.

Keys are content addresses (`sha256/ab/cd/<hash>`, see `content_key`): the same bytes uploaded
twice are one object. `LocalStorage` (the default) keeps them as files under the data directory;
`S3Storage` in any S3-compatible bucket (AWS, MinIO, Ceph, R2, ...), and hands out pre-signed
download URLs so the bytes never pass through the API.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

PREFIX = "sha256/"
_CHUNK = 1 << 16


def content_key(sha256: str) -> str:
    """The key of the object whose bytes hash to `sha256`: two levels of fan-out keep any one
    directory (or S3 listing page) small."""
    return f"{PREFIX}{sha256[:2]}/{sha256[2:4]}/{sha256}"


def key_hash(key: str) -> str | None:
    """The hash a content key names, or None for a key that is not one."""
    name = key.rsplit("/", 1)[-1]
    if not key.startswith(PREFIX) or len(name) != 64 or key != content_key(name):
        return None
    return name


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified_at: datetime  # when it was last written, by the store's own clock


class ObjectMissing(KeyError):
    """No object has this key."""


class StorageUnavailable(Exception):
    """The store did not answer, or refused what it should not have (credentials, a missing
    bucket): nothing about the request, so the API answers 503."""


class Storage(Protocol):
    def put(self, key: str, data: bytes | BinaryIO, content_type: str) -> None:
        """Write the object whole (replacing one of the same key, which refreshes its age)."""

    def get(self, key: str) -> bytes: ...

    def open(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks, for streaming a download."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; a key already gone is no error."""

    def list(self, prefix: str) -> Iterator[StoredObject]: ...

    def url(self, key: str, expires: timedelta, *, content_type: str, disposition: str | None = None) -> str | None:
        """A pre-signed download URL valid for `expires`, or None when the API serves the bytes."""


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


class LocalStorage:
    """Files under `root`, one per key; writes land whole (a temporary file renamed into place)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root.joinpath(*parts)

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if path.is_file():
            return path
        # Files stored before the Storage interface sat at evidence/<ab>/<hash>: still read there.
        sha = key_hash(key)
        legacy = self.root / sha[:2] / sha if sha else None
        if legacy is not None and legacy.is_file():
            return legacy
        raise ObjectMissing(key)

    def put(self, key: str, data: bytes | BinaryIO, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes):
                    out.write(data)
                else:
                    while chunk := data.read(_CHUNK):
                        out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._existing(key).read_bytes()

    def open(self, key: str) -> Iterator[bytes]:
        return _chunks(self._existing(key).open("rb"))

    def exists(self, key: str) -> bool:
        try:
            self._existing(key)
        except ObjectMissing:
            return False
        return True

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[StoredObject]:
        # As S3 does, any string is a prefix (a whole key, half a directory's name): walk the
        # directory the prefix ends in, keep what starts with it.
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self._path(folder) if folder else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".") and key.startswith(prefix):
                stat = path.stat()
                yield StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def url(self, key: str, expires: timedelta, *, content_type: str, disposition: str | None = None) -> str | None:
        return None  # the API streams local files itself


class S3Storage:
    """Objects in an S3-compatible bucket. Credentials come from boto3's usual chain (the
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables, a profile, an instance role)."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str | None = None) -> None:
        import boto3  # imported here: the local default runs without boto3 installed
        from botocore.config import Config

        self.bucket = bucket
        # Path-style addressing (endpoint/bucket/key) works on every S3-compatible server; the
        # virtual-host style needs DNS for each bucket, which MinIO and the like rarely have.
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
        )
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    @contextmanager
    def _answering(self, key: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise ObjectMissing(key) from None
            raise StorageUnavailable(f"bucket {self.bucket}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"bucket {self.bucket}: {exc}") from exc

    def put(self, key: str, data: bytes | BinaryIO, content_type: str) -> None:
        with self._answering(key):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        with self._answering(key):
            return bytes(b"".join(self.open(key)))

    def open(self, key: str) -> Iterator[bytes]:
        with self._answering(key):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        return _chunks(body)

    def exists(self, key: str) -> bool:
        try:
            with self._answering(key):
                self.client.head_object(Bucket=self.bucket, Key=key)
        except ObjectMissing:
            return False
        return True

    def delete(self, key: str) -> None:
        with self._answering(key):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def list(self, prefix: str) -> Iterator[StoredObject]:
        with self._answering(prefix):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", ()):
                    yield StoredObject(item["Key"], int(item["Size"]), item["LastModified"].astimezone(UTC))

    def url(self, key: str, expires: timedelta, *, content_type: str, disposition: str | None = None) -> str | None:
        # The signed response-* parameters make the bucket answer with our type and disposition
        # whatever the object's metadata says.
        params = {"Bucket": self.bucket, "Key": key, "ResponseContentType": content_type}
        if disposition is not None:
            params["ResponseContentDisposition"] = disposition
        return str(
            self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=max(1, int(expires.total_seconds()))
            )
        )
