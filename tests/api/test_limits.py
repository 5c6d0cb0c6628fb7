"""Hostile request sizes and rates, against the real server: a huge body or head is refused while
it is still arriving (the bytes a client managed to send are counted, never the time it took),
and a flood of bad tokens or of one caller's requests is answered 429 with Retry-After."""

from __future__ import annotations

import dataclasses
import os
import select
import socket
import subprocess
import sys
import time

import httpx
import pytest

from api_builders import assert_problem, db_state, order_body

MiB = 1024 * 1024
CHUNK = 64 * 1024
HUGE = 100 * MiB  # what a hostile client offers; far past any cap and any socket buffer
EVIDENCE_CAP = 64 * 1024  # the test settings' evidence_max_bytes


@pytest.fixture
def settings(settings):
    # Low enough to reach in a test; the defaults are far above what any suite or bench sends.
    return dataclasses.replace(
        settings,
        rate_limit_auth_failures="5/minute",
        rate_limit_principal="20/minute",
        rate_limit_integration="30/minute",
    )


class Offer:
    """A streamed body of `total` bytes that counts what the client really handed to the socket."""

    def __init__(self, total: int, first: bytes = b"") -> None:
        self.total, self.first, self.sent = total, first, 0

    def __iter__(self):
        if self.first:
            self.sent += len(self.first)
            yield self.first
        whole, rest = divmod(self.total - len(self.first), CHUNK)
        for size in [CHUNK] * whole + [rest]:
            self.sent += size
            yield b" " * size


def _post(api, path: str, offer: Offer, headers: dict[str, str]) -> httpx.Response:
    client = api.as_("integration", "marketplace")
    return client.post(path, content=iter(offer), headers=headers)


def test_a_json_body_declared_over_the_cap_is_refused_before_it_is_read(api, runtime):
    offer = Offer(HUGE, b'{"order_id": "o-1", "pad": "')
    headers = {"Content-Type": "application/json", "Content-Length": str(HUGE)}
    r = _post(api, "/v1/orders", offer, headers)
    body = assert_problem(r, 413, "body_too_large")
    assert body["max_bytes"] == runtime.settings.max_body_bytes == MiB
    assert offer.sent < HUGE // 10, offer.sent  # answered on the head: the client stopped early


def test_a_chunked_json_body_is_cut_off_as_soon_as_it_passes_the_cap(api):
    offer = Offer(HUGE, b'{"order_id": "o-1", "pad": "')
    r = _post(api, "/v1/orders", offer, {"Content-Type": "application/json"})  # no length: chunked
    assert_problem(r, 413, "body_too_large")
    assert r.headers["connection"] == "close"
    assert offer.sent < HUGE // 10, offer.sent


def test_a_body_under_the_cap_is_served_as_before(api):
    big = order_body("o-big") | {"note": "a" * 600_000}  # about 600 KB of JSON, under 1 MiB
    r = api.as_("integration", "marketplace").post("/v1/orders", json=big)
    assert r.status_code != 413, r.text
    assert r.status_code in (201, 422), r.text  # whatever the order rules say, not the size cap


def test_an_upload_is_cut_off_as_soon_as_it_passes_the_evidence_cap(api, runtime):
    boundary = "hostile-boundary"
    first = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nproduct_media\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + b"\x89PNG\r\n\x1a\n"
    offer = Offer(300 * MiB, first)
    before = db_state(runtime)
    client = api.as_("buyer", "b-1")
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = client.post("/v1/evidence", content=iter(offer), headers=headers)
    body = assert_problem(r, 413, "file_too_large")
    assert body["max_bytes"] == EVIDENCE_CAP
    assert offer.sent < 16 * MiB, offer.sent  # the cap plus what socket buffers hold, not 300 MB
    assert db_state(runtime) == before  # no row, no file left behind


