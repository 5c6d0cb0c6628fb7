"""Tokens from the marketplace's IdP (docs/api.md "Who is calling"): RS256 and ES256 verified with
the keys of its JWKS, served here by a real HTTP server on loopback that counts its requests."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from aftersales.api import jwks
from aftersales.api.auth import mint
from aftersales.config import DEMO_SECRET, ConfigError, Settings
from aftersales.domain.clock import SystemClock
from aftersales.runtime import Runtime
from api_builders import assert_problem, feed_order
from conftest import SECRET
from waiting import wait_until

ISSUER = "https://id.market.example"
AUDIENCE = "aftersales"
OCT_SECRET = b"a-symmetric-key-in-the-idps-jwks-32b"
OCT_KEY = {"kty": "oct", "kid": "hmac-1", "k": base64.urlsafe_b64encode(OCT_SECRET).decode().rstrip("=")}


@dataclasses.dataclass
class Key:
    kid: str
    alg: str
    private: Any

    @classmethod
    def rsa(cls, kid: str) -> Key:
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def ec(cls, kid: str) -> Key:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        algorithm = RSAAlgorithm if self.alg == "RS256" else ECAlgorithm
        return {
            **algorithm.to_jwk(self.private.public_key(), as_dict=True),
            "kid": self.kid,
            "use": "sig",
            "alg": self.alg,
        }

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, *, kid: str | None = None, hours: float = 1, **claims: Any) -> str:
        body = {"sub": "b-1", "role": "buyer", "iss": ISSUER, "aud": AUDIENCE, "exp": _exp(hours), **claims}
        return jwt.encode(
            {k: v for k, v in body.items() if v is not None},
            self.private,
            algorithm=self.alg,
            headers={"kid": kid or self.kid},
        )


def _exp(hours: float) -> int:
    return int((SystemClock().now() + timedelta(hours=hours)).timestamp())


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class IdP:
    """A JWKS endpoint on loopback: `keys` is what it serves, `fetches` how often it was asked.
    With `hold` set, each request waits for `release()` before it is answered."""

    def __init__(self, keys: list[Key]) -> None:
        self.keys, self.fetches, self.hold = keys, 0, False
        self.extra: list[dict[str, Any]] = []  # raw JWKs served besides
        self._released = threading.Event()
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                idp.fetches += 1
                if idp.hold:
                    idp._released.wait(30)
                body = json.dumps({"keys": [k.jwk() for k in idp.keys] + idp.extra}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # (a client that gave up waiting)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, name="jwks-idp", daemon=True)
        self.thread.start()

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


RS512_KEY = Key.rsa("rsa-512")


@pytest.fixture
def rsa_key() -> Key:
    return Key.rsa("rsa-1")


@pytest.fixture
def ec_key() -> Key:
    return Key.ec("ec-1")


@pytest.fixture
def idp(rsa_key: Key, ec_key: Key) -> Iterator[IdP]:
    server = IdP([rsa_key, ec_key])
    yield server
    server.stop()


@pytest.fixture
def serve_with(serve, settings, clock, engine) -> Callable[..., Any]:
    """`serve_with(jwks_url=..., ...)`: a server whose settings are the test's with these changes."""

    def start(**changes: Any) -> Any:
        changes.setdefault("jwt_issuer", ISSUER)
        changes.setdefault("jwt_audience", AUDIENCE)
        return serve(Runtime.build(dataclasses.replace(settings, **changes), clock=clock, engine=engine))

    return start


