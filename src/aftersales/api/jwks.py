"""The marketplace's signing keys: its IdP's JWKS, fetched over HTTPS (or read from a file) and cached.

Our own small cache around PyJWT's `PyJWKSet` rather than its `PyJWKClient`, which starts its
unknown-kid cooldown at every fetch (a key rotated just after start-up waits out the cooldown),
holds one lock over every lookup while it fetches, retries a dead IdP on every request (each
waiting out the timeout), and reads the time itself (no test could move it).

- A set is used for `TTL` seconds, then fetched again on the next token (the others go on with
  the old set while that fetch runs).
- A `kid` not in the set fetches it again at once (a rotation is picked up without restart), but
  at most once per `REFETCH_INTERVAL`: a burst of forged kids costs the IdP one request.
- A failed fetch is not retried for `REFETCH_INTERVAL` either; meanwhile the last good set stays
  in use (an IdP outage does not log everyone out), and with none yet, the caller gets `503
  jwks_unavailable` at once instead of waiting for another timeout.
- A fetch takes at most `FETCH_TIMEOUT` seconds (connect, and each read) and `MAX_BYTES`; only
  one runs at a time, and callers needing it wait for that one rather than start their own.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

from ..domain.errors import Unavailable

TTL = 600.0
REFETCH_INTERVAL = 30.0
FETCH_TIMEOUT = 3.0
MAX_BYTES = 512 * 1024  # a JWKS holds a handful of public keys: a few KiB

log = logging.getLogger("aftersales.jwks")


class FetchNeeded(Exception):
    """Answering needs a fetch, which the caller (on the event loop) may not wait for."""


class KeySet:
    def __init__(
        self,
        load: Callable[[], bytes],
        source: str,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        ttl: float = TTL,
        interval: float = REFETCH_INTERVAL,
    ) -> None:
        self._load, self.source, self._now = load, source, monotonic
        self.ttl, self.interval = ttl, interval
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = -math.inf  # last successful fetch
        self._refetched_at = -math.inf  # last fetch for an unknown kid
        self._failed_at = -math.inf  # last failed fetch
        self._fetching = threading.Lock()

    def get(self, kid: str, *, may_fetch: bool = True) -> jwt.PyJWK | None:
        """The key named `kid`, or None if the IdP has none by that name. Raises `FetchNeeded`
        when a fetch is due and `may_fetch` is False; `Unavailable` when no set could be had."""
        if self._due(kid):
            # Past its TTL, a set that names the kid still serves: one caller refreshes it, the
            # others go on meanwhile instead of queueing behind the fetch (and behind a dead IdP's
            # timeout). A kid the set lacks has to wait for the fetch that may bring it.
            known = self._keys is not None and kid in self._keys
            if not may_fetch and not known:
                raise FetchNeeded
            if may_fetch and self._fetching.acquire(blocking=not known):
                try:
                    if self._due(kid):  # (nobody fetched it while this one waited for the lock)
                        self._fetch(kid)
                finally:
                    self._fetching.release()
        if self._keys is None:
            wait = max(1, math.ceil(self.interval - (self._now() - self._failed_at)))
            raise Unavailable(
                "the marketplace's signing keys (JWKS) could not be fetched; retry shortly",
                code="jwks_unavailable",
                retry_after=wait,
            )
        return self._keys.get(kid)

    def _due(self, kid: str) -> bool:
        now = self._now()
        if now - self._failed_at < self.interval:
            return False
        if self._keys is None or now - self._fetched_at >= self.ttl:
            return True
        return kid not in self._keys and now - self._refetched_at >= self.interval

    def _fetch(self, kid: str) -> None:
        now = self._now()
        for_unknown_kid = self._keys is not None and now - self._fetched_at < self.ttl
        try:
            keys = parse(self._load())
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            self._failed_at = now
            log.warning("JWKS from %s not usable (kept: %s): %s", self.source, self._keys is not None, exc)
            return
        self._keys, self._fetched_at = keys, now
        if for_unknown_kid:
            self._refetched_at = now
        if kid not in keys:
            log.info("JWKS from %s has no key %r", self.source, kid[:64])


def parse(body: bytes) -> dict[str, jwt.PyJWK]:
    """The set's signing keys by kid (keys without a kid, or meant for encryption, left out)."""
    document: Any = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("a JWKS is a JSON object with `keys`")
    keys = jwt.PyJWKSet.from_dict(document)
    return {k.key_id: k for k in keys if isinstance(k.key_id, str) and k.public_key_use in (None, "sig")}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # The URL was checked to be https (config.py); a redirect could lead anywhere, in the clear.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def from_url(url: str, timeout: float = FETCH_TIMEOUT) -> Callable[[], bytes]:
    def load() -> bytes:
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "aftersales"})
        deadline = time.monotonic() + timeout
        with _OPENER.open(request, timeout=timeout) as response:
            if response.status != 200:
                raise OSError(f"HTTP {response.status}")
            body = b""
            # read1: whatever has arrived, so a server dripping bytes cannot stretch the fetch.
            while chunk := response.read1(64 * 1024):
                body += chunk
                if len(body) > MAX_BYTES:
                    raise ValueError(f"JWKS larger than {MAX_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"JWKS not read within {timeout} s")
            return body

    return load


def from_file(path: Path) -> Callable[[], bytes]:
    def load() -> bytes:
        with path.open("rb") as file:
            body = file.read(MAX_BYTES + 1)
        if len(body) > MAX_BYTES:
            raise ValueError(f"JWKS larger than {MAX_BYTES} bytes")
        return body

    return load