def _send_head(port: int, line: bytes, total: int) -> tuple[int, bytes]:
    """Send a request head of up to `total` bytes of `line`s; (bytes sent, what came back)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent, answer = 0, b""
    try:
        sock.sendall(b"GET /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(total // len(line)):
            sock.sendall(line)
            sent += len(line)
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered
        else:
            sock.sendall(b"\r\n")
    except OSError:
        pass  # cut off by the server: what it said before is still to be read
    try:
        for _ in range(100):
            chunk = sock.recv(CHUNK)
            if not chunk:
                break
            answer += chunk
    except OSError:
        pass
    sock.close()
    return sent, answer


def test_headers_past_32_kib_are_refused_with_431_while_they_arrive(api):
    sent, answer = _send_head(api.port, b"X-Pad: " + b"a" * 8185 + b"\r\n", 64 * MiB)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"code": "headers_too_large"' in answer
    assert sent < 16 * MiB, sent  # 64 MB offered; refused after 32 KiB plus what buffers hold


def test_one_endless_header_value_is_refused_too(api):
    sent, answer = _send_head(api.port, b"X-Long: " + b"b" * 4096, 64 * MiB)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert sent < 16 * MiB, sent


def test_a_head_under_the_cap_is_served(api):
    r = api.anonymous.get("/v1/orders/o-1", headers={f"X-Pad-{i}": "a" * 1000 for i in range(25)})
    assert_problem(r, 401, "unauthenticated")  # ~25 KB of headers: an ordinary answer


def test_failed_authentications_from_one_address_are_answered_429_once_over_the_rate(api):
    bad = httpx.Client(base_url=api.base_url, headers={"Authorization": "Bearer not-a-token"}, timeout=30)
    for _ in range(5):
        assert_problem(bad.get("/v1/orders/o-1"), 401, "unauthenticated")
    for _ in range(3):
        r = bad.get("/v1/orders/o-1")
        assert_problem(r, 429, "too_many_failed_authentications")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert_problem(api.anonymous.get("/v1/orders/o-1"), 429, "too_many_failed_authentications")
    # A valid token from the same address is still served: failures cannot lock others out.
    assert api.as_("agent").get("/v1/orders/o-nope").status_code == 404


def test_one_principal_over_its_rate_gets_429_and_others_do_not(api):
    buyer = api.as_("buyer", "b-1")
    for _ in range(20):
        assert buyer.get("/v1/evidence/ev_nope").status_code == 404
    r = buyer.get("/v1/evidence/ev_nope")
    body = assert_problem(r, 429, "rate_limited")
    assert 1 <= int(r.headers["retry-after"]) <= 60 and body["retry_after"] == int(r.headers["retry-after"])
    # Another sub, or the same sub in another role, has a budget of its own.
    assert api.as_("buyer", "b-2").get("/v1/evidence/ev_nope").status_code == 404
    assert api.as_("agent", "b-1").get("/v1/evidence/ev_nope").status_code == 404
    m1, m2 = api.as_("merchant", "staff", "m-1"), api.as_("merchant", "staff", "m-2")
    for _ in range(20):
        assert m1.get("/v1/evidence/ev_nope").status_code == 404
    assert_problem(m1.get("/v1/evidence/ev_nope"), 429, "rate_limited")
    assert m2.get("/v1/evidence/ev_nope").status_code == 404  # same sub, another shop


@pytest.mark.slow
def test_aftersales_serve_refuses_a_huge_head_with_431(tmp_path):
    """The protocol is wired into the real command, not only into the test server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AFTERSALES_DATA_DIR": str(tmp_path), "AFTERSALES_JWT_SECRET": "y" * 32}
    env.pop("AFTERSALES_DATABASE_URL", None)
    command = [sys.executable, "-m", "aftersales.cli", "serve", "--port", str(port), "--no-worker", "--no-access-log"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):  # up to about a minute for the process to come up
            assert proc.poll() is None, "serve exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("aftersales serve did not come up")
        sent, answer = _send_head(port, b"X-Pad: " + b"a" * 8185 + b"\r\n", 64 * MiB)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert sent < 16 * MiB, sent
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_integration_principal_has_a_budget_of_its_own(api):
    market = api.as_("integration", "marketplace")
    for _ in range(30):
        assert market.get("/v1/orders/o-nope").status_code == 404  # past the people's 20
    assert_problem(market.get("/v1/orders/o-nope"), 429, "rate_limited")
    assert api.as_("integration", "other-backend").get("/v1/orders/o-nope").status_code == 404


def test_the_caps_and_rates_are_settings_checked_at_start_up():
    from aftersales.config import ConfigError, Settings

    base = {"AFTERSALES_JWT_SECRET": "z" * 32}
    default = Settings.from_env(base)
    assert (default.max_body_bytes, default.rate_limit_storage) == (MiB, "memory://")
    assert (default.rate_limit_auth_failures, default.rate_limit_principal) == ("100/minute", "6000/minute")
    chosen = Settings.from_env(
        base | {"AFTERSALES_MAX_BODY_BYTES": "2048", "AFTERSALES_RATE_LIMIT_PRINCIPAL": "10/second"}
    )
    assert (chosen.max_body_bytes, chosen.rate_limit_principal) == (2048, "10/second")
    for name in ("AUTH_FAILURES", "PRINCIPAL", "INTEGRATION"):
        with pytest.raises(ConfigError, match=f"AFTERSALES_RATE_LIMIT_{name}"):
            Settings.from_env(base | {f"AFTERSALES_RATE_LIMIT_{name}": "lots"})
