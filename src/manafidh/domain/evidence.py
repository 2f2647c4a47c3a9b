"""What an inspector attaches to a result: photos (kept by their SHA-256) and document references.

A photo's type is read from its first bytes, never from the name or the type the browser sent:
only JPEG, PNG and WebP are kept, so a crossing's evidence store holds no executable or script.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from manafidh.domain.errors import ValidationFailed

# Signatures at the start of the file ("magic numbers") of the photo formats kept.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
MAX_PHOTOS = 8  # per inspection result: more is a mistake, not evidence
MAX_DOCUMENTS = 8
MAX_DOCUMENT_REFERENCE = 120
# A document reference is a number or code written on paper (a CMR, an invoice number, a
# laboratory report): letters of any script, digits and the usual separators, nothing else.
_REFERENCE = re.compile(r"^[\w][\w\s./:#()-]*$")


@dataclass(frozen=True)
class Photo:
    """A photo as received: its bytes and the name the inspector's device gave it."""

    data: bytes
    filename: str


@dataclass(frozen=True)
class Evidence:
    """One attachment of an inspection result, as stored."""

    declaration_id: str
    kind: str  # "photo" or "document"
    sha256: str | None
    media_type: str | None
    size_bytes: int | None
    filename: str
    document_reference: str | None
    recorded_by: str
    recorded_at: datetime


def photo_type(data: bytes) -> str | None:
    """The media type of a JPEG, PNG or WebP photo from its first bytes, else None."""
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def sha256_of(data: bytes) -> str:
    """The hex SHA-256 digest that names a photo in the store."""
    return hashlib.sha256(data).hexdigest()


def check_photos(photos: list[Photo], *, max_bytes: int) -> list[tuple[Photo, str]]:
    """Each photo with its media type; refuses empty, too large, too many, or not a photo."""
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed(f"at most {MAX_PHOTOS} photos per result", field="photos")
    checked: list[tuple[Photo, str]] = []
    for p in photos:
        if not p.data:
            raise ValidationFailed(f"photo {p.filename!r} is empty", field="photos")
        if len(p.data) > max_bytes:
            raise ValidationFailed(
                f"photo {p.filename!r} is larger than {max_bytes} bytes",
                field="photos",
                max_bytes=max_bytes,
            )
        media_type = photo_type(p.data)
        if media_type is None:
            raise ValidationFailed(
                f"{p.filename!r} is not a JPEG, PNG or WebP photo", field="photos"
            )
        checked.append((p, media_type))
    return checked


def check_document_references(references: list[str]) -> list[str]:
    """The non-blank references, trimmed; refuses too many, too long or odd characters."""
    kept = [r.strip() for r in references if r.strip()]
    if len(kept) > MAX_DOCUMENTS:
        raise ValidationFailed(f"at most {MAX_DOCUMENTS} document references", field="documents")
    for r in kept:
        if len(r) > MAX_DOCUMENT_REFERENCE or not _REFERENCE.match(r):
            raise ValidationFailed(f"document reference {r[:40]!r} is not valid", field="documents")
    return kept
