"""The learned risk score in the clearance path, on SQLite and PostgreSQL.

Inspection outcomes recorded by inspectors -> ``risk.train_model`` -> new declarations scored at
lodging with their top factors; an unusable model falls back to the rules, never to all green.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, update
from tests.factories import content, item

from manafidh.adapters import risk_model
from manafidh.adapters.db import risk_repository
from manafidh.adapters.db import tables as t
from manafidh.domain.declarations.model import Lane
from manafidh.domain.errors import Forbidden, IllegalTransition, ValidationFailed
from manafidh.domain.risk.features import RiskRecord
from manafidh.domain.risk.lanes import LaneRule
from manafidh.services import (
    clearance,
    declarations,
    risk,
    risk_assignment,
    risk_reports,
    risk_rules,
)
from manafidh.services.clearance import FraudKind

CIGARETTES = "240220"  # chapter 24: the shipped rules send it red
CHEAT = "IQ-900900900"
SMALL_GRID = {
    "history": [True],
    "num_leaves": [7],
    "learning_rate": [0.1],
    "min_child_samples": [5],
}


def trainer(
    train_records: Sequence[RiskRecord], valid_records: Sequence[RiskRecord], *, entity_keys
):
    return risk_model.train(
        train_records, valid_records, entity_keys=entity_keys, threads=1, grid=SMALL_GRID
    )


def _tobacco(importer: str, value: str):
    return content(
        importer_tax_id=importer,
        items=[
            item(
                1,
                hs_code=CIGARETTES,
                description="Cigarettes",
                quantity=Decimal("2000"),
                net_mass_kg=Decimal("2000"),
                gross_mass_kg=Decimal("2100"),
                invoice_value=Decimal(value),
            )
        ],
    )


def _submit(container, trader, c):
    with container.uow() as uow:
        return declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=c, rng=container.rng
        )


@pytest.fixture
def history(container, make_user):
    """Four days of red tobacco declarations; the cheat's undervalued ones are found."""
    trader = make_user("trader")
    inspector = make_user("inspector", crossings=["SHL"])
    rng = random.Random(3)
    for day in range(4):
        container.clock.set(datetime(2026, 3, 15 + day, 6, 0, tzinfo=UTC))  # 09:00 in Baghdad
        for n in range(20):
            cheat = n % 3 == 0
            value = f"{rng.uniform(800, 1200) if cheat else rng.uniform(4000, 6000):.2f}"
            decl = _submit(container, trader, _tobacco(CHEAT if cheat else f"IQ-1{n:08d}", value))
            assert decl.lane is Lane.RED
            found = cheat and rng.random() < 0.9
            with container.uow() as uow:
                clearance.record_inspection(
                    uow=uow,
                    actor=inspector,
                    declaration_id=decl.id,
                    found=found,
                    fraud_kind=FraudKind.UNDERVALUATION if found else None,
                    notes="weighed and counted",
                )
            container.clock.advance(timedelta(minutes=20))
    return trader


def _assigned_inspector(container):
    """The inspector the history's inspections were drawn for (the crossing's only one)."""
    with container.uow(readonly=True) as uow:
        (inspector,) = {
            a["inspector_id"]
            for d in uow.risk.training_records(datetime(2026, 4, 1, tzinfo=UTC))
            for a in uow.risk.assignments_of(d.key)
        }
        user = uow.users.get(inspector)
    assert user is not None
    return user


def test_without_a_model_a_declaration_keeps_its_rule_lane_and_says_why(container, make_user):
    trader = make_user("trader")
    decl = _submit(container, trader, _tobacco("IQ-100200300", "5000.00"))
    assert decl.lane is Lane.RED  # the tobacco rule still applies: never "all green"
    with container.uow() as uow:
        row = uow.risk.score_of(decl.id)
        reasons = uow.declarations.lane_decision(decl.id)["reasons"]
    assert row["score"] is None
    assert row["fallback"] == "no risk model has been trained yet"
    assert any("tobacco" in r.lower() for r in reasons)
    assert any("risk score unavailable" in r for r in reasons)


def test_training_refuses_too_few_outcomes_and_stores_nothing(container, make_user):
    trader = make_user("trader")
    _submit(container, trader, _tobacco("IQ-100200300", "5000.00"))
    with container.uow() as uow, pytest.raises(ValidationFailed, match="too few inspection"):
        risk.train_model(uow=uow, actor=None, trainer=trainer, reason="first model")
    with container.uow() as uow:
        assert uow.risk.models() == []


