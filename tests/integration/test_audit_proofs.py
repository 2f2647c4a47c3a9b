"""Proofs checked by tools/verify_audit_proof.py: no database, no Manafidh code, any byte counts."""

from __future__ import annotations

import ast
import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from tests.factories import content

from manafidh.domain.errors import NotFound
from manafidh.services import audit, declarations

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_audit_proof.py"


def _tool():
    spec = importlib.util.spec_from_file_location("verify_audit_proof", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def logged(container, make_user, clock):
    """A few declarations, with a signed tree head after the first and after the last."""
    trader = make_user("trader")
    for n in range(3):
        with container.uow() as uow:
            declarations.submit(
                uow=uow,
                actor=trader,
                crossing_code="SHL",
                content=content(vehicle_plates=[f"IR {n} B 345"]),
                rng=random.Random(n),
            )
        with container.uow() as uow:
            audit.checkpoint(uow=uow)
    return container


@pytest.fixture
def public_key(logged, tmp_path) -> Path:
    path = tmp_path / "deployment.pem"
    path.write_text(logged.audit_keys.public_key_pem())
    return path


def _proof(container, index: int, size: int | None = None) -> dict:
    with container.uow(readonly=True) as uow:
        return audit.prove(uow=uow, keys=container.audit_keys, index=index, size=size).as_json()


def test_an_exported_inclusion_proof_verifies_with_the_standalone_verifier(
    logged, public_key, tmp_path
):
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(_proof(logged, 5), indent=2))
    result = _run_tool(str(proof), "--public-key", str(public_key))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: entry 5 (")
    proof.write_text(proof.read_text().replace('"index": 5', '"index": 4'))
    result = _run_tool(str(proof), "--public-key", str(public_key))
    assert result.returncode == 1
    assert result.stdout.startswith("FAILED: ")


def test_an_inclusion_proof_fails_when_any_byte_is_changed(logged, public_key):
    tool = _tool()
    pem = public_key.read_text()
    doc = _proof(logged, 6)
    del doc["public_key"]  # the witness's own copy of the key is used
    data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    assert _verifies(tool, data, pem)
    survivors = []
    for i in range(len(data)):
        changed = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        if _verifies(tool, changed, pem):
            survivors.append(changed[max(0, i - 20) : i + 20])
    assert survivors == []


def _verifies(tool, data: bytes, pem: str) -> bool:
    try:
        doc = json.loads(data.decode("utf-8"))
    except ValueError:
        return False
    try:
        tool.verify_document(doc, pem)
    except tool.Failed:
        return False
    return True


def test_a_proof_against_an_older_tree_head_verifies_too(logged, public_key):
    with logged.uow(readonly=True) as uow:
        first = uow.audit.tree_heads()[1]
    doc = _proof(logged, 2, size=first.tree_size)
    assert doc["tree_head"]["tree_size"] == first.tree_size
    assert _tool().verify_document(doc, public_key.read_text()).startswith("entry 2 (")


def test_an_entry_not_yet_under_a_signed_tree_head_has_no_proof(logged, make_user):
    make_user("officer", crossings=["SHL"])
    with logged.uow(readonly=True) as uow:
        size = uow.audit.state().size
    with pytest.raises(NotFound, match="not covered by a signed tree head"):
        _proof(logged, size - 1)


def test_a_consistency_proof_between_two_tree_heads_verifies_and_fails_when_changed(
    logged, public_key
):
    tool = _tool()
    with logged.uow(readonly=True) as uow:
        heads = uow.audit.tree_heads()
        first, second = heads[1].tree_size, heads[-1].tree_size
        doc = audit.consistency(
            uow=uow, keys=logged.audit_keys, first=first, second=second
        ).as_json()
    pem = public_key.read_text()
    assert "extends the log of" in tool.verify_document(doc, pem)
    for path in (("consistency_path", 0), ("first", "root_hash"), ("second", "signature")):
        changed = json.loads(json.dumps(doc))
        holder = changed[path[0]]
        value = holder[path[1]]
        holder[path[1]] = ("1" if value[0] == "0" else "0") + value[1:]
        with pytest.raises(tool.Failed):
            tool.verify_document(changed, pem)


def test_exported_tree_heads_verify_and_a_changed_one_fails(logged, public_key, tmp_path):
    with logged.uow(readonly=True) as uow:
        export = audit.export_heads(uow=uow, keys=logged.audit_keys)
    path = tmp_path / "heads.json"
    path.write_text(json.dumps(export))
    result = _run_tool(str(path), "--public-key", str(public_key))
    assert result.returncode == 0, result.stdout
    assert f"{len(export['tree_heads'])} signed tree heads verify" in result.stdout
    export["tree_heads"][-1]["tree_size"] -= 1
    path.write_text(json.dumps(export))
    assert _run_tool(str(path), "--public-key", str(public_key)).returncode == 1


def test_a_proof_checked_with_another_deployments_key_fails(logged, tmp_path):
    from manafidh.adapters import audit_keys

    other = tmp_path / "other.pem"
    other.write_text(audit_keys.generate().public_key_pem())
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(_proof(logged, 1)))
    result = _run_tool(str(proof), "--public-key", str(other))
    assert result.returncode == 1
    assert "names another key" in result.stdout


def test_the_standalone_verifier_needs_only_the_standard_library_and_cryptography():
    tree = ast.parse(TOOL.read_text())
    modules = {
        (n.module or "").split(".")[0] if isinstance(n, ast.ImportFrom) else a.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in (n.names if isinstance(n, ast.Import) else [n])
    }
    assert modules - set(sys.stdlib_module_names) == {"cryptography"}
