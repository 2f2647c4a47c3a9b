"""Lane rule conditions on facts (declarant, valuation flag, weight, exemption, hour, first
declarations) and rules whose action is a score weight."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from tests.factories import content

from manafidh.domain.declarations.model import Lane
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.risk.backtest import PastCase, backtest
from manafidh.domain.risk.lanes import LaneRule, RuleFacts, in_hours, select_lane
from manafidh.domain.risk.scoring import Score
from manafidh.domain.risk.selection import apply_score, with_rule_weights

DAY = date(2026, 3, 15)


def rule(lane: Lane = Lane.RED, **conditions) -> LaneRule:
    return LaneRule(1, "test rule", lane, DAY, None, **conditions)


def hits(r: LaneRule, facts: RuleFacts | None) -> bool:
    return r.matches(content(), "SHL", Decimal(1000), facts)


def test_a_declarant_rule_matches_only_that_declarant():
    r = rule(declarant_id="broker-7")
    assert hits(r, RuleFacts(declarant_id="broker-7"))
    assert not hits(r, RuleFacts(declarant_id="broker-8"))
    assert not hits(r, None)


def test_a_valuation_flag_rule_matches_only_a_flagged_declaration():
    r = rule(valuation_flag=True)
    assert hits(r, RuleFacts(valuation_flagged=True))
    assert not hits(r, RuleFacts(valuation_flagged=False))
    assert not hits(r, RuleFacts())  # not checked: the condition does not hold


def test_a_weight_mismatch_rule_needs_a_weighing_that_disagrees():
    r = rule(weight_mismatch=True)
    assert hits(r, RuleFacts(weight_mismatch=True))
    assert not hits(r, RuleFacts(weight_mismatch=False))
    assert not hits(r, RuleFacts(weight_mismatch=None))  # not weighed yet


def test_an_exemption_use_rule_matches_declarations_that_claim_relief():
    r = rule(exemption_use=True)
    assert hits(r, RuleFacts(exemption_used=True))
    assert not hits(r, RuleFacts(exemption_used=False))


def test_a_time_of_day_rule_covers_its_hours_and_wraps_midnight():
    night = rule(hour_from=20, hour_to=6)
    assert [h for h in range(24) if hits(night, RuleFacts(local_hour=h))] == [
        0, 1, 2, 3, 4, 5, 20, 21, 22, 23,
    ]  # fmt: skip
    morning = rule(hour_from=6, hour_to=9)
    assert [h for h in range(24) if hits(morning, RuleFacts(local_hour=h))] == [6, 7, 8]
    assert not hits(morning, RuleFacts())
    assert in_hours(23, 22, 24)


def test_a_first_declarations_rule_matches_an_importers_first_n():
    r = rule(first_declarations=3)
    assert [n for n in range(6) if hits(r, RuleFacts(importer_prior_declarations=n))] == [0, 1, 2]
    assert not hits(r, RuleFacts())


def test_conditions_combine_all_must_hold():
    r = rule(hs_prefix="6907", valuation_flag=True, hour_from=20, hour_to=6)
    assert hits(r, RuleFacts(valuation_flagged=True, local_hour=22))
    assert not hits(r, RuleFacts(valuation_flagged=True, local_hour=12))
    assert not LaneRule(1, "x", Lane.RED, DAY, None, hs_prefix="24", valuation_flag=True).matches(
        content(), "SHL", Decimal(1000), RuleFacts(valuation_flagged=True, local_hour=22)
    )


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"valuation_flag": False}, "no condition"),
        ({"hour_from": 20}, "both hour_from and hour_to"),
        ({"hour_from": 5, "hour_to": 5}, "equal"),
        ({"hour_from": 25, "hour_to": 5}, "0 to 24"),
        ({"first_declarations": 0}, "1 to 1000"),
        ({"hs_prefix": "24", "score_weight": Decimal(1)}, "not both"),
        ({"hs_prefix": "24", "lane": Lane.GREEN}, "yellow or red"),
        ({"hs_prefix": "24", "lane": Lane.GREEN, "score_weight": Decimal(0)}, "non-zero"),
        ({"hs_prefix": "24", "lane": Lane.GREEN, "score_weight": Decimal(11)}, "at most"),
    ],
)
def test_a_rule_that_makes_no_sense_is_refused(conditions, message):
    lane = conditions.pop("lane", Lane.RED)
    with pytest.raises(ValidationFailed, match=message):
        LaneRule(1, "bad", lane, DAY, None, **conditions)


def _select(rules, facts):
    return select_lane(
        content=content(),
        crossing_code="SHL",
        customs_value_iqd=Decimal(1000),
        day=DAY,
        rules=rules,
        random_rate=Decimal(0),
        rng=random.Random(1),
        facts=facts,
    )


def test_a_score_weight_rule_keeps_the_lane_and_records_its_weight():
    weight = LaneRule(
        4, "night lodging", Lane.GREEN, DAY, None, hour_from=20, hour_to=6, score_weight=Decimal(2)
    )
    d = _select([weight], RuleFacts(local_hour=23))
    assert d.lane is Lane.GREEN
    assert d.matched_rule_ids == [4]
    assert d.score_weights == ((4, Decimal(2)),)
    assert d.reasons == ["rule 4 'night lodging' -> score weight +2"]
    assert _select([weight], RuleFacts(local_hour=12)).score_weights == ()


def test_a_score_weight_rule_moves_a_declaration_across_the_threshold():
    weight = LaneRule(
        4, "new importer", Lane.GREEN, DAY, None, first_declarations=2, score_weight=Decimal("1.5")
    )
    facts = RuleFacts(importer_prior_declarations=0)
    model = Score(0.30, 3, [("num.log_value_per_kg", -0.2)])
    threshold, target = 0.5, Decimal("0.08")

    plain = apply_score(
        _select([], facts), score=model.value, model_version=3, threshold=threshold,
        target_share=target,
    )  # fmt: skip
    assert plain.lane is Lane.GREEN

    decision = _select([weight], facts)
    moved = with_rule_weights(model, decision.score_weights)
    assert moved.value == pytest.approx(1 / (1 + (0.7 / 0.3) * 2.718281828**-1.5), rel=1e-6)
    assert moved.factors[0] == ("rule.4", 1.5)  # the officer sees what the rule added
    laned = apply_score(
        decision, score=moved.value, model_version=3, threshold=threshold, target_share=target
    )
    assert laned.lane is Lane.RED
    assert laned.reasons[0] == "rule 4 'new importer' -> score weight +1.5"
    assert "-> red" in laned.reasons[-1]


def test_a_negative_score_weight_lowers_the_score():
    lowered = with_rule_weights(Score(0.6, 1), [(9, Decimal(-2))])
    assert lowered.value < 0.6


def test_a_backtest_uses_the_facts_of_each_past_declaration():
    r = rule(valuation_flag=True)
    flagged, clean = RuleFacts(valuation_flagged=True), RuleFacts(valuation_flagged=False)
    cases = [
        PastCase("a", content(), "SHL", Decimal(1), DAY, True, True, flagged),
        PastCase("b", content(), "SHL", Decimal(1), DAY, True, False, clean),
        PastCase("c", content(), "SHL", Decimal(1), DAY, False, False, None),
    ]
    result = backtest(r, cases)
    assert (result.hits, result.hits_inspected, result.hits_found) == (1, 1, 1)
    assert result.base_fraud_share == Decimal("0.5")
