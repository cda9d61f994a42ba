"""Bearer-token verification and the typed caller every endpoint receives."""

import asyncio
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.problems import Problem
from shared.settings import AuthSettings


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


class _Claims(BaseModel):
    sub: str
    role: Role
    practice_id: str
    practice_admin: bool = False


def unauthorized(detail: str) -> Problem:
    """401 with the challenge a bearer client expects."""
    return Problem(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"}
    )


class TokenVerifier:
    """Verifies JWTs: pinned algorithms, audience `messaging`, required expiry."""

    def __init__(self, settings: AuthSettings) -> None:
        self._algorithms = settings.messaging_jwt_algorithms
        self._audience = settings.messaging_jwt_audience
        self._secret = settings.messaging_jwt_secret
        self._jwks = (
            jwt.PyJWKClient(settings.messaging_jwks_url) if settings.messaging_jwks_url else None
        )

    async def _key(self, token: str) -> Any:
        if self._jwks is not None:
            # PyJWKClient fetches and caches over blocking HTTP: keep it off the event loop.
            signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            return signing_key.key
        assert self._secret is not None
        return self._secret.get_secret_value()

    async def verify(self, token: str) -> Caller:
        """The caller a token proves, or a 401 problem."""
        try:
            claims = jwt.decode(
                token,
                await self._key(token),
                algorithms=self._algorithms,
                audience=self._audience,
                options={"require": ["exp", "sub", "aud"]},
            )
            parsed = _Claims.model_validate(claims)
        except (jwt.PyJWTError, ValidationError) as error:
            raise unauthorized("The bearer token is missing, expired or invalid.") from error
        return Caller(
            id=parsed.sub,
            role=parsed.role,
            practice_id=parsed.practice_id,
            practice_admin=parsed.practice_admin,
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
