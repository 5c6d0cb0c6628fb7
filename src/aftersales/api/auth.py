"""Bearer JWTs (HS256) minted by the marketplace: who is calling, and for which shop."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..domain.errors import Unauthenticated
from ..domain.roles import TOKEN_ROLES
from ..services.context import Actor

MAX_ID = 64


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


def actor_from_token(token: str, secret: str) -> Actor:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "role"]})
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None
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
    description="An HS256 JWT with `sub`, `role`, `exp` (and `merchant_id` for merchants): `aftersales token`.",
)


def current_actor(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> Actor:
    if credentials is None or not credentials.credentials.strip():
        raise Unauthenticated("missing bearer token")
    actor = actor_from_token(credentials.credentials.strip(), request.app.state.runtime.settings.jwt_secret)
    request.state.actor = actor  # who it was, for the request's log line (api/request_context.py)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