def _get(api, token: str, path: str = "/v1/orders") -> httpx.Response:
    return httpx.get(f"{api.base_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)


# --- accepted ----------------------------------------------------------------------------------


def test_rs256_and_es256_tokens_from_the_jwks_act_with_their_claims_as_hs256_ones_do(serve_with, idp, rsa_key, ec_key):
    api = serve_with(jwks_url=idp.url)
    feed_order(api, "o-1", buyer="b-1", merchant="m-1")  # HS256 (the shared secret) works alongside
    feed_order(api, "o-2", buyer="b-2", merchant="m-2")
    for key in (rsa_key, ec_key):
        buyer = key.sign(sub="b-1", role="buyer")
        assert [o["id"] for o in _get(api, buyer).json()["items"]] == ["o-1"]
        merchant = key.sign(sub="m-2-staff", role="merchant", merchant_id="m-2")
        assert [o["id"] for o in _get(api, merchant).json()["items"]] == ["o-2"]
        assert_problem(_get(api, merchant, "/v1/orders/o-1"), 404, "not_found")
        # An audience list naming us is ours too.
        assert _get(api, key.sign(aud=["crm", AUDIENCE])).status_code == 200
    assert idp.fetches == 1  # one fetch served every key and token


def test_with_hs256_off_only_the_idps_tokens_are_accepted(serve_with, idp, rsa_key):
    api = serve_with(jwks_url=idp.url, jwt_secret=None)
    assert _get(api, rsa_key.sign()).status_code == 200
    r = _get(api, mint(SECRET, sub="b-1", role="buyer", now=SystemClock().now()))
    assert "HS256 tokens are not accepted" in assert_problem(r, 401, "unauthenticated")["detail"]


def test_without_a_jwks_rs256_and_es256_tokens_are_refused(api, rsa_key, ec_key):
    for key in (rsa_key, ec_key):
        assert_problem(_get(api, key.sign()), 401, "unauthenticated")


# --- refused -----------------------------------------------------------------------------------


def _bad_tokens(rsa_key: Key, ec_key: Key) -> dict[str, str]:
    impostor = Key.rsa("rsa-1")  # another key claiming the IdP's kid
    claims = {"sub": "a-1", "role": "admin", "iss": ISSUER, "aud": AUDIENCE, "exp": _exp(1)}
    return {
        "wrong iss": rsa_key.sign(iss="https://other-idp.example"),
        "wrong aud": ec_key.sign(aud="crm"),
        "no iss": rsa_key.sign(iss=None),
        "no aud": ec_key.sign(aud=None),
        "expired": rsa_key.sign(hours=-1),
        "not yet valid": ec_key.sign(nbf=_exp(1)),
        "signed by another key with the kid": impostor.sign(),
        "no kid": jwt.encode(claims, rsa_key.private, algorithm="RS256"),
        "offers its own key": jwt.encode(
            claims, impostor.private, algorithm="RS256", headers={"kid": "rsa-1", "jwk": impostor.jwk(), "jku": "x"}
        ),
        "unknown role": rsa_key.sign(role="superuser"),
        "system role": ec_key.sign(role="system"),
        "merchant without merchant_id": rsa_key.sign(role="merchant", sub="m-1-staff"),
        "sub over 64 characters": ec_key.sign(sub="b" * 65),
        "no exp": jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"}, rsa_key.private, "RS256", headers={"kid": "rsa-1"}
        ),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'rsa-1'})}.{_b64(claims)}.",
        # Algorithm confusion: the public key (PEM, or the JWK's modulus) used as an HMAC secret.
        "HS256 signed with the public key": _hmac_token(claims, rsa_key.public_pem(), kid="rsa-1"),
        "HS256 signed with the JWK": _hmac_token(claims, json.dumps(rsa_key.jwk()).encode(), kid="rsa-1"),
        # The token's alg does not choose the key type: an ES256 token naming the RSA key, and back.
        "HS256 signed with the JWKS's own oct key": _hmac_token(claims, OCT_SECRET, kid="hmac-1"),
        "ES256 token naming an RSA key": ec_key.sign(kid="rsa-1"),
        "RS256 token naming an EC key": rsa_key.sign(kid="ec-1"),
        "RS256 token naming an oct key": rsa_key.sign(kid="hmac-1"),
        "RS256 token naming an RS512 key": RS512_KEY.sign(kid="rsa-512"),
        "RS512 with the IdP's key": jwt.encode(claims, rsa_key.private, algorithm="RS512", headers={"kid": "rsa-1"}),
        "PS256 with the IdP's key": jwt.encode(claims, rsa_key.private, algorithm="PS256", headers={"kid": "rsa-1"}),
        "ES384": jwt.encode(
            claims, ec.generate_private_key(ec.SECP384R1()), algorithm="ES384", headers={"kid": "ec-1"}
        ),
        "kid not a string": f"{_b64({'alg': 'RS256', 'kid': 7})}.{_b64(claims)}.c2lnbmF0dXJl",
    }


def _hmac_token(claims: dict[str, Any], secret: bytes, *, kid: str) -> str:
    """HS256 signed with `secret` by hand: PyJWT itself refuses a PEM key as an HMAC secret."""
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


