"""An audit entry, its canonical encoding and its leaf hash (docs/audit-format.md).

The leaf input is the canonical JSON of the envelope: the entry's index, time, actor, role,
crossing, action, subject and the SHA-256 of its canonical payload, plus the format version
``"v": 1``. The payload itself is not in the leaf, only its digest, so a proof can be checked
from the envelope and the digest alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from manafidh.domain.audit.canonical import canonical_json
from manafidh.domain.audit.merkle import leaf_hash

FORMAT_VERSION = 1
# The envelope's keys in canonical (sorted) order; %-formatted for speed, checked by a unit test
# against canonical_json() of the same dict.
_ENVELOPE = (
    '{"action":%s,"actor":%s,"at":%s,"crossing":%s,"index":%d,'
    '"payload_digest":"%s","role":%s,"subject":%s,"v":1}'
)


def envelope(
    index: int,
    at: str,
    actor: str,
    role: str,
    crossing: str,
    action: str,
    subject: str,
    payload_digest_hex: str,
) -> bytes:
    """The canonical encoding of an entry's envelope: the input of its leaf hash."""
    e = encode_basestring
    return (
        _ENVELOPE
        % (e(action), e(actor), e(at), e(crossing), index, payload_digest_hex, e(role), e(subject))
    ).encode()


def payload_digest(payload_text: str) -> bytes:
    """SHA-256 of a canonical payload's UTF-8 bytes."""
    return hashlib.sha256(payload_text.encode()).digest()


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action: who, in which role, where, what, on which record, when."""

    index: int
    at: str  # canonical UTC instant, see canonical.instant_text
    actor: str
    role: str
    crossing: str  # "" for actions that belong to no crossing
    action: str
    subject: str  # e.g. "declaration:<id>", "payment:<bank transaction id>", "user:<id>"
    payload: str  # canonical JSON text

    def encode(self) -> bytes:
        """The canonical envelope bytes."""
        return envelope(
            self.index,
            self.at,
            self.actor,
            self.role,
            self.crossing,
            self.action,
            self.subject,
            payload_digest(self.payload).hex(),
        )

    def leaf(self) -> bytes:
        """The RFC 9162 leaf hash of the entry."""
        return leaf_hash(self.encode())

    def payload_dict(self) -> dict[str, Any]:
        """The payload as JSON values."""
        value: dict[str, Any] = json.loads(self.payload)
        return value

    def as_json(self) -> dict[str, Any]:
        """The entry as a JSON object with the payload parsed (what proofs and the API show)."""
        return {
            "index": self.index,
            "at": self.at,
            "actor": self.actor,
            "role": self.role,
            "crossing": self.crossing,
            "action": self.action,
            "subject": self.subject,
            "payload": self.payload_dict(),
        }


def envelope_dict(entry: AuditEntry) -> dict[str, Any]:
    """The envelope as a dict (the slow, obviously canonical form used to check envelope())."""
    return {
        "v": FORMAT_VERSION,
        "index": entry.index,
        "at": entry.at,
        "actor": entry.actor,
        "role": entry.role,
        "crossing": entry.crossing,
        "action": entry.action,
        "subject": entry.subject,
        "payload_digest": payload_digest(entry.payload).hex(),
    }


def slow_encode(entry: AuditEntry) -> bytes:
    """canonical_json of the envelope dict (equal to AuditEntry.encode, but slower)."""
    return canonical_json(envelope_dict(entry)).encode()
