"""Bearer JWTs minted by the marketplace: who is calling, and for which shop.

Two kinds, each verified only its own way, whatever a token's header says:
- HS256 with the shared `AFTERSALES_JWT_SECRET` (the demo, tests, `aftersales token`, and a
  marketplace that signs its own tokens);
- RS256 or ES256 signed by the marketplace's IdP, with the key its JWKS names by the token's
  `kid` (api/jwks.py), and the `iss` and `aud` the settings name.
The `alg` header only picks which of the two is tried: it never turns a public key into an HMAC
secret (the key's type must be the algorithm's own) and `none` or any other algorithm is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from ..config import Settings
from ..domain.errors import Unauthenticated
from ..domain.roles import TOKEN_ROLES
from ..services.context import Actor
from . import jwks

MAX_ID = 64
# Where a request's scope keeps (token, actor) once its token is checked.
CHECKED_TOKEN = "checked_token"
# The IdP's algorithms and the JWK key type (`kty`) each is verified with.
_KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}


def mint(
    secret: str,
    *,
    sub: str,
    role: str,
    now: datetime,
    merchant_id: str | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    claims: dict[str, Any] = {"sub": sub, "role": role, "exp": int((now + ttl).timestamp())}
    if merchant_id:
        claims["merchant_id"] = merchant_id
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass(frozen=True)
class Verifier:
    """One runtime's way of checking tokens (and its cache of the IdP's keys)."""

    settings: Settings
    keys: jwks.KeySet | None

    @classmethod
    def build(cls, settings: Settings) -> Verifier:
        keys = None
        if settings.jwks_url:
            keys = jwks.KeySet(jwks.from_url(settings.jwks_url, settings.jwks_timeout), settings.jwks_url)
        elif settings.jwks_file:
            keys = jwks.KeySet(jwks.from_file(settings.jwks_file), str(settings.jwks_file))
        return cls(settings, keys)

    def actor(self, token: str, *, may_fetch: bool = True) -> Actor:
        """The caller a token names; `Unauthenticated` if it names none. `may_fetch=False` raises
        `jwks.FetchNeeded` instead of fetching the IdP's keys (on the event loop)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        alg = header.get("alg")
        if alg == "HS256":
            if self.settings.jwt_secret is None:
                raise Unauthenticated("HS256 tokens are not accepted here: tokens come from the marketplace's IdP")
            return actor_from_claims(_decode(token, self.settings.jwt_secret, "HS256"))
        if alg not in _KEY_TYPES:
            raise Unauthenticated(f"invalid token: the algorithm {str(alg)[:16]!r} is not accepted")
        if self.keys is None:
            raise Unauthenticated(f"{alg} tokens are not accepted here: no JWKS is configured")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated(f"an {alg} token needs a `kid` header naming its key")
        key = self.keys.get(kid, may_fetch=may_fetch)
        if key is None:
            raise Unauthenticated("invalid token: the marketplace's JWKS has no key with this kid")
        public = _public_key(key, alg)
        if public is None:
            raise Unauthenticated(f"invalid token: key {kid[:64]!r} is not an {alg} key")
        claims = _decode(token, public, alg, issuer=self.settings.jwt_issuer, audience=self.settings.jwt_audience)
        return actor_from_claims(claims)


def _public_key(key: jwt.PyJWK, alg: str) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey | None:
    """The JWK's public key if it is one for `alg` (its `kty`, its `alg` if it names one, and for
    ES256 the P-256 curve), else None."""
    if key.key_type != _KEY_TYPES[alg] or key.algorithm_name != alg:
        return None
    public = key.key
    if isinstance(public, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        public = public.public_key()  # (a JWKS should hold public keys only; its private half is not needed)
    if alg == "RS256" and isinstance(public, rsa.RSAPublicKey):
        return public
    if alg == "ES256" and isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        return public
    return None


def _decode(token: str, key: Any, alg: str, *, issuer: str | None = None, audience: str | None = None) -> Any:
    required = ["exp", "sub", "role", *(["iss", "aud"] if issuer else [])]
    try:
        return jwt.decode(token, key, algorithms=[alg], issuer=issuer, audience=audience, options={"require": required})
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None


def verifier(state: State) -> Verifier:
    """The app's verifier for its current runtime, built again when the runtime is swapped (tests)."""
    current: Verifier | None = getattr(state, "verifier", None)
    if current is None or current.settings is not state.runtime.settings:
        current = state.verifier = Verifier.build(state.runtime.settings)
    return current


def actor_from_claims(claims: dict[str, Any]) -> Actor:
    role, sub = claims.get("role"), claims.get("sub")
    if role not in TOKEN_ROLES or not isinstance(sub, str) or not sub:
        raise Unauthenticated("token has no valid role or sub")
    merchant_id = claims.get("merchant_id")
    if role == "merchant" and (not isinstance(merchant_id, str) or not merchant_id):
        raise Unauthenticated("a merchant token needs merchant_id")
    if len(sub) > MAX_ID or (role == "merchant" and len(str(merchant_id)) > MAX_ID):
        # Who acted is stored with every event and row (64 characters): a token naming someone the
        # store cannot hold is no valid caller.
        raise Unauthenticated(f"token sub and merchant_id are at most {MAX_ID} characters")
    return Actor(role=role, id=sub, merchant_id=merchant_id if role == "merchant" else None)


# Declared as the OpenAPI security scheme (Swagger's *Authorize*); auto_error=False because a
# missing token is our own 401 problem, not FastAPI's default 403.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description=(
        "A JWT with `sub`, `role`, `exp` (and `merchant_id` for merchants): HS256 with the shared "
        "secret (`aftersales token`), or RS256/ES256 from the marketplace's IdP (its JWKS, `iss`, `aud`)."
    ),
)


async def verify(tokens: Verifier, token: str) -> Actor:
    """The caller `token` names, checked on the event loop with the keys at hand; one whose check
    needs the IdP's keys fetched first goes to a worker thread, so the fetch holds up only the
    requests that wait for it."""
    try:
        return tokens.actor(token, may_fetch=False)
    except jwks.FetchNeeded:
        return await run_in_threadpool(tokens.actor, token)


async def current_actor(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> Actor:
    if credentials is None or not credentials.credentials.strip():
        raise Unauthenticated("missing bearer token")
    token = credentials.credentials.strip()
    # The rate limiter checked this very token already (api/rate_limits.py): not twice.
    checked = request.scope.get("state", {}).get(CHECKED_TOKEN)
    actor = (
        checked[1] if checked is not None and checked[0] == token else await verify(verifier(request.app.state), token)
    )
    request.state.actor = actor  # who it was, for the request's log line (api/request_context.py)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
