#!/usr/bin/env python3
"""Verify a Manafidh audit proof or tree-head export with no database and no Manafidh code.

Needs only Python 3.11+ and the ``cryptography`` package (for Ed25519). It implements
docs/audit-format.md from scratch: the canonical payload and envelope, the RFC 9162 leaf hash,
the RFC 9162 inclusion and consistency proof algorithms, and the tree-head signature.

    python verify_audit_proof.py proof.json [--public-key deployment.pem]

``proof.json`` is the output of ``manafidh audit prove``, ``manafidh audit consistency`` or
``manafidh audit export-heads`` (or of the matching /api/v1/audit endpoints). Pass the public key
you obtained from the deployment through another channel: the key inside the file proves only
that the file is self-consistent. Exit status 0 when everything verifies, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Failed(Exception):
    """The file does not verify; the message says why."""


# -- the format (docs/audit-format.md) ---------------------------------------------------------
def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8, minimal string escaping."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def leaf_of(entry: dict[str, Any]) -> bytes:
    """The RFC 9162 leaf hash of an entry as a proof shows it."""
    for key in ("index", "at", "actor", "role", "crossing", "action", "subject", "payload"):
        if key not in entry:
            raise Failed(f"the entry has no {key!r}")
    if any(isinstance(v, float) for v in _walk(entry["payload"])):
        raise Failed("the payload holds a JSON float: not a canonical Manafidh payload")
    envelope = {
        "v": 1,
        "index": entry["index"],
        "at": entry["at"],
        "actor": entry["actor"],
        "role": entry["role"],
        "crossing": entry["crossing"],
        "action": entry["action"],
        "subject": entry["subject"],
        "payload_digest": hashlib.sha256(canonical(entry["payload"])).hexdigest(),
    }
    return hashlib.sha256(b"\x00" + canonical(envelope)).digest()


def _walk(value: Any) -> Any:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def node(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def sth_message(head: dict[str, Any]) -> bytes:
    """The bytes a tree-head signature covers."""
    return (
        f"manafidh-sth-v1\n{int(head['tree_size'])}\n{head['root_hash']}\n{head['timestamp']}\n"
    ).encode()


# -- RFC 9162 section 2.1.3.2 and 2.1.4.2 ------------------------------------------------------
def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 inclusion proof verification."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 consistency proof verification."""
    if first < 1 or second < first:
        return False
    if first == second:
        return not path and first_root == second_root
    if not path:
        return False
    proof = list(path)
    if first & (first - 1) == 0:
        proof.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# -- checks ------------------------------------------------------------------------------------
def _hex(value: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        raise Failed(f"{what} is not hex") from None


def load_key(pem: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError:
        raise Failed("the public key is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise Failed("the public key is not an Ed25519 key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def check_head(head: dict[str, Any], key: Ed25519PublicKey) -> bytes:
    """Check a tree head's signature; return its root hash."""
    try:
        size = int(head["tree_size"])
        root = _hex(head["root_hash"], "the root hash")
        signature = _hex(head["signature"], "the signature")
    except (KeyError, TypeError, ValueError):
        raise Failed("malformed tree head") from None
    if len(root) != 32:
        raise Failed("the root hash is not 32 bytes")
    if head["key_id"] != key_id(key):
        raise Failed(f"the tree head of size {size} names another key ({head['key_id'][:16]})")
    try:
        key.verify(signature, sth_message(head))
    except InvalidSignature:
        raise Failed(f"the signature of the tree head of size {size} does not verify") from None
    return root


def check_inclusion(doc: dict[str, Any], key: Ed25519PublicKey) -> str:
    """An entry's inclusion proof under a signed tree head."""
    head = doc["tree_head"]
    root = check_head(head, key)
    entry = doc["entry"]
    leaf = leaf_of(entry)
    if leaf.hex() != doc.get("leaf_hash"):
        raise Failed("the entry does not hash to the proof's leaf hash")
    path = [_hex(h, "a path hash") for h in doc["inclusion_path"]]
    index, size = int(entry["index"]), int(head["tree_size"])
    if doc["leaf_index"] != entry["index"]:
        raise Failed("the proof's leaf index is not the entry's index")
    if not verify_inclusion(leaf, index, size, path, root):
        raise Failed(f"entry {index} is not in the signed tree of size {size}")
    return (
        f"entry {index} ({entry['action']} on {entry['subject']} at {entry['at']}) is in the "
        f"log of {size} entries signed {head['timestamp']}"
    )


def check_consistency(doc: dict[str, Any], key: Ed25519PublicKey) -> str:
    """Two signed tree heads, the second extending the first."""
    first, second = doc["first"], doc["second"]
    r1, r2 = check_head(first, key), check_head(second, key)
    path = [_hex(h, "a path hash") for h in doc["consistency_path"]]
    n1, n2 = int(first["tree_size"]), int(second["tree_size"])
    if not verify_consistency(n1, n2, r1, r2, path):
        raise Failed(f"the log of {n2} entries does not extend the log of {n1}")
    return f"the log of {n2} entries extends the log of {n1} entries: nothing was rewritten"


def check_heads(doc: dict[str, Any], key: Ed25519PublicKey) -> str:
    """Every tree head of an export carries a valid signature."""
    heads = doc["tree_heads"]
    for head in heads:
        check_head(head, key)
    return f"{len(heads)} signed tree heads verify"


CHECKS = {
    "manafidh-audit-proof-v1": check_inclusion,
    "manafidh-audit-consistency-v1": check_consistency,
    "manafidh-tree-heads-v1": check_heads,
}


def verify_document(doc: Any, public_key_pem: str | None = None) -> str:
    """Verify a parsed proof or export with the given key (default: the one it embeds)."""
    check = CHECKS.get(str(doc.get("format"))) if isinstance(doc, dict) else None
    if check is None:
        raise Failed("not a Manafidh audit proof or tree-head export")
    pem = public_key_pem if public_key_pem is not None else doc.get("public_key")
    if not isinstance(pem, str):
        raise Failed("no public key")
    try:
        return check(doc, load_key(pem))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Failed(f"malformed file: {exc!r}") from None


def verify_file(path: Path, public_key: Path | None) -> str:
    """Verify a file (JSON, UTF-8), with the public key from ``public_key`` if given."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        pem = public_key.read_text(encoding="utf-8") if public_key else None
    except (OSError, ValueError) as exc:
        raise Failed(f"cannot read {path}: {exc}") from None
    return verify_document(doc, pem)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path, help="proof, consistency proof or tree-head export")
    ap.add_argument("--public-key", type=Path, help="the deployment's public key (PEM)")
    args = ap.parse_args(argv)
    try:
        message = verify_file(args.file, args.public_key)
    except Failed as exc:
        print(f"FAILED: {exc}")
        return 1
    print(f"OK: {message}")
    if args.public_key is None:
        print("note: checked with the public key inside the file; compare its key id with the one")
        print("the deployment publishes, or pass --public-key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
