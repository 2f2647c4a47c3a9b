"""``manafidh risk`` run for real, in a subprocess, on a SQLite file."""

from __future__ import annotations

from tests.e2e import test_cli

# The CLI tests' fixtures: a migrated SQLite file with reference data, one audit key.
_one_audit_key = test_cli._one_audit_key
prepared = test_cli.prepared
db = test_cli.db
manafidh = test_cli.manafidh
ok = test_cli.ok


def test_training_with_too_few_outcomes_is_a_one_line_error_and_writes_nothing(db, tmp_path):
    result = manafidh("risk", "train", "--reason", "first model", db=db, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: too few inspection outcomes to train: 0")
    assert result.stderr.strip().count("\n") == 0
    assert "version" in ok(manafidh("risk", "models", db=db, cwd=tmp_path))
