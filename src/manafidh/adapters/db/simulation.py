"""The simulator's ground truth: what each simulated truck really carried.

Kept in its own table, written only by the simulator and never read by the clearance rules, so
that risk rules and models can later be scored against the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select

from manafidh.adapters.db import tables as t


@dataclass(frozen=True)
class TruthRow:
    """One declaration's ground truth: the misdeclaration kind (None when honest) and details."""

    declaration_id: str
    misdeclaration: str | None
    details: dict[str, Any]


def add_truth(engine: Engine, rows: Sequence[TruthRow]) -> None:
    """Insert ground-truth rows in one transaction."""
    if not rows:
        return
    with engine.begin() as conn:
        conn.execute(
            insert(t.simulation_truth),
            [
                {
                    "declaration_id": r.declaration_id,
                    "misdeclaration": r.misdeclaration,
                    "details": r.details,
                }
                for r in rows
            ],
        )


def truth(engine: Engine) -> dict[str, TruthRow]:
    """Every ground-truth row, by declaration id."""
    with engine.connect() as conn:
        rows = conn.execute(select(t.simulation_truth))
        return {
            r.declaration_id: TruthRow(r.declaration_id, r.misdeclaration, dict(r.details))
            for r in rows
        }


def truth_counts(engine: Engine) -> dict[str | None, int]:
    """How many simulated declarations per misdeclaration kind (None: honest)."""
    c = t.simulation_truth.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.misdeclaration, func.count()).group_by(c.misdeclaration))
        return {r[0]: int(r[1]) for r in rows}