# Each bad token and what its 401 says (so each is refused for its own reason).
BAD = {
    "wrong iss": "Invalid issuer",
    "wrong aud": "Audience doesn't match",
    "no iss": 'missing the "iss" claim',
    "no aud": 'missing the "aud" claim',
    "expired": "Signature has expired",
    "not yet valid": "not yet valid",
    "signed by another key with the kid": "Signature verification failed",
    "no kid": "needs a `kid` header",
    "offers its own key": "Signature verification failed",
    "unknown role": "no valid role",
    "system role": "no valid role",
    "merchant without merchant_id": "needs merchant_id",
    "sub over 64 characters": "at most 64 characters",
    "no exp": 'missing the "exp" claim',
    "alg none": "'none' is not accepted",
    "HS256 signed with the public key": "Signature verification failed",
    "HS256 signed with the JWK": "Signature verification failed",
    "HS256 signed with the JWKS's own oct key": "Signature verification failed",
    "ES256 token naming an RSA key": "'rsa-1' is not an ES256 key",
    "RS256 token naming an EC key": "'ec-1' is not an RS256 key",
    "RS256 token naming an oct key": "'hmac-1' is not an RS256 key",
    "RS256 token naming an RS512 key": "'rsa-512' is not an RS256 key",
    "RS512 with the IdP's key": "'RS512' is not accepted",
    "PS256 with the IdP's key": "'PS256' is not accepted",
    "ES384": "'ES384' is not accepted",
    "kid not a string": "Key ID header parameter must be a string",
}


def test_idp_tokens_that_are_not_valid_for_us_are_401_and_spend_the_failure_budget(serve_with, idp, rsa_key, ec_key):
    # A symmetric key in the set must not make HS256 tokens the IdP's; a key the IdP declares
    # for RS512 is not one for RS256.
    idp.extra = [OCT_KEY, {**RS512_KEY.jwk(), "alg": "RS512"}]
    api = serve_with(jwks_url=idp.url, rate_limit_auth_failures=f"{len(BAD)}/minute")
    tokens = _bad_tokens(rsa_key, ec_key)
    assert sorted(tokens) == sorted(BAD)
    for which in BAD:
        r = _get(api, tokens[which])
        assert r.status_code == 401, (which, r.text)
        assert BAD[which] in assert_problem(r, 401, "unauthenticated")["detail"], which
        assert r.headers["www-authenticate"] == "Bearer"
    # Every one of them counted: the address's budget is spent, even for a well-formed forgery.
    assert_problem(_get(api, tokens["wrong aud"]), 429, "too_many_failed_authentications")
    # ...while a valid token still passes.
    assert _get(api, rsa_key.sign()).status_code == 200


def test_idp_tokens_spend_their_principals_budget(serve_with, idp, rsa_key, ec_key):
    # Checked before the route runs too (the rate limiter), the first time on a worker thread
    # because the keys must be fetched: the caller is known there, and limited as a caller.
    api = serve_with(jwks_url=idp.url, rate_limit_principal="3/minute")
    token = rsa_key.sign(sub="b-7")
    assert [_get(api, token).status_code for _ in range(3)] == [200, 200, 200]
    assert_problem(_get(api, token), 429, "rate_limited")
    assert _get(api, ec_key.sign(sub="b-8")).status_code == 200  # another caller, its own budget
    assert idp.fetches == 1


# --- rotation and forged kids --------------------------------------------------------------------


def test_a_rotated_key_is_fetched_on_its_first_token_and_the_old_one_then_refused(serve_with, idp, rsa_key):
    api = serve_with(jwks_url=idp.url)
    assert _get(api, rsa_key.sign()).status_code == 200
    assert idp.fetches == 1
    new = Key.rsa("rsa-2")
    idp.keys = [new]  # the IdP rotated: rsa-1 is gone
    assert _get(api, new.sign()).status_code == 200  # no restart
    assert idp.fetches == 2
    assert _get(api, new.sign(sub="b-2")).status_code == 200
    assert_problem(_get(api, rsa_key.sign()), 401, "unauthenticated")
    assert idp.fetches == 2


def test_a_burst_of_forged_kids_fetches_the_jwks_once(serve_with, idp, rsa_key):
    api = serve_with(jwks_url=idp.url)
    assert _get(api, rsa_key.sign()).status_code == 200
    forger = Key.rsa("x")
    for n in range(25):
        assert_problem(_get(api, forger.sign(kid=f"forged-{n}")), 401, "unauthenticated")
    assert idp.fetches == 2  # the first forged kid refetched; the rest waited out the interval
    assert _get(api, rsa_key.sign()).status_code == 200


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_refetches_after_its_ttl_and_forged_kids_once_per_interval(idp, rsa_key):
    ticks = Ticks()
    keys = jwks.KeySet(jwks.from_url(idp.url), idp.url, monotonic=ticks, ttl=600, interval=30)
    assert keys.get("rsa-1") is not None and idp.fetches == 1
    assert keys.get("nope-1") is None and idp.fetches == 2
    ticks.now += 29
    assert keys.get("nope-2") is None and idp.fetches == 2
    ticks.now += 1
    assert keys.get("nope-3") is None and idp.fetches == 3
    assert keys.get("rsa-1") is not None and idp.fetches == 3
    ticks.now += 30
    with pytest.raises(jwks.FetchNeeded):  # (the event loop's check: it never fetches)
        keys.get("nope-4", may_fetch=False)
    ticks.now += 600
    assert keys.get("rsa-1", may_fetch=False) is not None and idp.fetches == 3  # stale: served, not fetched
    assert keys.get("rsa-1") is not None and idp.fetches == 4


