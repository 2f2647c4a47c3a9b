"""The deployment's audit key: Ed25519 for tree heads, and the MAC key derived from it (HKDF).

One secret, one file (PEM, PKCS#8, mode 0600). The MAC key is HKDF-SHA256 of the raw 32-byte
private key with the info string "manafidh audit mac v1", so it is never stored anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAC_INFO = b"manafidh audit mac v1"


class AuditKeyError(RuntimeError):
    """The key file is missing, unreadable or not an Ed25519 private key."""


class Ed25519AuditKeys:
    """Signs tree heads and holds the MAC key; built from one Ed25519 private key."""

    def __init__(self, private_key: Ed25519PrivateKey, path: Path | None = None) -> None:
        self._private = private_key
        self.path = path
        raw = private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        self._mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=MAC_INFO).derive(
            raw
        )
        self._public = private_key.public_key()
        self._public_raw = self._public.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        """SHA-256 of the raw public key, hex: names the key in tree heads and exports."""
        return hashlib.sha256(self._public_raw).hexdigest()

    @property
    def mac_key(self) -> bytes:
        """The HMAC-SHA256 key of the entries' MACs."""
        return self._mac_key

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message``."""
        return self._private.sign(message)

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's signature of ``message``."""
        return verify_with(self._public, signature, message)

    def public_key_pem(self) -> str:
        """The public key as PEM (SubjectPublicKeyInfo), for witnesses and the verifier."""
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def verify_with(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """Ed25519 verification as a boolean."""
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def generate() -> Ed25519AuditKeys:
    """A fresh key held in memory only (tests, benchmarks)."""
    return Ed25519AuditKeys(Ed25519PrivateKey.generate())


def load(path: Path) -> Ed25519AuditKeys:
    """Read the key file; raises AuditKeyError when it is missing or not an Ed25519 key."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"cannot read the audit key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{path} is not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path} is not an Ed25519 private key")
    return Ed25519AuditKeys(key, path)


def create(path: Path) -> tuple[Ed25519AuditKeys, bool]:
    """Create the key file (mode 0600) unless it exists; return the keys and whether it was new.

    The file is written aside and linked into place, so two processes starting at once end up
    with the same key (the loser reads the winner's file).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return load(path), False
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")  # created 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return load(path), False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return Ed25519AuditKeys(key, path), True
