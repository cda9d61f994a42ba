"""Bearer-token verification and the typed caller every endpoint receives."""

import asyncio
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict

from shared.problems import Problem
from shared.settings import HMAC_ALGORITHMS, AuthSettings


class Role(StrEnum):
    """Who the caller is to the practice."""

    PROVIDER = "provider"
    CLIENT = "client"
    ADMIN = "admin"


class Caller(BaseModel):
    """The authenticated user behind a request."""

    model_config = ConfigDict(frozen=True)

    id: str
    role: Role
    practice_id: str
    practice_admin: bool = False
    # When the token stops being valid; long-lived responses (the live stream) end there.
    expires_at: datetime | None = None


class _Claims(BaseModel):
    sub: str
    role: Role
    practice_id: str
    practice_admin: bool = False
    exp: float


def unauthorized(detail: str) -> Problem:
    """401 with the challenge a bearer client expects."""
    return Problem(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"}
    )


class TokenVerifier:
    """Verifies JWTs: pinned algorithms, each with its own key, audience, optional issuer."""

    def __init__(self, settings: AuthSettings) -> None:
        self._algorithms = list(settings.messaging_jwt_algorithms)
        self._audience = settings.messaging_jwt_audience
        self._issuer = settings.messaging_jwt_issuer
        self._secret = settings.messaging_jwt_secret
        self._jwks = (
            jwt.PyJWKClient(settings.messaging_jwks_url) if settings.messaging_jwks_url else None
        )

    async def _key(self, token: str, algorithm: str) -> Any:
        """The key for the token's algorithm: HMAC only with the secret, others only by JWKS."""
        if algorithm in HMAC_ALGORITHMS:
            if self._secret is None:
                raise jwt.InvalidAlgorithmError("no secret for an HMAC algorithm")
            return self._secret.get_secret_value()
        if self._jwks is None:
            raise jwt.InvalidAlgorithmError("no JWKS for an asymmetric algorithm")
        # PyJWKClient fetches and caches over blocking HTTP: keep it off the event loop.
        # The PyJWK itself (not its bare key) binds verification to the key's own algorithm.
        return await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)

    async def _claims(self, token: str) -> dict[str, Any]:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise jwt.InvalidAlgorithmError("algorithm not accepted")
        required = ["exp", "sub", "aud"] + (["iss"] if self._issuer else [])
        claims: dict[str, Any] = jwt.decode(
            token,
            await self._key(token, algorithm),
            algorithms=[algorithm],
            audience=self._audience,
            issuer=self._issuer,
            options={"require": required},
        )
        return claims

    async def verify(self, token: str) -> Caller:
        """The caller a token proves, or a 401 problem (never a 500, whatever the token)."""
        try:
            parsed = _Claims.model_validate(await self._claims(token))
        # TypeError/ValueError: a key of one type offered a token of another must still be 401.
        except (jwt.PyJWTError, TypeError, ValueError) as error:
            raise unauthorized("The bearer token is missing, expired or invalid.") from error
        return Caller(
            id=parsed.sub,
            role=parsed.role,
            practice_id=parsed.practice_id,
            practice_admin=parsed.practice_admin,
            expires_at=datetime.fromtimestamp(parsed.exp, UTC),
        )


_bearer = HTTPBearer(auto_error=False)


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """FastAPI dependency: the verified caller of this request."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("A bearer token is required.")
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(credentials.credentials)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require_role(caller: Caller, *roles: Role) -> None:
    """Refuse callers whose role may not use an endpoint."""
    if caller.role not in roles:
        raise Problem(403, "forbidden_role", "Forbidden", "This endpoint is not available to you.")
