"""Risk models, the scores they gave, and the inspection outcomes they learn from."""

from __future__ import annotations

import hashlib
import math
import threading
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from manafidh.adapters.db import tables as t

# The reference cache's generation counter: bumped on every reference change, read per unit of work.
from manafidh.adapters.db.generation import ReferenceGeneration
from manafidh.adapters.db.write_queue import later
from manafidh.adapters.risk_model import RiskModel
from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.risk.features import RiskRecord
from manafidh.domain.risk.report import ControlOutcome
from manafidh.domain.risk.scoring import RiskModelUnavailable, Score
from manafidh.domain.risk.selection import score_threshold

# Parsing a model file takes tens of milliseconds: keep the last one per process, keyed by its
# checksum, so lodging pays one small query to learn whether a newer model exists.
_CACHE: dict[str, RiskModel] = {}
_CACHE_LOCK = threading.Lock()
# A crossing's threshold is set once a day from the week before; scores of the day itself never
# move it (so a burst of lodgings cannot shift it).
THRESHOLD_DAYS = 7
_THRESHOLDS: dict[tuple[str, date, int, Decimal], float | None] = {}


def record_json(record: RiskRecord) -> dict[str, Any]:
    """The model inputs of a record as JSON (NaN, which JSON lacks, as null)."""
    return {
        "day": record.day.isoformat(),
        "entities": dict(record.entities),
        "categories": dict(record.categories),
        "numbers": {k: (None if math.isnan(v) else v) for k, v in record.numbers.items()},
    }


def record_from_json(
    key: str, data: dict[str, Any], found: bool | None, outcome_day: date | None
) -> RiskRecord:
    """The inverse of :func:`record_json`, with the outcome attached."""
    return RiskRecord(
        key=key,
        day=date.fromisoformat(data["day"]),
        entities=data["entities"],
        categories=data["categories"],
        numbers={k: (math.nan if v is None else float(v)) for k, v in data["numbers"].items()},
        found=found,
        outcome_day=outcome_day,
    )


_INSERT_SCORE = insert(t.risk_scores).inline()


