"""Signed tree heads (STH): the deployment's Ed25519 signature over a log size and root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from manafidh.domain.audit import frontier as fr

STH_PREFIX = "manafidh-sth-v1"


def sth_message(tree_size: int, root_hash: bytes, timestamp: str) -> bytes:
    """The exact bytes an STH signature covers (docs/audit-format.md)."""
    return f"{STH_PREFIX}\n{tree_size}\n{root_hash.hex()}\n{timestamp}\n".encode()


@dataclass(frozen=True)
class TreeHead:
    """A signed statement: the log had ``tree_size`` entries with this root at ``timestamp``."""

    tree_size: int
    root_hash: bytes
    timestamp: str  # canonical UTC instant
    signature: bytes
    key_id: str  # SHA-256 of the raw Ed25519 public key, hex

    def message(self) -> bytes:
        """The signed bytes."""
        return sth_message(self.tree_size, self.root_hash, self.timestamp)

    def as_json(self) -> dict[str, Any]:
        """The tree head as exported for witnesses (hashes and signature in hex)."""
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "signature": self.signature.hex(),
            "key_id": self.key_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TreeHead:
        """Read an exported tree head; raises ValueError on a malformed one."""
        try:
            return cls(
                tree_size=int(data["tree_size"]),
                root_hash=bytes.fromhex(data["root_hash"]),
                timestamp=str(data["timestamp"]),
                signature=bytes.fromhex(data["signature"]),
                key_id=str(data.get("key_id", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed tree head: {exc}") from None


@dataclass(frozen=True)
class LogState:
    """The log's size and Merkle frontier as the database holds them."""

    size: int
    frontier: tuple[bytes, ...] = ()
    mac: bytes = b""  # state_mac(key, size, packed frontier), written with every append
    packed: bytes = b""  # the frontier as stored (checked against ``mac``)

    def root(self) -> bytes:
        """The RFC 9162 root of the log at ``size``."""
        return fr.root(list(self.frontier))
