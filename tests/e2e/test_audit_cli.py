"""``manafidh audit`` run for real in a subprocess, on a SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "correct horse battery"
TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_audit_proof.py"


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m manafidh.cli.main ARGS`` with the database and key in ``cwd``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MANAFIDH_")}
    base |= {
        "MANAFIDH_DATABASE_URL": f"sqlite+pysqlite:///{cwd / 'manafidh.db'}",
        "MANAFIDH_AUDIT_KEY_FILE": str(cwd / "keys" / "audit.pem"),
        "MANAFIDH_FAST_PASSWORD_HASHING": "true",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "manafidh.cli.main", *args],
        cwd=cwd,
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """Standard output of a command that must have succeeded."""
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A deployment with its key, schema, reference data and two users."""
    folder = tmp_path_factory.mktemp("audit-cli")
    assert "created" in ok(run("audit", "init-key", cwd=folder))
    ok(run("db", "upgrade", cwd=folder))
    ok(run("reference", "load", cwd=folder))
    for name in ("ali.shl", "sara.shl"):
        ok(
            run(
                "users", "create", name, "--role", "officer", "--name", name, "--crossing",
                "SHL", "--password", PASSWORD, cwd=folder,
            )
        )  # fmt: skip
    return folder


@pytest.fixture
def copy(deployment: Path, tmp_path: Path) -> Path:
    """A private copy of the deployment (database and key)."""
    (tmp_path / "keys").mkdir()
    for name in ("manafidh.db", "keys/audit.pem"):
        (tmp_path / name).write_bytes((deployment / name).read_bytes())
    return tmp_path


def test_init_key_creates_a_private_key_file_once(deployment):
    key = deployment / "keys" / "audit.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    again = ok(run("audit", "init-key", cwd=deployment))
    assert again.startswith("already there:")


def test_verify_says_ok_on_an_untouched_log(copy):
    out = ok(run("audit", "verify", cwd=copy))
    assert out.startswith("audit log OK: 3 entries")


def test_verify_exits_non_zero_with_a_summary_and_names_a_deleted_entry(copy):
    with sqlite3.connect(copy / "manafidh.db") as db:
        db.execute("DELETE FROM audit_entries WHERE idx = 1")
    result = run("audit", "verify", cwd=copy)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("audit log FAILED: ")
    assert any(line.strip().startswith("deleted entry 1:") for line in lines[1:]), lines


def test_verify_with_another_key_blames_the_key(copy):
    result = run(
        "audit", "verify", cwd=copy, env={"MANAFIDH_AUDIT_KEY_FILE": str(copy / "other.pem")}
    )
    assert result.returncode == 1
    assert "key: no entry carries a valid MAC" in result.stdout


def test_a_proof_printed_by_prove_verifies_with_the_standalone_verifier(copy):
    ok(run("audit", "prove", "1", "--output", "proof.json", cwd=copy))
    (copy / "deployment.pem").write_text(ok(run("audit", "public-key", cwd=copy)))
    checked = subprocess.run(
        [sys.executable, str(TOOL), "proof.json", "--public-key", "deployment.pem"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.startswith("OK: entry 1 (user.created")


def test_exported_heads_and_a_consistency_proof_are_json_for_witnesses(copy):
    ok(run("audit", "checkpoint", cwd=copy))
    heads = json.loads(ok(run("audit", "export-heads", cwd=copy)))
    sizes = [h["tree_size"] for h in heads["tree_heads"]]
    assert heads["format"] == "manafidh-tree-heads-v1"
    assert sizes[-1] == 3
    proof = json.loads(ok(run("audit", "consistency", str(sizes[0]), "3", cwd=copy)))
    assert proof["format"] == "manafidh-audit-consistency-v1"


def test_verify_before_the_schema_exists_is_a_one_line_error(tmp_path):
    result = run("audit", "verify", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: database not ready")
    assert result.stderr.strip().count("\n") == 0
