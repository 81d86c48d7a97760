"""Encryption of OAuth tokens at rest with MultiFernet (newest key first, rotation-ready)."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class KeyError_(Exception):
    """The configured key cannot be used or cannot decrypt a stored token."""


class TokenCipher:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise KeyError_("TOKEN_ENCRYPTION_KEY: no key given")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except ValueError:
            raise KeyError_("TOKEN_ENCRYPTION_KEY: not a valid Fernet key") from None

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise KeyError_("a stored token cannot be decrypted with the configured keys") from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt with the newest key (old keys must still be listed)."""
        return self._fernet.rotate(ciphertext.encode()).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()


def new_token() -> str:
    """An unguessable URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class StateSigner:
    """Signs OAuth `state` with a key derived from the token key (separate purpose, same secret).

    Fernet gives authenticated encryption with a timestamp, so `verify` checks integrity
    and age in one step and the state reveals nothing about the link it names.
    """

    def __init__(self, keys: str) -> None:
        import base64

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        derived = []
        for key in [k.strip() for k in keys.split(",") if k.strip()]:
            raw = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=b"calbot oauth state"
            ).derive(key.encode())
            derived.append(Fernet(base64.urlsafe_b64encode(raw)))
        if not derived:
            raise KeyError_("TOKEN_ENCRYPTION_KEY: no key given")
        self._fernet = MultiFernet(derived)

    def sign(self, payload: str) -> str:
        return self._fernet.encrypt(payload.encode()).decode()

    def verify(self, token: str, max_age_seconds: int) -> str | None:
        try:
            raw = token.encode()
            # base64 decoding ignores anything after the padding, so `state + "x"` would
            # decrypt to the same payload: only the exact token we issued is accepted.
            if base64.urlsafe_b64encode(base64.urlsafe_b64decode(raw)) != raw:
                return None
            return self._fernet.decrypt(raw, ttl=max_age_seconds).decode()
        except (InvalidToken, ValueError, TypeError):
            return None
