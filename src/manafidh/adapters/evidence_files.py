"""Inspection photos on disk, content-addressed: <root>/<ab>/<cd>/<sha256>.

A photo is written to a temporary file and renamed into place, so a reader never sees half a
photo; writing the same bytes twice keeps one file. A photo stored by a result whose database
transaction then failed stays as an unreferenced file: harmless, and the same bytes sent again
find it in place.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from manafidh.domain.evidence import sha256_of

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class FileEvidenceStore:
    """Photos kept under a directory, named by their SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (once) and return its SHA-256."""
        digest = sha256_of(data)
        target = self._path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes | None:
        """The stored bytes, or None when absent (or the name is not a digest)."""
        try:
            return self._path(sha256).read_bytes()
        except (ValueError, FileNotFoundError):
            return None