def test_a_stale_set_serves_known_kids_while_one_caller_refreshes_it(rsa_key):
    ticks, entered, release = Ticks(), threading.Event(), threading.Event()
    calls: list[float] = []

    def load() -> bytes:
        calls.append(ticks.now)
        if len(calls) > 1:
            entered.set()
            release.wait(30)
        return json.dumps({"keys": [rsa_key.jwk()]}).encode()

    keys = jwks.KeySet(load, "test", monotonic=ticks, ttl=600, interval=30)
    assert keys.get("rsa-1") is not None
    ticks.now += 600
    refresher = threading.Thread(target=keys.get, args=("rsa-1",), name="refreshes-jwks")
    refresher.start()
    assert entered.wait(10)
    others: list[object] = []
    other = threading.Thread(target=lambda: others.append(keys.get("rsa-1")), name="uses-stale-jwks")
    other.start()
    other.join(10)
    assert others and others[0] is not None  # answered while the refresh is still held
    release.set()
    refresher.join(10)
    assert len(calls) == 2


def test_while_the_idp_is_down_the_last_keys_serve_and_it_is_retried_once_per_interval(rsa_key):
    ticks, body = Ticks(), {"keys": [rsa_key.jwk()]}
    calls: list[float] = []

    def load() -> bytes:
        calls.append(ticks.now)
        if body is None:
            raise ConnectionRefusedError("down")
        return json.dumps(body).encode()

    keys = jwks.KeySet(load, "test", monotonic=ticks, ttl=600, interval=30)
    assert keys.get("rsa-1") is not None
    body = None  # type: ignore[assignment]
    ticks.now += 600
    assert keys.get("rsa-1") is not None and len(calls) == 2  # stale but kept
    assert keys.get("rsa-2") is None and len(calls) == 2  # no retry within the interval
    ticks.now += 30
    assert keys.get("rsa-1") is not None and len(calls) == 3


# --- file mode -----------------------------------------------------------------------------------


def test_a_jwks_file_is_read_and_reread_for_a_new_kid(serve_with, tmp_path: Path, rsa_key, ec_key):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [rsa_key.jwk()]}))
    api = serve_with(jwks_file=path)
    assert _get(api, rsa_key.sign()).status_code == 200
    path.write_text(json.dumps({"keys": [rsa_key.jwk(), ec_key.jwk()]}))
    assert _get(api, ec_key.sign(sub="b-9")).status_code == 200


def test_an_unreadable_jwks_file_is_503_jwks_unavailable(serve_with, tmp_path: Path, rsa_key):
    path = tmp_path / "jwks.json"
    path.write_text("{not json")
    api = serve_with(jwks_file=path)
    r = _get(api, rsa_key.sign())
    assert assert_problem(r, 503, "jwks_unavailable")["retry_after"] >= 1
    assert int(r.headers["retry-after"]) >= 1


# --- the IdP unreachable -------------------------------------------------------------------------


def test_an_unreachable_jwks_is_503_at_once_and_hs256_tokens_still_pass(serve_with, rsa_key):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/jwks.json"  # bound, never listening: refused
        down = serve_with(jwks_url=url)
        for _ in range(3):
            r = _get(down, rsa_key.sign())
            assert_problem(r, 503, "jwks_unavailable")
            assert "www-authenticate" not in r.headers and r.headers["retry-after"]
    # HS256 tokens need no JWKS.
    assert down.as_("buyer", "b-1").get("/v1/orders").status_code == 200


def test_a_jwks_that_never_answers_is_503_after_the_timeout(serve_with, idp, rsa_key):
    idp.hold = True
    api = serve_with(jwks_url=idp.url, jwks_timeout=0.5)
    # Nothing answers within the timeout: 503, not a hang (the client would give up after 30 s).
    assert_problem(_get(api, rsa_key.sign()), 503, "jwks_unavailable")
    idp.release()


