"""Token verification: pinned algorithms, audience, expiry, typed caller."""

import time

import jwt
import pytest
from pydantic import ValidationError

from shared.auth import Role, TokenVerifier
from shared.problems import Problem
from shared.settings import AuthSettings
from tests.support import JWT_SECRET, token


def verifier() -> TokenVerifier:
    return TokenVerifier(AuthSettings(messaging_jwt_secret=JWT_SECRET))


def claims(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "sub": "p1",
        "role": "provider",
        "practice_id": "pr1",
        "aud": "messaging",
        "exp": int(time.time()) + 60,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


async def test_valid_token_gives_a_typed_caller() -> None:
    caller = await verifier().verify(token("p1", "provider", "pr1", admin=True))

    assert (caller.id, caller.role, caller.practice_id, caller.practice_admin) == (
        "p1",
        Role.PROVIDER,
        "pr1",
        True,
    )


@pytest.mark.parametrize(
    "bad",
    [
        claims(exp=int(time.time()) - 10),
        claims(aud="other"),
        claims(exp=None),
        claims(role="superuser"),
        claims(practice_id=None),
    ],
    ids=["expired", "wrong-audience", "no-expiry", "unknown-role", "no-practice"],
)
async def test_invalid_claims_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(Problem) as refused:
        await verifier().verify(jwt.encode(bad, JWT_SECRET, algorithm="HS256"))

    assert refused.value.status == 401


async def test_token_signed_with_another_secret_is_refused() -> None:
    forged = jwt.encode(claims(), "another-secret-that-is-long-enough-123456", algorithm="HS256")

    with pytest.raises(Problem):
        await verifier().verify(forged)


async def test_unsigned_token_is_refused() -> None:
    unsigned = jwt.encode(claims(), key=None, algorithm="none")

    with pytest.raises(Problem):
        await verifier().verify(unsigned)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_algorithm_not_pinned_is_refused() -> None:
    hs512 = jwt.encode(claims(), JWT_SECRET, algorithm="HS512")

    with pytest.raises(Problem):
        await verifier().verify(hs512)


def test_short_secret_is_refused_at_start() -> None:
    with pytest.raises(ValidationError):
        AuthSettings(messaging_jwt_secret="too-short")


def test_settings_need_a_key_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESSAGING_JWT_SECRET", raising=False)
    monkeypatch.delenv("MESSAGING_JWKS_URL", raising=False)

    with pytest.raises(ValidationError):
        AuthSettings()


def issuer_verifier() -> TokenVerifier:
    return TokenVerifier(
        AuthSettings(messaging_jwt_secret=JWT_SECRET, messaging_jwt_issuer="https://idp.test")
    )


async def test_token_from_the_configured_issuer_is_accepted() -> None:
    good = jwt.encode(claims(iss="https://idp.test"), JWT_SECRET, algorithm="HS256")

    caller = await issuer_verifier().verify(good)

    assert caller.id == "p1"


@pytest.mark.parametrize(
    "bad",
    [claims(), claims(iss="https://evil.test")],
    ids=["no-issuer", "other-issuer"],
)
async def test_token_from_another_issuer_is_refused_when_one_is_configured(
    bad: dict[str, object],
) -> None:
    with pytest.raises(Problem) as refused:
        await issuer_verifier().verify(jwt.encode(bad, JWT_SECRET, algorithm="HS256"))

    assert refused.value.status == 401


async def test_caller_carries_the_token_expiry() -> None:
    exp = int(time.time()) + 90

    caller = await verifier().verify(jwt.encode(claims(exp=exp), JWT_SECRET, algorithm="HS256"))

    assert caller.expires_at is not None
    assert int(caller.expires_at.timestamp()) == exp


def test_unknown_algorithm_is_refused_at_start() -> None:
    with pytest.raises(ValidationError):
        AuthSettings(messaging_jwt_secret=JWT_SECRET, messaging_jwt_algorithms=["none"])
