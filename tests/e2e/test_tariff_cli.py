"""``manafidh tariff`` and ``manafidh exemptions`` run for real, in a subprocess, on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.test_cli import AUDIT_KEY, manafidh, ok

MEASURES = """code,measure_type,origin,valid_from,valid_to,legal_reference,expression
7213,import_duty,ALL,2026-01-01,,Decision 1 of 2026 (test),10% + 20 USD/1000 kg
72131000,import_duty,IR,2026-01-01,2026-06-30,Decision 2 of 2026 (test),5%
"""


@pytest.fixture(autouse=True, scope="module")
def _one_audit_key(audit_key_file: Path) -> None:
    AUDIT_KEY["path"] = audit_key_file


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tariff-cli")
    path = folder / "manafidh.db"
    ok(manafidh("db", "upgrade", db=path, cwd=folder))
    ok(manafidh("reference", "load", db=path, cwd=folder))
    return path


def test_import_then_show_explains_what_applies_and_why(db, tmp_path):
    (tmp_path / "m.csv").write_text(MEASURES, encoding="utf-8")
    assert "imported 2 measures" in ok(manafidh("tariff", "import", "m.csv", db=db, cwd=tmp_path))
    shown = ok(
        manafidh(
            "tariff",
            "show",
            "7213100000",
            "--on",
            "2026-06-30",
            "--origin",
            "IR",
            db=db,
            cwd=tmp_path,
        )
    )
    assert "applies: import_duty 5% on 72131000 for origin IR" in shown
    assert "set aside: 72131000 is more specific" in shown
    after = ok(
        manafidh(
            "tariff",
            "show",
            "7213100000",
            "--on",
            "2026-07-01",
            "--origin",
            "IR",
            db=db,
            cwd=tmp_path,
        )
    )
    assert "applies: import_duty 10% + 20 USD/1000 kg on 7213" in after
    # The same file again overlaps what is stored: refused with the line, exit code 2.
    again = manafidh("tariff", "import", "m.csv", db=db, cwd=tmp_path)
    assert again.returncode == 2
    assert "line 2: validity overlaps" in again.stderr


def test_exemptions_grant_suspend_and_report(db, tmp_path):
    grant = {
        "reference": "EX-CLI",
        "beneficiary_kind": "investment_project",
        "beneficiary_name": "Basra Housing Project",
        "beneficiary_tax_id": "IQ-555",
        "legal_basis": "Investment Law No. 13 of 2006, art. 17 (test)",
        "valid_from": "2026-01-01",
        "codes": ["72", "2523"],
        "quotas": [{"code": "7214", "max_kg": "500000"}],
    }
    (tmp_path / "ex.json").write_text(json.dumps(grant), encoding="utf-8")
    assert "granted EX-CLI (1 quotas)" in ok(
        manafidh("exemptions", "grant", "ex.json", db=db, cwd=tmp_path)
    )
    out = ok(
        manafidh(
            "exemptions",
            "suspend",
            "EX-CLI",
            "--reason",
            "implementation at 20%",
            "--legal-reference",
            "NIC decision 4 (test)",
            db=db,
            cwd=tmp_path,
        )
    )
    assert "EX-CLI: suspended" in out
    refused = manafidh(
        "exemptions",
        "suspend",
        "EX-CLI",
        "--reason",
        "x",
        "--legal-reference",
        "y",
        db=db,
        cwd=tmp_path,
    )
    assert refused.returncode == 2
    assert "cannot suspend" in refused.stderr
    bad = manafidh("exemptions", "foregone", "--by", "colour", db=db, cwd=tmp_path)
    assert bad.returncode == 2