def test_a_slow_jwks_fetch_does_not_block_other_requests(serve_with, idp, rsa_key):
    idp.hold = True
    api = serve_with(jwks_url=idp.url, jwks_timeout=30)
    results: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: results.append(_get(api, rsa_key.sign())), name="waits-for-jwks")
    waiting.start()
    assert wait_until(lambda: idp.fetches == 1, timeout=10)
    # The IdP holds its answer (for up to 30 s): meanwhile other callers are served.
    assert api.as_("buyer", "b-1").get("/v1/orders").status_code == 200
    assert api.anonymous.get("/healthz").status_code == 200
    assert not results
    idp.release()
    waiting.join(30)
    assert [r.status_code for r in results] == [200]
    assert idp.fetches == 1


# --- settings ------------------------------------------------------------------------------------


def _env(**values: str) -> dict[str, str]:
    base = {"AFTERSALES_JWT_ISSUER": ISSUER, "AFTERSALES_JWT_AUDIENCE": AUDIENCE}
    return {**base, **{f"AFTERSALES_{k.upper()}": v for k, v in values.items()}}


def test_a_jwks_needs_an_issuer_and_an_audience(tmp_path: Path):
    url = "https://id.market.example/.well-known/jwks.json"
    for missing in ("AFTERSALES_JWT_ISSUER", "AFTERSALES_JWT_AUDIENCE"):
        env = {k: v for k, v in _env(jwks_url=url, jwt_secret=SECRET).items() if k != missing}
        with pytest.raises(ConfigError, match="AFTERSALES_JWT_ISSUER and AFTERSALES_JWT_AUDIENCE"):
            Settings.from_env(env)
    with pytest.raises(ConfigError, match="checked on the IdP's tokens only"):
        Settings.from_env({"AFTERSALES_JWT_SECRET": SECRET, "AFTERSALES_JWT_ISSUER": ISSUER})


@pytest.mark.parametrize(
    "url",
    [
        "http://id.market.example/jwks.json",  # in the clear over the network
        "http://10.0.0.8/jwks.json",
        "ftp://id.market.example/jwks.json",
        "file:///etc/jwks.json",
        "https:///jwks.json",
        "id.market.example/jwks.json",
        "https://id.market.example:port/jwks.json",
    ],
)
def test_a_jwks_url_must_be_https_or_loopback_http(url):
    with pytest.raises(ConfigError, match="AFTERSALES_JWKS_URL"):
        Settings.from_env(_env(jwks_url=url, jwt_secret=SECRET))


@pytest.mark.parametrize(
    "url",
    [
        "https://id.market.example/.well-known/jwks.json",
        "http://127.0.0.1:8080/jwks",
        "http://[::1]/k",
        "http://localhost/k",
    ],
)
def test_https_and_loopback_jwks_urls_are_taken(url):
    settings = Settings.from_env(_env(jwks_url=url, jwt_secret=SECRET))
    assert (settings.jwks_url, settings.jwt_issuer, settings.jwt_audience) == (url, ISSUER, AUDIENCE)


def test_jwks_file_settings(tmp_path: Path):
    path = tmp_path / "jwks.json"
    with pytest.raises(ConfigError, match="not a file"):
        Settings.from_env(_env(jwks_file=str(path), jwt_secret=SECRET))
    for text in ("{not json", "[]", '{"keys": {}}'):
        path.write_text(text)
        with pytest.raises(ConfigError, match="AFTERSALES_JWKS_FILE is not"):
            Settings.from_env(_env(jwks_file=str(path), jwt_secret=SECRET))
    path.write_text('{"keys": []}')
    assert Settings.from_env(_env(jwks_file=str(path), jwt_secret=SECRET)).jwks_file == path
    with pytest.raises(ConfigError, match="not both"):
        Settings.from_env(_env(jwks_file=str(path), jwks_url="https://id.market.example/k", jwt_secret=SECRET))


def test_with_a_jwks_the_shared_secret_may_be_left_out_turning_hs256_off():
    url = "https://id.market.example/k"
    assert Settings.from_env(_env(jwks_url=url)).jwt_secret is None
    assert Settings.from_env(_env(jwks_url=url, env="production")).jwt_secret is None
    assert Settings.from_env(_env(jwks_url=url), demo=True).jwt_secret == DEMO_SECRET
    # Without a JWKS a secret is still required; set, it is still held to production's rules.
    with pytest.raises(ConfigError, match="AFTERSALES_JWT_SECRET"):
        Settings.from_env({})
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings.from_env(_env(jwks_url=url, env="production", jwt_secret="short"))
    for timeout in ("0", "-1", "61", "soon", "nan"):
        with pytest.raises(ConfigError, match="AFTERSALES_JWKS_TIMEOUT"):
            Settings.from_env(_env(jwks_url=url, jwks_timeout=timeout))
    assert Settings.from_env(_env(jwks_url=url, jwks_timeout="1.5")).jwks_timeout == 1.5
