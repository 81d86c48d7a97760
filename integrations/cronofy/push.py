"""Cronofy push-notification signatures (``Cronofy-HMAC-SHA256``)."""

from __future__ import annotations

import base64
import hashlib
import hmac

HEADER = "Cronofy-HMAC-SHA256"


def sign(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(key=client secret, msg=raw body)), as Cronofy sends it."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_hmac(body: bytes, header_value: str | None, client_secret: str) -> bool:
    """True when any comma-separated signature in the header matches the body.

    Cronofy sends one signature per active client secret while a secret is rotated.
    """
    if not header_value or not client_secret:
        return False
    expected = sign(body, client_secret).encode("ascii")
    # Every candidate is compared so the time taken does not reveal which one matched.
    matched = False
    for candidate in header_value.split(","):
        candidate_bytes = candidate.strip().encode("utf-8", errors="replace")
        if candidate_bytes and hmac.compare_digest(candidate_bytes, expected):
            matched = True
    return matched