def test_a_trained_model_scores_new_declarations_with_their_top_factors(container, history):
    with container.uow() as uow:
        summary = risk.train_model(uow=uow, actor=None, trainer=trainer, reason="first model")
    assert summary["version"] == 1
    assert summary["outcomes"] == 80
    with container.uow() as uow:
        (model,) = uow.risk.models()
        entry = uow.audit.entries(
            subject="risk_model:1",
            actor=None,
            action=None,
            since=None,
            until=None,
            limit=5,
            offset=0,
        )
    assert model["reason"] == "first model"
    assert model["train_from"] < model["train_to"]
    assert "num.log_value_per_kg" in model["features"]
    assert [e.action for e in entry] == ["risk_model.trained"]

    cheat = _submit(container, history, _tobacco(CHEAT, "1000.00"))
    honest = _submit(container, history, _tobacco("IQ-777777777", "5000.00"))
    with container.uow() as uow:
        cheat_row = uow.risk.score_of(cheat.id)
        honest_row = uow.risk.score_of(honest.id)
        reasons = uow.declarations.lane_decision(cheat.id)["reasons"]
    assert cheat_row["model_version"] == 1
    assert cheat_row["fallback"] is None
    assert cheat_row["score"] > 3 * honest_row["score"], (cheat_row, honest_row)
    assert 1 <= len(cheat_row["factors"]) <= 5
    assert any(re.match(r"risk score [01]\.\d{3} \(model 1\)", r) for r in reasons), reasons


def test_the_score_sends_red_from_the_crossings_daily_threshold(container, history):
    with container.uow() as uow:
        risk.train_model(uow=uow, actor=None, trainer=trainer, reason="first model")
    # A day of traffic at SHL sets the next day's threshold: 8 % of 40 -> the 4th highest score.
    container.clock.set(datetime(2026, 3, 19, 6, 0, tzinfo=UTC))
    previous_day = []
    for n in range(40):
        value = f"{900 + 150 * n}.00"
        d = _submit(
            container,
            history,
            content(importer_tax_id=f"IQ-2{n:08d}", items=[item(1, invoice_value=Decimal(value))]),
        )
        previous_day.append(d.id)
        container.clock.advance(timedelta(minutes=10))
    with container.uow() as uow:
        scores = sorted((uow.risk.score_of(i)["score"] for i in previous_day), reverse=True)
    threshold = scores[3]
    container.clock.set(datetime(2026, 3, 20, 6, 0, tzinfo=UTC))
    for n, value in enumerate(("900.00", "3000.00", "6000.00", "1200.00", "4500.00")):
        decl = _submit(
            container,
            history,
            content(importer_tax_id=f"IQ-3{n:08d}", items=[item(1, invoice_value=Decimal(value))]),
        )
        with container.uow() as uow:
            score = uow.risk.score_of(decl.id)["score"]
            reasons = uow.declarations.lane_decision(decl.id)["reasons"]
        assert reasons[0] == "no rule matched -> green"
        assert f"threshold {threshold:.3f} (target 8% red)" in reasons[-1]
        assert (decl.lane is Lane.RED) == (score >= threshold), reasons
    # The first declarations of the day before had no threshold: rules decided.
    with container.uow() as uow:
        first = uow.declarations.lane_decision(previous_day[0])["reasons"]
    assert "no threshold yet" in first[-1]


def test_a_damaged_model_falls_back_to_the_rules_with_the_reason(container, history):
    with container.uow() as uow:
        risk.train_model(uow=uow, actor=None, trainer=trainer, reason="first model")
    with container.engine.begin() as conn:
        conn.execute(update(t.risk_models).values(model=t.risk_models.c.model + " "))
    red = _submit(container, history, _tobacco(CHEAT, "1000.00"))
    green = _submit(container, history, content(importer_tax_id="IQ-555555555"))
    with container.uow() as uow:
        red_row = uow.risk.score_of(red.id)
        green_row = uow.risk.score_of(green.id)
    assert red.lane is Lane.RED  # the rule still sends tobacco red
    assert green.lane is Lane.GREEN  # what the rules say, as before any model
    assert red_row["score"] is None
    assert "damaged" in red_row["fallback"]
    assert green_row["fallback"] == red_row["fallback"]