class SqlRiskRepository:
    """Risk models and scores in the database."""

    def __init__(self, conn: Connection, generation: ReferenceGeneration | None = None) -> None:
        self.conn = conn
        self.generation = generation or ReferenceGeneration(conn)

    # -- models ----------------------------------------------------------------------------------
    def next_model_version(self) -> int:
        """One more than the highest model version (1 for the first)."""
        top = self.conn.execute(select(func.max(t.risk_models.c.version))).scalar()
        return int(top or 0) + 1

    def add_model(self, *, version: int, text: str, info: dict[str, Any]) -> None:
        """Store a trained model file with what it was trained on."""
        sha = hashlib.sha256(text.encode()).hexdigest()
        self.conn.execute(
            insert(t.risk_models).values(version=version, sha256=sha, model=text, **info)
        )
        self.generation.bump()

    def models(self) -> list[dict[str, Any]]:
        """Every model version, newest first, without the model file."""
        cols = [c for c in t.risk_models.c if c.name != "model"]
        rows = self.conn.execute(select(*cols).order_by(t.risk_models.c.version.desc()))
        return [dict(r._mapping) for r in rows]

    def current_model(self) -> tuple[int, RiskModel]:
        """The newest model and its version; RiskModelUnavailable when none or damaged."""
        m = t.risk_models.c

        def newest() -> tuple[int, str] | None:
            row = self.conn.execute(
                select(m.version, m.sha256).order_by(m.version.desc()).limit(1)
            ).first()
            return None if row is None else (row[0], row[1])

        # Which model is newest changes only when one is trained (a generation bump).
        head = self.generation.cached("risk_model_head", newest)
        if head is None:
            raise RiskModelUnavailable("no risk model has been trained yet")
        version, sha = head
        with _CACHE_LOCK:
            cached = _CACHE.get(sha)
        if cached is not None:
            return version, cached
        text = self.conn.execute(select(m.model).where(m.version == version)).scalar()
        if text is None:  # deleted behind the product's back since the head was cached
            raise RiskModelUnavailable(f"risk model {version} is missing")
        if hashlib.sha256(text.encode()).hexdigest() != sha:
            raise RiskModelUnavailable(f"risk model {version} is damaged (checksum mismatch)")
        model = RiskModel.loads(text)
        with _CACHE_LOCK:
            _CACHE.clear()
            _CACHE[sha] = model
        return version, model

    # -- scores ----------------------------------------------------------------------------------
    def add_score(
        self,
        *,
        declaration_id: str,
        at: datetime,
        record: RiskRecord,
        score: Score | None,
        fallback: str | None,
    ) -> None:
        """Store a declaration's score, or why there is none, with the inputs it was given."""
        later(
            self.conn,
            _INSERT_SCORE,
            {
                "declaration_id": declaration_id,
                "scored_at": at,
                "model_version": score.model_version if score else None,
                "score": score.value if score else None,
                "factors": [[n, v] for n, v in score.factors] if score else [],
                "inputs": record_json(record),
                "fallback": fallback,
            },
        )

    def score_of(self, declaration_id: str) -> dict[str, Any] | None:
        """The stored score row of a declaration."""
        row = self.conn.execute(
            select(t.risk_scores).where(t.risk_scores.c.declaration_id == declaration_id)
        ).first()
        return dict(row._mapping) if row else None

    def training_records(self, until: datetime) -> list[RiskRecord]:
        """Every scored declaration up to ``until``, with its first inspection's outcome."""
        s, c = t.risk_scores.c, t.checks.c
        first = (
            select(c.declaration_id, func.min(c.id).label("check_id"))
            .where(c.kind == "inspection", c.at <= until)
            .group_by(c.declaration_id)
            .subquery()
        )
        rows = self.conn.execute(
            select(s.declaration_id, s.inputs, c.found, c.at)
            .select_from(
                t.risk_scores.outerjoin(
                    first, first.c.declaration_id == s.declaration_id
                ).outerjoin(t.checks, and_(c.id == first.c.check_id))
            )
            .where(s.scored_at <= until)
            .order_by(s.scored_at, s.declaration_id)
        )
        return [
            record_from_json(
                decl_id, inputs, found, at.date() if isinstance(at, datetime) else None
            )
            for decl_id, inputs, found, at in rows
        ]

    # -- rules -----------------------------------------------------------------------------------
    def past_outcomes(self, since: datetime, until: datetime) -> list[tuple[str, bool, bool]]:
        """(declaration id, inspected, found) of every declaration laned in [since, until)."""
        d, c = t.lane_decisions.c, t.checks.c
        laned = (
            select(d.declaration_id)
            .where(d.decided_at >= since, d.decided_at < until)
            .group_by(d.declaration_id)
            .subquery()
        )
        first = (
            select(c.declaration_id, func.min(c.id).label("check_id"))
            .where(c.kind == "inspection")
            .group_by(c.declaration_id)
            .subquery()
        )
        rows = self.conn.execute(
            select(laned.c.declaration_id, c.found)
            .select_from(
                laned.outerjoin(first, first.c.declaration_id == laned.c.declaration_id).outerjoin(
                    t.checks, c.id == first.c.check_id
                )
            )
            .order_by(laned.c.declaration_id)
        )
        return [(decl_id, found is not None, bool(found)) for decl_id, found in rows]

    def end_lane_rule(self, rule_id: int, valid_to: date) -> None:
        """Close a rule's validity (the reference cache is refreshed by the generation bump)."""
        self.conn.execute(
            update(t.lane_rules).where(t.lane_rules.c.id == rule_id).values(valid_to=valid_to)
        )
        self.generation.bump()

    # -- selection -------------------------------------------------------------------------------
    def recent_scores(
        self, crossing_code: str, since: datetime, until: datetime, model_version: int
    ) -> list[float]:
        """Scores a model gave a crossing's declarations in [since, until)."""
        s, d = t.risk_scores.c, t.declarations.c
        rows = self.conn.execute(
            select(s.score)
            .select_from(t.risk_scores.join(t.declarations, d.id == s.declaration_id))
            .where(
                d.crossing_code == crossing_code,
                s.model_version == model_version,
                s.scored_at >= since,
                s.scored_at < until,
                s.score.is_not(None),
            )
        )
        return [float(x) for (x,) in rows]

    def score_threshold(
        self, crossing_code: str, day: date, model_version: int, target_share: Decimal
    ) -> float | None:
        """The day's threshold at a crossing from the scores of the week before (cached)."""
        key = (crossing_code, day, model_version, target_share)
        with _CACHE_LOCK:
            if key in _THRESHOLDS:
                return _THRESHOLDS[key]
        since = datetime.combine(day - timedelta(days=THRESHOLD_DAYS), time(), IRAQ_TZ)
        until = datetime.combine(day, time(), IRAQ_TZ)
        value = score_threshold(
            self.recent_scores(crossing_code, since, until, model_version), target_share
        )
        with _CACHE_LOCK:
            if len(_THRESHOLDS) > 10_000:
                _THRESHOLDS.clear()
            _THRESHOLDS[key] = value
        return value

    # -- inspection results and reports ----------------------------------------------------------
    def add_extra_duty(
        self, *, declaration_id: str, extra_duty_iqd: Decimal, actor: str, at: datetime, notes: str
    ) -> None:
        """Record extra duty an inspection found."""
        self.conn.execute(
            insert(t.inspection_results).values(
                declaration_id=declaration_id,
                extra_duty_iqd=extra_duty_iqd,
                recorded_by=actor,
                recorded_at=at,
                notes=notes,
            )
        )

    def control_outcomes(self, since: datetime, until: datetime) -> list[ControlOutcome]:
        """Every declaration laned in [since, until) with its first control and extra duty."""
        d, c, x, decl = t.lane_decisions.c, t.checks.c, t.inspection_results.c, t.declarations.c
        first_decision = (
            select(func.min(d.id).label("id"))
            .where(d.decided_at >= since, d.decided_at < until)
            .group_by(d.declaration_id)
            .subquery()
        )
        first_check = (
            select(c.declaration_id, func.min(c.id).label("check_id"))
            .group_by(c.declaration_id)
            .subquery()
        )
        extra = (
            select(x.declaration_id, func.sum(x.extra_duty_iqd).label("extra"))
            .group_by(x.declaration_id)
            .subquery()
        )
        query = (
            select(
                d.declaration_id,
                decl.crossing_code,
                d.decided_at,
                d.lane,
                d.matched_rule_ids,
                d.random_selected,
                c.found,
                extra.c.extra,
            )
            .select_from(
                t.lane_decisions.join(first_decision, first_decision.c.id == d.id)
                .join(t.declarations, decl.id == d.declaration_id)
                .outerjoin(first_check, first_check.c.declaration_id == d.declaration_id)
                .outerjoin(t.checks, c.id == first_check.c.check_id)
                .outerjoin(extra, extra.c.declaration_id == d.declaration_id)
            )
            .order_by(d.id)
        )
        return [
            ControlOutcome(
                declaration_id=r.declaration_id,
                crossing_code=r.crossing_code,
                month=r.decided_at.astimezone(IRAQ_TZ).strftime("%Y-%m"),
                lane=r.lane,
                matched_rule_ids=list(r.matched_rule_ids or []),
                random_selected=bool(r.random_selected),
                checked=r.found is not None,
                found=bool(r.found),
                # SUM keeps the Fils column type, so this is already IQD as a Decimal.
                extra_duty_iqd=Decimal(r.extra or 0),
            )
            for r in self.conn.execute(query)
        ]

    # -- inspector assignment --------------------------------------------------------------------
    def add_assignment(
        self,
        *,
        declaration_id: str,
        crossing_code: str,
        importer_tax_id: str,
        inspector_id: str,
        at: datetime,
        by: str,
        reasons: list[str],
    ) -> None:
        """Record an assignment (the draw or a reassignment)."""
        self.conn.execute(
            insert(t.inspection_assignments).values(
                declaration_id=declaration_id,
                crossing_code=crossing_code,
                importer_tax_id=importer_tax_id,
                inspector_id=inspector_id,
                assigned_at=at,
                assigned_by=by,
                reasons=reasons,
            )
        )

    def assignments_of(self, declaration_id: str) -> list[dict[str, Any]]:
        """Every assignment of a declaration, oldest first (the last is current)."""
        a = t.inspection_assignments.c
        rows = self.conn.execute(
            select(t.inspection_assignments)
            .where(a.declaration_id == declaration_id)
            .order_by(a.id)
        )
        return [dict(r._mapping) for r in rows]

    def inspectors_of_importer(self, importer_tax_id: str, since: datetime) -> set[str]:
        """Inspectors assigned to this importer's declarations since an instant."""
        a = t.inspection_assignments.c
        rows = self.conn.execute(
            select(a.inspector_id).where(
                a.importer_tax_id == importer_tax_id, a.assigned_at >= since
            )
        )
        return {r for (r,) in rows}

    def workload(self, crossing_code: str, since: datetime) -> dict[str, int]:
        """Assignments per inspector at a crossing since an instant."""
        a = t.inspection_assignments.c
        rows = self.conn.execute(
            select(a.inspector_id, func.count())
            .where(a.crossing_code == crossing_code, a.assigned_at >= since)
            .group_by(a.inspector_id)
        )
        return {i: int(n) for i, n in rows}

    # -- rule facts ------------------------------------------------------------------------------
    def importer_declarations_before(self, importer_tax_id: str, before: datetime) -> int:
        """How many declarations an importer had lodged before an instant."""
        v, d = t.declaration_versions.c, t.declarations.c
        n = self.conn.execute(
            select(func.count(func.distinct(v.declaration_id)))
            .select_from(t.declaration_versions.join(t.declarations, d.id == v.declaration_id))
            .where(v.importer_tax_id == importer_tax_id, d.lodged_at < before)
        ).scalar()
        return int(n or 0)
