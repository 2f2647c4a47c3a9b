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


def test_rules_on_facts_and_score_weights_are_added_and_listed_from_the_shell(db, tmp_path):
    out = ok(
        manafidh(
            "risk", "rule-add", "--name", "Night lodgings", "--reason", "seen at night",
            "--hour-from", "20", "--hour-to", "6", "--score-weight", "1.5",
            db=db, cwd=tmp_path,
        )
    )  # fmt: skip
    assert "-> score weight +1.5 from" in out
    out = ok(
        manafidh(
            "risk", "rule-add", "--name", "New importers", "--reason", "first declarations",
            "--first-declarations", "2", "--valuation-flag",
            db=db, cwd=tmp_path,
        )
    )  # fmt: skip
    assert "-> red from" in out
    listed = ok(manafidh("risk", "rules", db=db, cwd=tmp_path))
    assert "score weight +1.5" in listed
    assert "'first_declarations': 2" in listed
    bad = manafidh(
        "risk", "rule-add", "--name", "Both", "--reason", "x", "--hs-prefix", "24",
        "--lane", "red", "--score-weight", "2",
        db=db, cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: a rule either sets a lane or adds a score weight")
