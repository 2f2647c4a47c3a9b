"""The bank's confirmation callback: HMAC-SHA256 over the exact request body."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Manafidh-Signature"


def sign(secret: str, body: bytes) -> str:
    """The header value a bank sends: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the right signature of ``body`` (constant-time compare)."""
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())
