"""Production token verification: RS256 and ES256 against a JWKS served over HTTP."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import ValidationError

from services.blocking.app import create_app
from shared.auth import Role, TokenVerifier
from shared.problems import Problem
from shared.settings import AuthSettings
from tests.blocking.conftest import blocking_settings
from tests.support import JWT_SECRET, running

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    ec_jwk = json.loads(ECAlgorithm.to_jwk(EC_KEY.public_key()))
    keys = [
        {**rsa_jwk, "kid": "k1", "use": "sig", "alg": "RS256"},
        {**ec_jwk, "kid": "k2", "use": "sig", "alg": "ES256"},
    ]
    body = json.dumps({"keys": keys}).encode()

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


def claims(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "sub": "p1",
        "role": "client",
        "practice_id": "pr1",
        "aud": "messaging",
        "exp": int(time.time()) + 60,
    }
    return {**base, **overrides}


def signed(key: rsa.RSAPrivateKey, **overrides: object) -> str:
    return jwt.encode(claims(**overrides), key, algorithm="RS256", headers={"kid": "k1"})


def jwks_only(jwks_url: str, **overrides: object) -> AuthSettings:
    """Production mode: a JWKS URL and no shared secret (even if the environment has one)."""
    return AuthSettings(
        messaging_jwks_url=jwks_url,
        messaging_jwt_secret=None,
        **overrides,  # type: ignore[arg-type]
    )


def mixed(jwks_url: str) -> AuthSettings:
    """Both key sources and a mixed HS/RS algorithm list."""
    return AuthSettings(
        messaging_jwks_url=jwks_url,
        messaging_jwt_secret=JWT_SECRET,
        messaging_jwt_algorithms=["HS256", "RS256"],
    )


def verifier(jwks_url: str) -> TokenVerifier:
    return TokenVerifier(jwks_only(jwks_url, messaging_jwt_algorithms=["RS256"]))


def public_pem() -> bytes:
    return KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256_keyed_with_public_key() -> str:
    """The classic confusion attack: HMAC keyed with the published RSA public key.

    Built by hand, since PyJWT refuses to sign HMAC with a PEM key.
    """
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = _b64(json.dumps(claims()).encode())
    signature = hmac.new(public_pem(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


async def test_token_signed_by_a_published_key_is_accepted(jwks_url: str) -> None:
    caller = await verifier(jwks_url).verify(signed(KEY))

    assert (caller.id, caller.role) == ("p1", Role.CLIENT)


async def test_token_signed_by_another_key_is_refused(jwks_url: str) -> None:
    with pytest.raises(Problem) as refused:
        await verifier(jwks_url).verify(signed(OTHER))

    assert refused.value.status == 401


async def test_hs256_token_is_refused_when_only_rs256_is_pinned(jwks_url: str) -> None:
    # Complete claims: only the algorithm can be the reason it is refused.
    forged = jwt.encode(claims(), "x" * 40, algorithm="HS256", headers={"kid": "k1"})

    with pytest.raises(Problem) as refused:
        await verifier(jwks_url).verify(forged)

    assert refused.value.status == 401


def test_jwks_mode_defaults_to_asymmetric_algorithms(jwks_url: str) -> None:
    assert jwks_only(jwks_url).messaging_jwt_algorithms == ["RS256", "ES256"]


def test_hs256_without_a_secret_is_refused_at_start(jwks_url: str) -> None:
    with pytest.raises(ValidationError):
        jwks_only(jwks_url, messaging_jwt_algorithms=["HS256"])


def test_asymmetric_algorithm_without_a_jwks_url_is_refused_at_start() -> None:
    with pytest.raises(ValidationError):
        AuthSettings(messaging_jwt_secret=JWT_SECRET, messaging_jwt_algorithms=["HS256", "RS256"])


async def test_es256_token_is_accepted_by_default_in_jwks_mode(jwks_url: str) -> None:
    token = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "k2"})

    caller = await TokenVerifier(jwks_only(jwks_url)).verify(token)

    assert caller.id == "p1"


async def test_hs256_token_is_refused_by_default_in_jwks_mode(jwks_url: str) -> None:
    forged = jwt.encode(claims(), JWT_SECRET, algorithm="HS256", headers={"kid": "k1"})

    with pytest.raises(Problem) as refused:
        await TokenVerifier(jwks_only(jwks_url)).verify(forged)

    assert refused.value.status == 401


async def test_mixed_list_accepts_each_algorithm_with_its_own_key(jwks_url: str) -> None:
    check = TokenVerifier(mixed(jwks_url))

    by_secret = await check.verify(jwt.encode(claims(sub="s"), JWT_SECRET, algorithm="HS256"))
    by_jwks = await check.verify(signed(KEY, sub="j"))

    assert (by_secret.id, by_jwks.id) == ("s", "j")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    "forge",
    [
        hs256_keyed_with_public_key,
        lambda: jwt.encode(claims(), "y" * 40, algorithm="HS256", headers={"kid": "k1"}),
        lambda: signed(OTHER),
        lambda: jwt.encode(claims(), OTHER, algorithm="RS256", headers={"kid": "nope"}),
        lambda: jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "k2"}),
        # RS256 in the header, but the kid names the EC key.
        lambda: jwt.encode(claims(), KEY, algorithm="RS256", headers={"kid": "k2"}),
        lambda: jwt.encode(claims(), key=None, algorithm="none"),
        lambda: signed(KEY)[:-4] + "AAAA",
        lambda: "not.a.jwt",
    ],
    ids=[
        "hs256-keyed-with-public-key",
        "hs256-wrong-secret",
        "rs256-other-key",
        "rs256-unknown-kid",
        "es256-not-configured",
        "rs256-kid-of-ec-key",
        "unsigned",
        "bad-signature",
        "garbage",
    ],
)
async def test_forged_token_is_refused_with_a_mixed_algorithm_list(
    jwks_url: str, forge: Callable[[], str]
) -> None:
    with pytest.raises(Problem) as refused:
        await TokenVerifier(mixed(jwks_url)).verify(forge())

    assert refused.value.status == 401


@pytest.fixture(scope="module")
async def mixed_service(jwks_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A real service (blocking) configured with both key sources and a mixed list."""
    settings = blocking_settings(
        messaging_jwks_url=jwks_url, messaging_jwt_algorithms=["HS256", "RS256"]
    )
    async with running(create_app(settings)) as http:
        yield http


@pytest.mark.parametrize(
    "forge",
    [
        hs256_keyed_with_public_key,
        lambda: jwt.encode(claims(), key=None, algorithm="none"),
        lambda: signed(OTHER),
    ],
    ids=["hs256-keyed-with-public-key", "unsigned", "rs256-other-key"],
)
async def test_service_answers_401_problem_to_a_forged_token(
    mixed_service: httpx.AsyncClient, forge: Callable[[], str]
) -> None:
    response = await mixed_service.get("/v1/blocks", headers={"Authorization": f"Bearer {forge()}"})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"
