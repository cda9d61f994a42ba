"""Production token verification: RS256 against a JWKS served over HTTP."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.auth import Role, TokenVerifier
from shared.problems import Problem
from shared.settings import AuthSettings

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


def signed(key: rsa.RSAPrivateKey, **claims: object) -> str:
    base = {
        "sub": "p1",
        "role": "client",
        "practice_id": "pr1",
        "aud": "messaging",
        "exp": int(time.time()) + 60,
    }
    return jwt.encode({**base, **claims}, key, algorithm="RS256", headers={"kid": "k1"})


def verifier(jwks_url: str) -> TokenVerifier:
    return TokenVerifier(
        AuthSettings(messaging_jwks_url=jwks_url, messaging_jwt_algorithms=["RS256"])
    )


async def test_token_signed_by_a_published_key_is_accepted(jwks_url: str) -> None:
    caller = await verifier(jwks_url).verify(signed(KEY))

    assert (caller.id, caller.role) == ("p1", Role.CLIENT)


async def test_token_signed_by_another_key_is_refused(jwks_url: str) -> None:
    with pytest.raises(Problem) as refused:
        await verifier(jwks_url).verify(signed(OTHER))

    assert refused.value.status == 401


async def test_hs256_token_is_refused_when_only_rs256_is_pinned(jwks_url: str) -> None:
    forged = jwt.encode(
        {"sub": "p1", "aud": "messaging", "exp": int(time.time()) + 60},
        "x" * 40,
        algorithm="HS256",
        headers={"kid": "k1"},
    )

    with pytest.raises(Problem):
        await verifier(jwks_url).verify(forged)
