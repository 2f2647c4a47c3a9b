"""Per-entry MACs: HMAC-SHA256 under the deployment's MAC key, of the entry's leaf hash.

The leaf hash includes the entry's index, so a MAC binds an entry's content to its position:
anyone without the key can neither forge an entry, nor move one, nor renumber the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache

_BLOCK = 64  # SHA-256 block size


@lru_cache(maxsize=16)
def mac_function(key: bytes) -> Callable[[bytes], bytes]:
    """HMAC-SHA256 with ``key`` (RFC 2104), with the padded key states computed once."""
    inner, outer = pads(key)

    def mac(message: bytes) -> bytes:
        i = inner.copy()
        i.update(message)
        o = outer.copy()
        o.update(i.digest())
        return o.digest()

    return mac


def pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """The SHA-256 states after absorbing key XOR ipad and key XOR opad (RFC 2104)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def state_mac(key: bytes, size: int, frontier: bytes) -> bytes:
    """The MAC of the log state (size and packed frontier): tree heads grow only from it."""
    return mac_function(key)(b"manafidh audit state v1\n" + size.to_bytes(8, "big") + frontier)
