"""Envelope encryption of message bodies at rest, with rotatable key-encryption keys.

Each body gets its own random data key (AES-256-GCM); the data key is wrapped by the
active key-encryption key, whose id is stored alongside. Rotating means adding a new
key and making it active: old bodies still open with the key id they name, and
`python -m ops.keys rewrap` re-wraps their data keys under the active key so the old
key can then be removed from the ring.
"""

import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.settings import CryptoSettings

_NONCE = 12


class EnvelopeCipher:
    """Seals and opens texts; `aad` binds a ciphertext to its record (e.g. message id)."""

    def __init__(self, keys: dict[str, bytes], active_kid: str) -> None:
        if active_kid not in keys:
            raise ValueError("active key id is not in the key ring")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._active = active_kid

    @classmethod
    def from_settings(cls, settings: CryptoSettings) -> "EnvelopeCipher":
        """The cipher the settings configure."""
        return cls(settings.key_ring(), settings.messaging_encryption_active_key)

    def seal(self, plaintext: str, aad: str) -> dict[str, Any]:
        """Encrypt a text; the result is a plain dict fit for a document field."""
        data_key = AESGCM.generate_key(bit_length=256)
        key_nonce, body_nonce = os.urandom(_NONCE), os.urandom(_NONCE)
        wrapped = self._keys[self._active].encrypt(key_nonce, data_key, aad.encode())
        ciphertext = AESGCM(data_key).encrypt(body_nonce, plaintext.encode(), aad.encode())
        return {
            "kid": self._active,
            "key_nonce": key_nonce,
            "wrapped_key": wrapped,
            "nonce": body_nonce,
            "ciphertext": ciphertext,
        }

    def open(self, sealed: dict[str, Any], aad: str) -> str:
        """Decrypt what `seal` produced with the same aad."""
        kek = self._keys[sealed["kid"]]
        data_key = kek.decrypt(
            bytes(sealed["key_nonce"]), bytes(sealed["wrapped_key"]), aad.encode()
        )
        plain = AESGCM(data_key).decrypt(
            bytes(sealed["nonce"]), bytes(sealed["ciphertext"]), aad.encode()
        )
        return plain.decode()

    def needs_rewrap(self, sealed: dict[str, Any]) -> bool:
        """True when a sealed value still names a retired key."""
        return bool(sealed["kid"] != self._active)

    @property
    def active_kid(self) -> str:
        """The id of the key that wraps new data keys."""
        return self._active

    def rewrap(self, sealed: dict[str, Any], aad: str) -> dict[str, Any]:
        """The same sealed value with its data key wrapped by the active key.

        The body's ciphertext is kept as it is: only the small wrapped data key changes,
        so the key that wrapped it before can be retired afterwards.
        """
        if not self.needs_rewrap(sealed):
            return sealed
        data_key = self._keys[sealed["kid"]].decrypt(
            bytes(sealed["key_nonce"]), bytes(sealed["wrapped_key"]), aad.encode()
        )
        key_nonce = os.urandom(_NONCE)
        return {
            **sealed,
            "kid": self._active,
            "key_nonce": key_nonce,
            "wrapped_key": self._keys[self._active].encrypt(key_nonce, data_key, aad.encode()),
        }
