"""``manafidh revenue`` run for real: simulated traffic, its bank statements, reconciliation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.test_cli import AUDIT_KEY, count, manafidh, ok, snapshot

from manafidh.adapters.db import tables as t


@pytest.fixture(autouse=True, scope="module")
def _one_audit_key(audit_key_file: Path) -> None:
    AUDIT_KEY["path"] = audit_key_file


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "manafidh.db"
    ok(manafidh("db", "upgrade", db=path, cwd=tmp_path))
    ok(manafidh("reference", "load", db=path, cwd=tmp_path))
    return path


def test_a_days_traffic_reconciles_from_its_statements_and_reimport_changes_nothing(db, tmp_path):
    args = ("--days", "1", "--seed", "3", "--start", "2026-03-10", "--crossings", "SHL")
    ok(manafidh("simulate", *args, db=db, cwd=tmp_path))
    out = ok(manafidh("revenue", "simulate-statements", "--out", "st", db=db, cwd=tmp_path))
    assert "statements in st" in out
    files = sorted(str(p) for p in (tmp_path / "st").glob("*.xml"))
    assert files
    out = ok(manafidh("revenue", "import", *files, db=db, cwd=tmp_path))
    assert "reconciled=" in out
    tb = json.loads(ok(manafidh("revenue", "trial-balance", "--json", db=db, cwd=tmp_path)))
    assert tb["balanced"] is True
    assert tb["balances"].get("assets:bank_unreconciled", "0.000") == "0.000"
    assert tb["auto_match_rate"] >= 0.99
    before = snapshot(db)
    again = ok(manafidh("revenue", "import", *files, db=db, cwd=tmp_path))
    assert " 0 new" in again
    assert snapshot(db) == before


def test_a_malformed_statement_is_one_line_error_and_changes_nothing(db, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        b"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'>"
    )
    before = snapshot(db)
    r = manafidh("revenue", "import", str(bad), db=db, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "not well-formed" in r.stderr
    assert snapshot(db) == before
    r = manafidh("revenue", "resolve", "1", "--as", "accept", "--reason", "x", db=db, cwd=tmp_path)
    assert r.returncode == 2
    assert "no such reconciliation exception" in r.stderr
    assert count(db, t.reconciliation_exceptions) == 0
