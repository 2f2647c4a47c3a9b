"""Selection quality: what share of the top-scored n % were frauds, and what share of frauds."""

from __future__ import annotations

import math
from collections.abc import Sequence


def _top(scores: Sequence[float], share: float) -> list[int]:
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], not {share}")
    k = max(1, math.ceil(len(scores) * share))
    # Ties broken by position so that a result is reproducible.
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]


def precision_at(scores: Sequence[float], labels: Sequence[bool], share: float) -> float:
    """Share of frauds among the ``share`` highest-scored declarations (precision@n%)."""
    top = _top(scores, share)
    return sum(1 for i in top if labels[i]) / len(top)


def recall_at(scores: Sequence[float], labels: Sequence[bool], share: float) -> float:
    """Share of all frauds caught by inspecting the ``share`` highest-scored (recall@n%)."""
    total = sum(1 for x in labels if x)
    if total == 0:
        return 0.0
    return sum(1 for i in _top(scores, share) if labels[i]) / total
