"""The ``manafidh`` command run for real, in a subprocess, on a SQLite file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from manafidh.adapters.db import tables as t

PASSWORD = "correct horse battery"
# The deployment's audit key, the same for every command of the module (databases are copied
# between folders, and a log can only be appended to with the key that wrote it).
AUDIT_KEY: dict[str, Path] = {}


@pytest.fixture(autouse=True, scope="module")
def _one_audit_key(audit_key_file: Path) -> None:
    AUDIT_KEY["path"] = audit_key_file


def manafidh(*args: str, db: Path | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m manafidh.cli.main ARGS`` with MANAFIDH_DATABASE_URL pointing at ``db``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANAFIDH_")}
    env["MANAFIDH_FAST_PASSWORD_HASHING"] = "true"
    env["MANAFIDH_AUDIT_KEY_FILE"] = str(AUDIT_KEY["path"])
    env["COLUMNS"] = "200"  # keep each message on one line
    if db is not None:
        env["MANAFIDH_DATABASE_URL"] = f"sqlite+pysqlite:///{db}"
    return subprocess.run(
        [sys.executable, "-m", "manafidh.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The standard output of a command that must have succeeded."""
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the cache-generation counters."""
    engine = create_engine(f"sqlite+pysqlite:///{db}")
    try:
        with engine.connect() as conn:
            return {
                name: sorted(map(tuple, conn.execute(select(table)).all()), key=repr)
                for name, table in t.metadata.tables.items()
                if name != "counters"
            }
    finally:
        engine.dispose()


def count(db: Path, table: Any) -> int:
    """Rows in ``table``."""
    engine = create_engine(f"sqlite+pysqlite:///{db}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Prepared:
    """Databases made by ``db upgrade`` (empty) and then ``reference load``, and the outputs."""

    empty: Path
    loaded: Path
    upgrade_output: str
    load_output: str


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """Run ``db upgrade`` and ``reference load`` once for the module."""
    folder = tmp_path_factory.mktemp("cli")
    db = folder / "loaded.db"
    upgraded = ok(manafidh("db", "upgrade", db=db, cwd=folder))
    shutil.copyfile(db, folder / "empty.db")
    loaded = ok(manafidh("reference", "load", db=db, cwd=folder))
    return Prepared(folder / "empty.db", db, upgraded, loaded)


@pytest.fixture
def db(prepared: Prepared, tmp_path: Path) -> Path:
    """A private copy of the loaded database."""
    target = tmp_path / "manafidh.db"
    shutil.copyfile(prepared.loaded, target)
    return target


def test_db_upgrade_and_reference_load_say_what_they_did(prepared):
    assert "database at head" in prepared.upgrade_output
    assert "added: " in prepared.load_output
    assert "crossings=9" in prepared.load_output


def test_users_create_takes_the_password_as_an_option(db, tmp_path):
    out = ok(
        manafidh(
            "users", "create", "officer.shl", "--role", "officer", "--name", "Officer",
            "--crossing", "SHL", "--password", PASSWORD, db=db, cwd=tmp_path,
        )
    )  # fmt: skip
    assert "created officer.shl (officer)" in out
    assert count(db, t.users) == 1


def test_simulate_one_day_lodges_declarations_with_ground_truth_and_prints_counts(db, tmp_path):
    args = ("--days", "1", "--seed", "3", "--start", "2026-03-10", "--crossings", "SHL")
    out = ok(manafidh("simulate", *args, db=db, cwd=tmp_path))
    declarations = count(db, t.declarations)
    assert declarations > 10
    assert count(db, t.simulation_truth) == declarations
    assert re.search(rf"declarations\W+{declarations}\b", out), out
    assert "misdeclared (ground truth)" in out
    assert "seed 3: 1 day(s) from 2026-03-10 at SHL" in out


OFFICER_AT_XXX = [
    "users",
    "create",
    "officer.q",
    "--role",
    "officer",
    "--name",
    "Q",
    "--crossing",
    "XXX",
]

# (arguments, the reason to find in the error output, whether manafidh itself refuses it)
BAD_INPUTS = {
    "unknown role": (
        ["users", "create", "x.y", "--role", "pilot", "--name", "X", "--password", PASSWORD],
        "pilot",
        False,  # Typer refuses it, in its own multi-line panel
    ),
    "unknown crossing for a user": (
        [*OFFICER_AT_XXX, "--password", PASSWORD],
        "unknown crossing XXX",
        True,
    ),
    "unknown crossing to simulate": (
        ["simulate", "--days", "1", "--crossings", "SHL,XXX"],
        "unknown crossing XXX",
        True,
    ),
}


@pytest.mark.parametrize(("args", "reason", "ours"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_a_bad_input_exits_non_zero_with_the_reason_and_changes_nothing(
    db, tmp_path, args, reason, ours
):
    before = snapshot(db)
    result = manafidh(*args, db=db, cwd=tmp_path)
    assert result.returncode == 2
    assert any(reason in line for line in result.stderr.splitlines()), result.stderr
    assert "Traceback" not in result.stderr
    if ours:
        assert result.stderr.startswith("error: ")
        assert result.stderr.strip().count("\n") == 0, "the reason fits on one line"
    assert snapshot(db) == before


def test_a_missing_exchange_rate_file_is_refused_before_anything_is_loaded(prepared, tmp_path):
    db = tmp_path / "fresh.db"
    shutil.copyfile(prepared.empty, db)
    result = manafidh("reference", "load", "--exchange-rates", "nope.csv", db=db, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no such file: nope.csv")
    assert result.stderr.strip().count("\n") == 0
    assert count(db, t.hs_codes) == 0


def test_demo_builds_its_own_database_with_users_and_traffic(tmp_path):
    elsewhere = tmp_path / "not-this-one.db"
    env_db = manafidh(
        "demo", "--no-serve", "--days", "2", "--scale", "0.05", db=elsewhere, cwd=tmp_path
    )
    out = ok(env_db)
    demo = tmp_path / "var" / "demo.db"
    assert demo.is_file()
    assert not elsewhere.exists()
    assert count(demo, t.users) >= 10
    assert count(demo, t.declarations) > 0
    assert count(demo, t.simulation_truth) == count(demo, t.declarations)
    staff = ("officer.shl", "supervisor.zrb", "inspector.shl", "inspector2.shl", "inspector3.zrb")
    for username in ("admin", "analyst", "auditor", "broker.01", *staff):
        assert username in out
    assert "http://127.0.0.1:8000/" in out
    engine = create_engine(f"sqlite+pysqlite:///{demo}")
    with engine.connect() as conn:
        latest = conn.execute(text("select max(lodged_at) from declarations")).scalar()
    engine.dispose()
    assert latest is not None


def test_users_change_moves_an_officer_and_a_bad_change_exits_non_zero(db, tmp_path):
    ok(
        manafidh(
            "users", "create", "officer.cli", "--role", "officer", "--name", "Officer",
            "--crossing", "SHL", "--password", PASSWORD, db=db, cwd=tmp_path,
        )
    )  # fmt: skip
    out = ok(
        manafidh(
            "users", "change", "officer.cli", "--crossing", "PWK", "--reason", "rota",
            db=db, cwd=tmp_path,
        )
    )  # fmt: skip
    assert "officer.cli: officer, PWK, active" in out
    before = snapshot(db)
    bad = manafidh(
        "users", "change", "officer.cli", "--crossing", "XXX", "--reason", "r", db=db, cwd=tmp_path
    )
    assert bad.returncode != 0
    assert "unknown crossing XXX" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert snapshot(db) == before