def test_a_model_deleted_behind_a_running_server_falls_back_to_the_rules(container, history):
    with container.uow() as uow:
        risk.train_model(uow=uow, actor=None, trainer=trainer, reason="first model")
    _submit(container, history, content(importer_tax_id="IQ-555555555"))  # head now cached
    with container.engine.begin() as conn:
        conn.execute(delete(t.risk_models))
    risk_repository._CACHE.clear()  # a server process that had not loaded the model file yet
    decl = _submit(container, history, _tobacco(CHEAT, "1000.00"))
    with container.uow() as uow:
        row = uow.risk.score_of(decl.id)
    assert decl.lane is Lane.RED  # the rules decide, never "all green"
    assert row["score"] is None
    assert "missing" in row["fallback"]


# -- lane rules as dated data, tried on history first ------------------------------------------
def _rule(**over):
    values = {
        "id": 0,
        "name": "Cheap cigarettes from IQ-900900900",
        "lane": Lane.RED,
        "valid_from": date(2026, 3, 20),
        "valid_to": None,
        "importer_tax_id": CHEAT,
    }
    values.update(over)
    return LaneRule(**values)


def test_a_backtest_counts_the_hits_on_history_and_their_finding_rate(container, history):
    with container.uow(readonly=True) as uow:
        result = risk_rules.backtest_rule(
            uow=uow, actor=None, rule=_rule(), since=date(2026, 3, 15), until=date(2026, 3, 19)
        )
    assert result.declarations == 80
    assert result.hits == 28  # n % 3 == 0 for n in 0..19: 7 a day, 4 days
    assert result.hits_inspected == 28
    assert result.hit_fraud_share > Decimal("0.7") > result.base_fraud_share
    with container.uow(readonly=True) as uow:
        later = risk_rules.backtest_rule(
            uow=uow, actor=None, rule=_rule(), since=date(2026, 3, 18), until=date(2026, 3, 18)
        )
    assert later.declarations == 20  # only the declarations laned in the window


def test_a_rule_applies_from_its_first_day_and_is_ended_with_a_reason(container, make_user):
    admin = make_user("admin")
    trader = make_user("trader")
    with container.uow() as uow, pytest.raises(ValidationFailed, match="cannot start in the past"):
        risk_rules.add_rule(
            uow=uow, actor=admin, rule=_rule(valid_from=date(2026, 3, 1)), reason="late"
        )
    with container.uow() as uow:
        rule = risk_rules.add_rule(
            uow=uow, actor=admin, rule=_rule(valid_from=date(2026, 3, 16)), reason="intelligence"
        )
    plain = content(importer_tax_id=CHEAT)
    assert _submit(container, trader, plain).lane is Lane.GREEN  # 15 March: not yet
    container.clock.advance(timedelta(days=1))
    assert _submit(container, trader, plain).lane is Lane.RED
    with container.uow() as uow:
        risk_rules.end_rule(
            uow=uow, actor=admin, rule_id=rule.id, last_day=date(2026, 3, 16), reason="resolved"
        )
    container.clock.advance(timedelta(days=1))
    assert _submit(container, trader, plain).lane is Lane.GREEN
    with container.uow(readonly=True) as uow:
        actions = [
            e.action
            for e in uow.audit.entries(
                subject=f"lane_rule:{rule.id}",
                actor=None,
                action=None,
                since=None,
                until=None,
                limit=10,
                offset=0,
            )
        ]
    assert actions == ["lane_rule.added", "lane_rule.ended"]


def test_only_an_admin_changes_rules(container, make_user):
    officer = make_user("officer", crossings=["SHL"])
    with container.uow() as uow, pytest.raises(Forbidden):
        risk_rules.add_rule(uow=uow, actor=officer, rule=_rule(), reason="no")


# -- inspection results and the report ----------------------------------------------------------
def test_the_report_gives_hit_rates_per_lane_and_rule_and_revenue_per_inspection(
    container, make_user, history
):
    inspector = _assigned_inspector(container)
    with container.uow(readonly=True) as uow:
        found = [
            o
            for o in uow.risk.control_outcomes(
                datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
            )
            if o.found
        ]
    for o in found[:2]:
        with container.uow() as uow:
            risk_reports.record_extra_duty(
                uow=uow,
                actor=inspector,
                declaration_id=o.declaration_id,
                extra_duty_iqd=Decimal("1250000.500"),
                notes="supplementary assessment",
            )
    with container.uow(readonly=True) as uow:
        r = risk_reports.report(
            uow=uow, actor=None, since=date(2026, 3, 1), until=date(2026, 3, 31)
        )
    red = r["by_lane"]["red"]
    assert red["declarations"] == red["checked"] == 80
    assert red["found"] == len(found)
    assert red["hit_rate"] == (Decimal(len(found)) / 80).quantize(Decimal("0.0001"))
    (tobacco_rule,) = r["by_rule"].values()
    assert tobacco_rule["found"] == len(found)
    (month,) = r["by_crossing_month"]
    assert (month["crossing"], month["month"]) == ("SHL", "2026-03")
    assert month["extra_duty_iqd"] == Decimal("2500001.000")
    assert month["extra_duty_per_check_iqd"] == Decimal("31250.013")  # 2,500,001 / 80


