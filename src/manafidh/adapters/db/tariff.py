"""Tariff measures, their imports and operations log, origin groups, and measures used."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.generation import ReferenceGeneration
from manafidh.domain.tariff.charges import Charge
from manafidh.domain.tariff.imports import TariffImport, measure_record
from manafidh.domain.tariff.measured import MeasureUse
from manafidh.domain.tariff.measures import CODE_LENGTHS, Measure, MeasureType


def _measure(r: Any) -> Measure:
    return Measure(
        id=r.id,
        code=r.code,
        measure_type=MeasureType(r.measure_type),
        origin=r.origin,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
        legal_reference=r.legal_reference,
        expression=r.expression,
    )


def prefixes(codes: Iterable[str]) -> set[str]:
    """Every code above each of ``codes`` in the tree, the codes included."""
    return {c[:n] for c in codes for n in CODE_LENGTHS if len(c) >= n}


class SqlTariffRepository:
    """Measures and everything that records their history."""

    def __init__(self, conn: Connection, generation: ReferenceGeneration | None = None) -> None:
        self.conn = conn
        self.generation = generation or ReferenceGeneration(conn)

    # -- reading ------------------------------------------------------------------------------
    def measures_for(self, codes: Iterable[str]) -> list[Measure]:
        """Every measure on one of ``codes`` or on a code above one of them."""
        by_code = self.generation.cached("tariff_measures", self._measures_by_code)
        return [m for code in sorted(prefixes(codes)) for m in by_code.get(code, ())]

    def _measures_by_code(self) -> dict[str, tuple[Measure, ...]]:
        # The whole table, held per generation: a national tariff is tens of thousands of rows,
        # a few megabytes, and lodging then reads no measure from the database.
        found: dict[str, list[Measure]] = defaultdict(list)
        for r in self.conn.execute(select(t.tariff_measures).order_by(t.tariff_measures.c.id)):
            found[r.code].append(_measure(r))
        return {code: tuple(ms) for code, ms in found.items()}

    def all_measures(self) -> list[Measure]:
        """Every measure in force at any date."""
        return [_measure(r) for r in self.conn.execute(select(t.tariff_measures))]

    def origin_groups(self) -> dict[str, frozenset[str]]:
        """Each origin group with its member countries."""

        def build() -> dict[str, frozenset[str]]:
            found: dict[str, set[str]] = defaultdict(set)
            for r in self.conn.execute(select(t.tariff_origin_groups)):
                found[r.group_code].add(r.country)
            return {k: frozenset(v) for k, v in found.items()}

        return dict(self.generation.cached("tariff_origin_groups", build))

    def imports(self) -> list[TariffImport]:
        """Every import, oldest first."""
        rows = self.conn.execute(select(t.tariff_imports).order_by(t.tariff_imports.c.imported_at))
        return [TariffImport(**r._asdict()) for r in rows]

    def operations(self, import_id: str) -> list[dict[str, Any]]:
        """The operations log of one import, in order."""
        c = t.tariff_operations.c
        rows = self.conn.execute(
            select(c.at, c.operation, c.measure_id, c.measure)
            .where(c.import_id == import_id)
            .order_by(c.id)
        )
        return [dict(r._mapping) for r in rows]

    def uses_of(self, assessment_id: str) -> list[dict[str, Any]]:
        """The measures an assessment used, as stored with it."""
        c = t.assessment_measures.c
        rows = self.conn.execute(
            select(t.assessment_measures).where(c.assessment_id == assessment_id).order_by(c.id)
        )
        return [dict(r._mapping) for r in rows]

    # -- writing ------------------------------------------------------------------------------
    def put_origin_groups(self, groups: dict[str, tuple[str, frozenset[str]]]) -> int:
        """Replace the members of the named groups ({code: (description, countries)})."""
        c = t.tariff_origin_groups.c
        rows = [
            {"group_code": g, "country": country, "description": desc}
            for g, (desc, countries) in groups.items()
            for country in sorted(countries)
        ]
        self.conn.execute(delete(t.tariff_origin_groups).where(c.group_code.in_(list(groups))))
        if rows:
            self.conn.execute(insert(t.tariff_origin_groups), rows)
        self.generation.bump()
        return len(rows)

    def add_import(
        self, *, import_id: str, at: datetime, actor: str, source: str, measures: Sequence[Measure]
    ) -> list[Measure]:
        """Record an import and add its measures, each logged; returns them with their ids."""
        self.conn.execute(
            insert(t.tariff_imports).values(
                id=import_id, imported_at=at, actor=actor, source=source, measures=len(measures)
            )
        )
        if not measures:
            return []
        self.generation.bump()
        rows = [
            {
                "code": m.code,
                "measure_type": m.measure_type.value,
                "origin": m.origin,
                "valid_from": m.valid_from,
                "valid_to": m.valid_to,
                "legal_reference": m.legal_reference,
                "expression": m.expression,
                "import_id": import_id,
            }
            for m in measures
        ]
        stmt = insert(t.tariff_measures).returning(
            t.tariff_measures.c.id, sort_by_parameter_order=True
        )
        ids = [r.id for r in self.conn.execute(stmt, rows)]
        saved = [
            Measure(
                i,
                m.code,
                m.measure_type,
                m.origin,
                m.valid_from,
                m.valid_to,
                m.legal_reference,
                m.expression,
            )
            for i, m in zip(ids, measures, strict=True)
        ]
        self.conn.execute(
            insert(t.tariff_operations),
            [
                {
                    "at": at,
                    "import_id": import_id,
                    "operation": "create",
                    "measure_id": m.id,
                    "measure": measure_record(m),
                }
                for m in saved
            ],
        )
        return saved

    def roll_back_import(self, *, import_id: str, at: datetime, actor: str, reason: str) -> int:
        """Remove the measures an import created, logging each removal; returns how many."""
        c = t.tariff_measures.c
        gone = [
            _measure(r)
            for r in self.conn.execute(select(t.tariff_measures).where(c.import_id == import_id))
        ]
        if gone:
            self.conn.execute(
                insert(t.tariff_operations),
                [
                    {
                        "at": at,
                        "import_id": import_id,
                        "operation": "delete",
                        "measure_id": m.id,
                        "measure": measure_record(m),
                    }
                    for m in gone
                ],
            )
            self.conn.execute(delete(t.tariff_measures).where(c.import_id == import_id))
            self.generation.bump()
        self.conn.execute(
            update(t.tariff_imports)
            .where(t.tariff_imports.c.id == import_id)
            .values(rolled_back_at=at, rolled_back_by=actor, rollback_reason=reason)
        )
        return len(gone)

    def add_uses(self, assessment_id: str, uses: Sequence[MeasureUse]) -> None:
        """Store the measures an assessment used, values copied."""
        if not uses:
            return
        self.conn.execute(
            insert(t.assessment_measures),
            [
                {
                    "assessment_id": assessment_id,
                    "line_no": u.line_no,
                    "measure_id": u.measure.id,
                    "code": u.measure.code,
                    "measure_type": u.measure.measure_type.value,
                    "origin": u.measure.origin,
                    "valid_from": u.measure.valid_from,
                    "valid_to": u.measure.valid_to,
                    "legal_reference": u.measure.legal_reference,
                    "expression": u.measure.expression,
                    "duty_iqd": u.duty_iqd,
                    "exact_iqd": u.exact_iqd,
                    "explanation": u.explanation,
                }
                for u in uses
            ],
        )

    def add_charges(self, assessment_id: str, charges: Sequence[Charge]) -> None:
        """Store the fees charged with an assessment."""
        if charges:
            self.conn.execute(
                insert(t.assessment_charges),
                [{"assessment_id": assessment_id, **vars(c)} for c in charges],
            )

    def charges_of(self, assessment_id: str) -> list[dict[str, Any]]:
        """The fees charged with an assessment."""
        c = t.assessment_charges.c
        rows = self.conn.execute(
            select(t.assessment_charges).where(c.assessment_id == assessment_id).order_by(c.id)
        )
        return [dict(r._mapping) for r in rows]
