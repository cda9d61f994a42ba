"""Development tokens (HS256 with MESSAGING_JWT_SECRET); the command is `msgctl token`."""

import time

import jwt


def mint(
    secret: str, *, sub: str, role: str, practice_id: str, admin: bool = False, ttl: int = 3600
) -> str:
    """An HS256 token with the claims the services expect."""
    now = int(time.time())
    claims = {
        "sub": sub,
        "role": role,
        "practice_id": practice_id,
        "practice_admin": admin,
        "aud": "messaging",
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")