def test_extra_duty_needs_a_finding_and_the_crossings_inspector(container, make_user, history):
    inspector = _assigned_inspector(container)
    elsewhere = make_user("inspector", crossings=["ZRB"])
    with container.uow(readonly=True) as uow:
        outcomes = uow.risk.control_outcomes(
            datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
        )
    clean = next(o for o in outcomes if not o.found)
    hit = next(o for o in outcomes if o.found)
    with container.uow() as uow, pytest.raises(IllegalTransition, match="found an irregularity"):
        risk_reports.record_extra_duty(
            uow=uow,
            actor=inspector,
            declaration_id=clean.declaration_id,
            extra_duty_iqd=Decimal(1000),
            notes="",
        )
    with container.uow() as uow, pytest.raises(Forbidden):
        risk_reports.record_extra_duty(
            uow=uow,
            actor=elsewhere,
            declaration_id=hit.declaration_id,
            extra_duty_iqd=Decimal(1000),
            notes="",
        )
    with container.uow() as uow, pytest.raises(ValidationFailed, match="positive"):
        risk_reports.record_extra_duty(
            uow=uow,
            actor=inspector,
            declaration_id=hit.declaration_id,
            extra_duty_iqd=Decimal(-5),
            notes="",
        )


# -- inspector assignment -----------------------------------------------------------------------
def test_red_declarations_get_an_inspector_in_rotation_and_a_supervisor_may_reassign(
    container, make_user
):
    trader = make_user("trader")
    inspectors = [make_user("inspector", crossings=["SHL"]).id for _ in range(3)]
    make_user("inspector", crossings=["ZRB"])  # another crossing's: never drawn at SHL
    supervisor = make_user("supervisor", crossings=["SHL"])
    seen: dict[str, list[str]] = {}
    ids = []
    for n in range(6):
        importer = f"IQ-4{n % 2:08d}"  # two importers, three red declarations each
        decl = _submit(container, trader, _tobacco(importer, "5000.00"))
        with container.uow(readonly=True) as uow:
            (a,) = uow.risk.assignments_of(decl.id)
        assert a["inspector_id"] in inspectors
        assert a["assigned_by"] == "system"
        seen.setdefault(importer, []).append(a["inspector_id"])
        ids.append(decl.id)
        container.clock.advance(timedelta(minutes=5))
    # Within the 30 days no inspector gets the same importer twice; and 6 over 3 is 2 each.
    assert all(len(set(v)) == len(v) == 3 for v in seen.values())
    with container.uow(readonly=True) as uow:
        per = Counter(uow.risk.assignments_of(i)[0]["inspector_id"] for i in ids)
    assert sorted(per.values()) == [2, 2, 2]

    current = seen["IQ-400000000"][0]
    other = next(i for i in inspectors if i != current)
    with container.uow() as uow, pytest.raises(ValidationFailed, match="say why"):
        risk_assignment.reassign(
            uow=uow, actor=supervisor, declaration_id=ids[0], inspector_id=other, reason=" "
        )
    inspector = make_user("inspector", crossings=["SHL"])
    with container.uow() as uow, pytest.raises(Forbidden):
        risk_assignment.reassign(
            uow=uow,
            actor=inspector,
            declaration_id=ids[0],
            inspector_id=other,
            reason="I want it",
        )
    with container.uow() as uow:
        risk_assignment.reassign(
            uow=uow, actor=supervisor, declaration_id=ids[0], inspector_id=other, reason="sick"
        )
    with container.uow(readonly=True) as uow:
        history = uow.risk.assignments_of(ids[0])
    assert [h["inspector_id"] for h in history] == [current, other]
    assert history[-1]["assigned_by"] == supervisor.id
    assert history[-1]["reasons"] == ["reassigned by a supervisor: sick"]


def test_a_green_declaration_gets_no_inspector(container, make_user):
    trader = make_user("trader")
    make_user("inspector", crossings=["SHL"])
    decl = _submit(container, trader, content())
    assert decl.lane is Lane.GREEN
    with container.uow(readonly=True) as uow:
        assert uow.risk.assignments_of(decl.id) == []
