"""Valuation observations (every assessed line), reference values, and flags."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.generation import ReferenceGeneration
from manafidh.adapters.db.write_queue import later
from manafidh.domain.tariff.valuation import Observation, ReferenceValue, ValuationFlag

CLEARED = ("released", "exited")


_INSERT_OBSERVATION = insert(t.valuation_observations).inline()


class SqlValuationRepository:
    """What valuation control reads and writes."""

    def __init__(self, conn: Connection, generation: ReferenceGeneration | None = None) -> None:
        self.conn = conn
        self.generation = generation or ReferenceGeneration(conn)

    def add_observations(
        self,
        *,
        assessment_id: str,
        declaration_id: str,
        day: date,
        lines: Sequence[tuple[int, Observation]],
    ) -> None:
        """Record the assessed lines (history for reference values)."""
        if lines:
            later(
                self.conn,
                _INSERT_OBSERVATION,
                [
                    {
                        "assessment_id": assessment_id,
                        "declaration_id": declaration_id,
                        "line_no": n,
                        "hs6": o.hs6,
                        "origin": o.origin,
                        "net_kg": o.net_kg,
                        "value_iqd": o.value_iqd,
                        "acceptance_date": day,
                    }
                    for n, o in lines
                ],
            )

    def cleared(self) -> list[Observation]:
        """The lines of cleared declarations, each at its latest assessment."""
        o, d = t.valuation_observations.c, t.declarations.c
        rows = self.conn.execute(
            select(o.declaration_id, o.line_no, o.hs6, o.origin, o.net_kg, o.value_iqd)
            .join(t.declarations, d.id == o.declaration_id)
            .where(d.state.in_(CLEARED))
            .order_by(o.id)
        )
        latest: dict[tuple[str, int], Observation] = {}
        for r in rows:  # later rows (re-assessments) replace earlier ones
            latest[(r.declaration_id, r.line_no)] = Observation(
                r.hs6, r.origin, r.net_kg, r.value_iqd
            )
        return list(latest.values())

    def replace_references(self, refs: Sequence[ReferenceValue], at: datetime) -> None:
        """Replace the reference values computed from history."""
        self.conn.execute(
            delete(t.valuation_references).where(t.valuation_references.c.source == "history")
        )
        if refs:
            self.conn.execute(
                insert(t.valuation_references),
                [{**vars(r), "computed_at": at} for r in refs],
            )
        self.generation.bump()

    def references(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ReferenceValue]:
        """The reference values of the given (hs6, origin) pairs that have one."""
        every = self.generation.cached("valuation_references", self._all_references)
        return {k: every[k] for k in set(keys) if k in every}

    def _all_references(self) -> dict[tuple[str, str], ReferenceValue]:
        # Held per generation (one row per HS6 and origin traded): lodging reads none of them.
        return {
            (r.hs6, r.origin): ReferenceValue(
                r.hs6,
                r.origin,
                r.median_per_kg,
                r.p25_per_kg,
                r.p10_per_kg,
                r.sample_size,
                r.source,
            )
            for r in self.conn.execute(select(t.valuation_references))
        }

    def add_flags(
        self, assessment_id: str, declaration_id: str, flags: Sequence[ValuationFlag]
    ) -> None:
        """Record the valuation flags of an assessment."""
        if flags:
            self.conn.execute(
                insert(t.valuation_flags),
                [
                    {
                        "assessment_id": assessment_id,
                        "declaration_id": declaration_id,
                        "line_no": f.line_no,
                        "declared_per_kg": f.declared_per_kg,
                        "reference_median_per_kg": f.reference.median_per_kg,
                        "ratio": f.ratio,
                        "threshold": f.threshold,
                        "explanation": f.explanation(),
                    }
                    for f in flags
                ],
            )

    def flags_of(self, declaration_id: str) -> list[dict[str, Any]]:
        """The valuation flags raised on a declaration, oldest first."""
        c = t.valuation_flags.c
        rows = self.conn.execute(
            select(t.valuation_flags).where(c.declaration_id == declaration_id).order_by(c.id)
        )
        return [dict(r._mapping) for r in rows]
