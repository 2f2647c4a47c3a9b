"""Selection by score: a crossing sends red the share of declarations its inspectors can take.

The threshold is the score above which the target share of the crossing's recent declarations
fell. It is set from days before the current one, so it stays the same all day and a declarant
cannot move it by lodging many low-risk declarations at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

from manafidh.domain.declarations.model import Lane
from manafidh.domain.risk.lanes import LaneDecision
from manafidh.domain.risk.scoring import Score

# Below this many recent scores a quantile says little: the score is then shown, not used.
MIN_RECENT_SCORES = 30


def score_threshold(recent_scores: Sequence[float], target_share: Decimal) -> float | None:
    """The score at which ``target_share`` of ``recent_scores`` would have gone red."""
    if not Decimal(0) < target_share <= Decimal(1):
        return None
    if len(recent_scores) < MIN_RECENT_SCORES:
        return None
    ranked = sorted(recent_scores, reverse=True)
    k = max(1, math.ceil(len(ranked) * float(target_share)))
    threshold = ranked[k - 1]
    # A model that barely separates declarations (a first model on little data scores many the
    # same) would send every tie red: far beyond capacity. Then there is no usable threshold.
    at_or_above = sum(1 for s in ranked if s >= threshold)
    if at_or_above > max(2 * k, k + MIN_RECENT_SCORES // 10):
        return None
    return threshold


def apply_score(
    decision: LaneDecision,
    *,
    score: float,
    model_version: int,
    threshold: float | None,
    target_share: Decimal | None,
) -> LaneDecision:
    """The decision with the score's reason added; red when the score reaches the threshold."""
    base = f"risk score {score:.3f} (model {model_version})"
    if threshold is None or target_share is None:
        note = (
            f"{base}; no threshold yet (too few recent scores, scores that do not separate,"
            " or no target): rules decide"
        )
        return replace(decision, reasons=[*decision.reasons, note])
    share = f"{(target_share * 100).normalize()}%"
    if score >= threshold:
        note = f"{base} >= threshold {threshold:.3f} (target {share} red) -> red"
        return replace(decision, lane=Lane.RED, reasons=[*decision.reasons, note])
    note = f"{base} < threshold {threshold:.3f} (target {share} red)"
    return replace(decision, reasons=[*decision.reasons, note])


def with_rule_weights(score: Score, weights: Iterable[tuple[int, Decimal]]) -> Score:
    """The score moved by score-weight rules, added in log-odds like the model's own factors.

    Each rule shows among the factors as ``rule.<id>`` so the officer sees what it added.
    """
    weights = list(weights)
    if not weights:
        return score
    p = min(max(score.value, 1e-9), 1 - 1e-9)
    logit = math.log(p / (1 - p)) + float(sum(w for _, w in weights))
    value = 1.0 / (1.0 + math.exp(-logit))
    rules = [(f"rule.{rule_id}", float(w)) for rule_id, w in weights]
    return replace(score, value=value, factors=[*rules, *score.factors])
