"""Ed25519 keys of devices: generate, read and write PEM files, sign and verify events.

The server only ever holds public keys; ``generate`` writes a private key for a device (or the
simulator) to a file the operator hands over, mode 0600.
"""

from __future__ import annotations

import base64
import contextlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from manafidh.domain.devices.events import signed_message
from manafidh.domain.errors import ValidationFailed


def raw_public(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def generate(path: Path) -> bytes:
    """Create a key pair, write the private key to ``path`` (PEM, 0600); return the public key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationFailed(f"{path} already exists: not overwriting a key") from None
    except OSError as exc:
        raise ValidationFailed(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return raw_public(key)


def load_private(path: Path) -> Ed25519PrivateKey:
    """A device's private key from a PEM file."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise ValidationFailed(f"{path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValidationFailed(f"{path} is not an Ed25519 key")
    return key


def parse_public(text: str) -> bytes:
    """A public key given as PEM, or as the raw 32 bytes in hex or base64."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError:
            raise ValidationFailed("not a PEM public key", field="public_key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValidationFailed("the public key is not Ed25519", field="public_key")
        return raw_public(key)
    raw = None
    with contextlib.suppress(ValueError):
        raw = bytes.fromhex(text)
    if raw is None:
        with contextlib.suppress(ValueError):
            raw = base64.b64decode(text, validate=True)
    if raw is None or len(raw) != 32:
        raise ValidationFailed(
            "a public key is PEM, or 32 bytes in hex or base64", field="public_key"
        )
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ValidationFailed("not an Ed25519 public key", field="public_key") from None
    return raw


def public_pem(raw: bytes) -> str:
    """A raw public key as PEM text."""
    return (
        Ed25519PublicKey.from_public_bytes(raw)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@lru_cache(maxsize=4096)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    # Parsing a key costs as much as a third of a verification: a lane's few keys are reused.
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is the key's Ed25519 signature of ``message``."""
    try:
        _public_key(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """The signature of ``message`` as the API expects it (hex)."""
    return key.sign(message).hex()


def signed_event(
    key: Ed25519PrivateKey,
    *,
    device_id: str,
    sequence: int,
    device_time: str,
    kind: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """An event as a device sends it (JSON body of POST /api/v1/devices/events), signed."""
    body = {
        "device_id": device_id,
        "sequence": sequence,
        "device_time": device_time,
        "kind": kind,
        "payload": payload,
    }
    return body | {"signature": sign(key, signed_message(**body))}
