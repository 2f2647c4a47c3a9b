"""``manafidh deferred`` run for real on a database file."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tests.e2e.test_cli import AUDIT_KEY, manafidh, ok, snapshot
from tests.factories import content

from manafidh.bootstrap import bootstrap
from manafidh.config import Settings
from manafidh.domain.identity import Role
from manafidh.services import declarations, identity


@pytest.fixture(autouse=True, scope="module")
def _one_audit_key(audit_key_file: Path) -> None:
    AUDIT_KEY["path"] = audit_key_file


@pytest.fixture
def db(tmp_path: Path, audit_key_file: Path) -> Path:
    path = tmp_path / "manafidh.db"
    ok(manafidh("db", "upgrade", db=path, cwd=tmp_path))
    ok(manafidh("reference", "load", db=path, cwd=tmp_path))
    return path


def _orders(db: Path, audit_key_file: Path, n: int) -> list[str]:
    """Lodge ``n`` declarations through the services; their payment orders' references."""
    c = bootstrap(
        Settings(
            database_url=f"sqlite+pysqlite:///{db}",
            fast_password_hashing=True,
            audit_key_file=audit_key_file,
        ),
        rng=random.Random(3),
    )
    with c.uow() as uow:
        trader = identity.create_user(
            uow=uow, hasher=c.hasher, actor=None, username="trader1", full_name="Trader",
            role=Role.TRADER, password="correct horse battery", crossings=[],
        )  # fmt: skip
    refs = []
    for k in range(n):
        with c.uow() as uow:
            decl = declarations.submit(
                uow=uow, actor=trader, crossing_code="SHL", content=content(),
                rng=random.Random(k),
            )  # fmt: skip
            refs.append(uow.payments.orders_for(decl.id)[-1].reference)
    c.engine.dispose()
    return refs


def test_approve_pay_refuse_when_suspended_and_read_the_balance(db, tmp_path, audit_key_file):
    first, second = _orders(db, audit_key_file, 2)
    approve = (
        "deferred",
        "approve",
        "--tax-id",
        "IQ-100200300",
        "--name",
        "Rafidain Co.",
        "--guarantee",
        "LG-1",
        "--bank",
        "Rafidain Bank",
        "--limit",
        "900000000",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--reason",
        "guarantee verified",
    )
    before = snapshot(db)
    r = manafidh(*approve[:-2], "--reason", " ", db=db, cwd=tmp_path)
    assert r.returncode == 2
    assert "reason" in r.stderr
    assert snapshot(db) == before
    out = ok(manafidh(*approve, db=db, cwd=tmp_path))
    assert "DPAIQ100200300 approved" in out
    out = ok(manafidh("deferred", "pay", "DPAIQ100200300", first, db=db, cwd=tmp_path))
    assert f"{first} paid from DPAIQ100200300" in out
    ok(manafidh("deferred", "suspend", "DPAIQ100200300", "--reason", "review", db=db, cwd=tmp_path))
    before = snapshot(db)
    r = manafidh("deferred", "pay", "DPAIQ100200300", second, db=db, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "suspended" in r.stderr
    assert snapshot(db) == before
    bal = json.loads(
        ok(manafidh("deferred", "balance", "DPAIQ100200300", "--json", db=db, cwd=tmp_path))
    )
    assert bal["balance_iqd"] != "0.000"
    assert bal["state"] == "suspended"
    assert bal["events"] == ["approved", "suspended"]
    out = ok(
        manafidh("revenue", "report", "crossing-month-foregone", "--year", "2026", "--format",
                 "csv", db=db, cwd=tmp_path)
    )  # fmt: skip
    assert out.splitlines()[0].endswith("foregone_iqd,foregone_percent_of_due")
    assert out.splitlines()[1].startswith("SHL,2026-")  # the orders lodged above
