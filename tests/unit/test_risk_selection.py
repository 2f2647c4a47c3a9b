"""Selection: the daily score threshold from capacity, and the unbiased random control."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from tests.factories import content

from manafidh.domain.declarations.model import Lane
from manafidh.domain.risk.lanes import select_lane
from manafidh.domain.risk.selection import MIN_RECENT_SCORES, apply_score, score_threshold


def test_the_threshold_lets_through_the_target_share_of_recent_scores():
    scores = [i / 100 for i in range(100)]
    assert score_threshold(scores, Decimal("0.10")) == 0.90  # the top 10 of 100
    assert score_threshold(scores, Decimal("0.01")) == 0.99


def test_too_few_recent_scores_or_no_capacity_give_no_threshold():
    assert score_threshold([0.5] * (MIN_RECENT_SCORES - 1), Decimal("0.1")) is None
    assert score_threshold([0.5] * 100, Decimal(0)) is None


def _decision():
    return select_lane(
        content=content(),
        crossing_code="SHL",
        customs_value_iqd=Decimal(1000),
        day=date(2026, 3, 15),
        rules=[],
        random_rate=Decimal(0),
        rng=random.Random(1),
    )


def test_a_score_at_the_threshold_goes_red_and_says_why():
    d = apply_score(
        _decision(), score=0.9, model_version=2, threshold=0.9, target_share=Decimal("0.08")
    )
    assert d.lane is Lane.RED
    assert d.reasons[-1] == "risk score 0.900 (model 2) >= threshold 0.900 (target 8% red) -> red"


def test_a_score_below_the_threshold_keeps_the_rules_lane():
    d = apply_score(
        _decision(), score=0.2, model_version=2, threshold=0.9, target_share=Decimal("0.08")
    )
    assert d.lane is Lane.GREEN
    assert "< threshold" in d.reasons[-1]


def test_the_random_control_rate_holds_over_many_declarations():
    rng = random.Random(2026)
    n = 20_000
    picked = sum(
        select_lane(
            content=content(),
            crossing_code="SHL",
            customs_value_iqd=Decimal(1000),
            day=date(2026, 3, 15),
            rules=[],
            random_rate=Decimal("0.02"),
            rng=rng,
        ).random_selected
        for _ in range(n)
    )
    # 2 % of 20,000 is 400; the binomial standard deviation is about 20: allow 4 of them.
    assert 320 <= picked <= 480


def test_scores_that_do_not_separate_give_no_threshold_rather_than_all_red():
    # A first model on little data gives most declarations the same score: ">= threshold"
    # would send them all red, far beyond the crossing's capacity.
    flat = [0.25] * 95 + [0.3, 0.4, 0.5, 0.6, 0.7]
    assert score_threshold(flat, Decimal("0.08")) is None
    spread = [i / 100 for i in range(100)]
    assert score_threshold(spread + [0.5] * 3, Decimal("0.08")) is not None
