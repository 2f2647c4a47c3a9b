"""Inspector assignment: at random among the crossing's inspectors, under constraints.

An inspector is not given the same importer twice within N days (a dated parameter), and the
least-loaded eligible inspectors of the day are preferred, so workloads stay balanced. Nobody
chooses: the draw is the system's, and only a supervisor may reassign, with a reason.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Assignment:
    """Who inspects, and why that inspector."""

    inspector_id: str
    reasons: list[str]


def choose_inspector(
    *,
    inspectors: Sequence[str],
    recently_saw_importer: set[str],
    workload: Mapping[str, int],
    gap_days: int,
    rng: random.Random,
) -> Assignment | None:
    """Draw an inspector; None when the crossing has none (the inspection waits unassigned)."""
    if not inspectors:
        return None
    eligible = [i for i in inspectors if i not in recently_saw_importer]
    reasons = [f"drawn at random among {len(inspectors)} inspectors of the crossing"]
    if not eligible:
        # Every inspector saw this importer lately: inspection still has to happen.
        eligible = list(inspectors)
        reasons.append(f"every inspector had this importer within {gap_days} days: rule waived")
    elif len(eligible) < len(inspectors):
        reasons.append(
            f"{len(inspectors) - len(eligible)} excluded: same importer within {gap_days} days"
        )
    least = min(workload.get(i, 0) for i in eligible)
    pool = [i for i in eligible if workload.get(i, 0) == least]  # in the given order
    if len(pool) < len(eligible):
        reasons.append(f"among the {len(pool)} least loaded today ({least} inspections each)")
    return Assignment(rng.choice(pool), reasons)
