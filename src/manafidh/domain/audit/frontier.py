"""The right frontier of a Merkle tree: the roots of its complete subtrees, largest first.

A tree of ``size`` leaves has one complete subtree per set bit of ``size``; keeping their roots
lets a log append a leaf in O(log n) and produce its RFC 9162 root at any time without reading
the earlier leaves (the "compact range" of Certificate Transparency implementations).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from manafidh.domain.audit.merkle import EMPTY_ROOT, node_hash

HASH_SIZE = 32


def append(frontier: list[bytes], size: int, leaf: bytes) -> None:
    """Add ``leaf`` as leaf number ``size`` (the tree had ``size`` leaves); updates in place."""
    node = leaf
    while size & 1:
        node = node_hash(frontier.pop(), node)
        size >>= 1
    frontier.append(node)


def extend(frontier: list[bytes], size: int, leaves: Iterable[bytes]) -> int:
    """Append many leaves; return the new size."""
    sha = hashlib.sha256
    for leaf in leaves:
        node, s = leaf, size
        while s & 1:
            node = sha(b"\x01" + frontier.pop() + node).digest()
            s >>= 1
        frontier.append(node)
        size += 1
    return size


def root(frontier: list[bytes]) -> bytes:
    """The RFC 9162 root of the tree the frontier describes."""
    if not frontier:
        return EMPTY_ROOT
    acc = frontier[-1]
    for left in reversed(frontier[:-1]):
        acc = node_hash(left, acc)
    return acc


def pack(frontier: list[bytes]) -> bytes:
    """The frontier as bytes (its hashes concatenated, largest subtree first)."""
    return b"".join(frontier)


def unpack(data: bytes, size: int) -> list[bytes]:
    """Read a packed frontier of a tree of ``size`` leaves; raises when the length is wrong."""
    if len(data) != HASH_SIZE * size.bit_count():
        raise ValueError(f"a frontier of a {size}-leaf tree has {size.bit_count()} hashes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
