"""Mint a development token: python -m shared.devtoken --role provider --sub p1 --practice pr1."""

import argparse
import os
import sys
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


def main() -> int:
    """Print a token signed with MESSAGING_JWT_SECRET."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", choices=["provider", "client", "admin"], required=True)
    parser.add_argument("--sub", required=True, help="user id")
    parser.add_argument("--practice", required=True, help="practice id")
    parser.add_argument("--admin", action="store_true", help="practice admin (providers)")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until expiry")
    args = parser.parse_args()
    secret = os.environ.get("MESSAGING_JWT_SECRET")
    if not secret:
        print("MESSAGING_JWT_SECRET is not set", file=sys.stderr)
        return 2
    print(
        mint(
            secret,
            sub=args.sub,
            role=args.role,
            practice_id=args.practice,
            admin=args.admin,
            ttl=args.ttl,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
