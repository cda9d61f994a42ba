"""Envelope encryption: round trip, binding to the record, key rotation."""

import os

import pytest
from cryptography.exceptions import InvalidTag

from shared.crypto import EnvelopeCipher

OLD, NEW = os.urandom(32), os.urandom(32)


def test_sealed_text_opens_to_the_same_text() -> None:
    cipher = EnvelopeCipher({"k1": OLD}, "k1")
    text = "Héllo <b>there</b>\n\nsecond line 🙂"

    sealed = cipher.seal(text, aad="m1")

    assert text.encode() not in sealed["ciphertext"]
    assert cipher.open(sealed, aad="m1") == text


def test_ciphertext_cannot_be_moved_to_another_record() -> None:
    cipher = EnvelopeCipher({"k1": OLD}, "k1")
    sealed = cipher.seal("secret", aad="m1")

    with pytest.raises(InvalidTag):
        cipher.open(sealed, aad="m2")


def test_rotated_ring_still_opens_old_bodies_and_seals_with_the_new_key() -> None:
    before = EnvelopeCipher({"k1": OLD}, "k1").seal("old body", aad="m1")
    rotated = EnvelopeCipher({"k1": OLD, "k2": NEW}, "k2")

    after = rotated.seal("new body", aad="m2")

    assert rotated.open(before, aad="m1") == "old body"
    assert after["kid"] == "k2"
    assert rotated.needs_rewrap(before) and not rotated.needs_rewrap(after)


def test_rewrapping_moves_the_data_key_to_the_active_key_and_keeps_the_ciphertext() -> None:
    before = EnvelopeCipher({"k1": OLD}, "k1").seal("old body", aad="m1")
    rotated = EnvelopeCipher({"k1": OLD, "k2": NEW}, "k2")

    after = rotated.rewrap(before, aad="m1")

    assert after["kid"] == "k2" and after["ciphertext"] == before["ciphertext"]
    assert EnvelopeCipher({"k2": NEW}, "k2").open(after, aad="m1") == "old body"
    assert rotated.rewrap(after, aad="m1") is after
    with pytest.raises(InvalidTag):
        rotated.rewrap(before, aad="m2")
