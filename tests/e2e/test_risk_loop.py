"""The risk loop on simulated traffic, run as a user would from the command line.

``manafidh simulate`` (inspections by the drawn inspectors, results from the ground truth) ->
``manafidh risk train`` (a model from the recorded outcomes) -> ``manafidh simulate`` again
(new declarations scored and laned with their reasons) -> ``manafidh risk report``.
On SQLite and PostgreSQL. The commands run in this process through Typer's runner (the
same parsing and output as a shell; a process per command would spend most of the test
importing LightGBM again).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.engine import make_engine
from manafidh.adapters.db.simulation import truth
from manafidh.cli.main import app
from manafidh.config import get_settings

SIM = ("--seed", "3", "--crossings", "SHL", "--misdeclaration-rate", "0.3")


@pytest.fixture
def run(ready_url, audit_key_file, monkeypatch):
    """Run ``manafidh ARGS`` on the test database; its output (the command must succeed)."""
    monkeypatch.setenv("MANAFIDH_DATABASE_URL", ready_url)
    monkeypatch.setenv("MANAFIDH_FAST_PASSWORD_HASHING", "true")
    monkeypatch.setenv("MANAFIDH_AUDIT_KEY_FILE", str(audit_key_file))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str) -> str:
        get_settings.cache_clear()  # the settings are read once per process
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    yield invoke
    get_settings.cache_clear()


def test_inspections_train_a_model_that_scores_new_declarations_and_the_report_counts_hits(
    ready_url, run
):
    engine = make_engine(ready_url)
    try:
        # -- simulated traffic: the drawn inspectors record what the ground truth says --------
        run(
            "simulate",
            "--days",
            "4",
            "--start",
            "2026-03-02",
            *SIM,
        )
        facts = truth(engine)
        with engine.connect() as conn:
            names = dict(conn.execute(select(t.users.c.id, t.users.c.username)).all())
            inspections = conn.execute(
                select(t.checks).where(t.checks.c.kind == "inspection")
            ).all()
            drawn = {
                r.declaration_id: r.inspector_id
                for r in conn.execute(
                    select(t.inspection_assignments).order_by(t.inspection_assignments.c.id)
                )
            }
            extra = conn.execute(select(t.inspection_results)).all()
        assert len(inspections) >= 50
        for c in inspections:
            assert c.actor == drawn[c.declaration_id]  # only the assigned inspector records
            row = facts[c.declaration_id]
            detects = row.misdeclaration is not None and row.details["inspection_would_detect"]
            assert c.found == detects
            assert c.fraud_kind == (row.misdeclaration if detects else None)
        found = {c.declaration_id: c.actor for c in inspections if c.found}
        assert len(found) >= 5
        by_inspector = Counter(names[c.actor] for c in inspections)
        assert len(by_inspector) == 3, by_inspector  # drawn among the crossing's inspectors
        assert extra, "findings settled by a supplement record the extra duty"
        for x in extra:
            assert found[x.declaration_id] == x.recorded_by
            assert x.extra_duty_iqd > 0

        # -- a model from the recorded outcomes ---------------------------------------------
        out = run("risk", "train", "--reason", "first model")
        m = re.search(r"risk model 1 trained on (\d+) inspection outcomes \((\d+) findings\)", out)
        assert m, out
        assert (int(m[1]), int(m[2])) == (len(inspections), len(found))

        # -- later declarations are scored by it and laned with their reasons ---------------
        run(
            "simulate",
            "--days",
            "2",
            "--start",
            "2026-03-06",
            *SIM,
        )
        with engine.connect() as conn:
            d, s, ld = t.declarations.c, t.risk_scores.c, t.lane_decisions.c
            later = conn.execute(
                select(s.model_version, s.score, s.factors, ld.reasons)
                .select_from(
                    t.risk_scores.join(t.declarations, d.id == s.declaration_id).join(
                        t.lane_decisions, ld.declaration_id == s.declaration_id
                    )
                )
                .where(d.acceptance_date >= date(2026, 3, 6))
            ).all()
        assert later
        for version, score, _factors, reasons in later:
            assert version == 1
            assert 0 <= score <= 1
            assert any("(model 1)" in r for r in reasons), reasons
        assert any(factors for *_, factors, _ in later), "scores show their top factors"

        # -- the report: hit rates per lane and rule, revenue recovered ---------------------
        out = run("risk", "report", "--since", "2026-03-02", "--until", "2026-03-07")
        rows = {
            cells[0]: cells[1:]
            for line in out.splitlines()
            if len(cells := [c.strip() for c in re.split(r"[│┃]", line) if c.strip()]) == 6
        }
        _declarations, checked, hits, rate, _per_check = rows["lane red"]
        assert int(checked) > 0
        assert int(hits) > 0
        assert Decimal(rate) == (Decimal(hits) / Decimal(checked)).quantize(Decimal("0.0001"))
        assert any(k.startswith("rule ") and int(v[2]) > 0 for k, v in rows.items())
        assert Decimal(rows["SHL 2026-03"][4]) > 0  # extra duty recovered per inspection
    finally:
        engine.dispose()
