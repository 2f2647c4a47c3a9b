"""What the crossing-floor pages read and write: evidence, measurements, assignments, the board."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.gate_control import _alarm
from manafidh.domain.alarms import Alarm
from manafidh.domain.evidence import Evidence
from manafidh.domain.measurements import Measurement

_e = t.inspection_evidence.c
_x = t.inspection_measurements.c
_a = t.inspection_assignments.c
_d = t.declarations.c
_v = t.gate_visits.c
_m = t.manual_weights.c
_ev = t.device_events.c
_al = t.alarms.c
# Declarations whose money is still owed (lodged and assessed, not yet settled).
_OWING = ("assessed", "lane_selected", "inspected")


# The latest assignment row of a declaration (a reassignment adds a row): looked up per
# declaration through the declaration_id index, not by grouping the whole history.
_LATEST = (
    select(func.max(_a.id)).where(_a.declaration_id == _d.id).correlate(t.declarations)
).scalar_subquery()


class SqlFloorRepository:
    """Evidence and measurements of inspections; reads for the inspector and supervisor pages."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- evidence and measurements --------------------------------------------------------------
    def add_evidence(self, items: Sequence[Evidence]) -> None:
        """Store attachments of a result (append-only)."""
        if items:
            self.conn.execute(insert(t.inspection_evidence), [vars(e) for e in items])

    def evidence_of(self, declaration_id: str) -> list[Evidence]:
        """A declaration's attachments, oldest first."""
        rows = self.conn.execute(
            select(t.inspection_evidence).where(_e.declaration_id == declaration_id).order_by(_e.id)
        )
        return [Evidence(**{k: v for k, v in r._mapping.items() if k != "id"}) for r in rows]

    def add_measurements(
        self, declaration_id: str, found: Sequence[Measurement], *, by: str, at: datetime
    ) -> None:
        """Store the quantities measured by an inspection."""
        rows = [
            {
                "declaration_id": declaration_id,
                "line_no": m.line_no,
                "quantity": m.quantity,
                "gross_mass_kg": m.gross_mass_kg,
                "recorded_by": by,
                "recorded_at": at,
            }
            for m in found
        ]
        if rows:
            self.conn.execute(insert(t.inspection_measurements), rows)

    def measurements_of(self, declaration_id: str) -> list[Measurement]:
        """The quantities measured on a declaration's items, by line."""
        rows = self.conn.execute(
            select(_x.line_no, _x.quantity, _x.gross_mass_kg)
            .where(_x.declaration_id == declaration_id)
            .order_by(_x.line_no, _x.id)
        )
        return [Measurement(r.line_no, r.quantity, r.gross_mass_kg) for r in rows]

    # -- assignments ----------------------------------------------------------------------------
    def waiting_inspections(
        self, *, crossing_codes: Sequence[str], inspector_id: str | None
    ) -> list[dict[str, Any]]:
        """Red declarations waiting for their inspection, oldest lodged first, with the current
        inspector (only ``inspector_id``'s when given)."""
        q = (
            select(
                _d.id,
                _d.reference,
                _d.crossing_code,
                _d.plate,
                _d.lodged_at,
                _a.inspector_id,
                _a.assigned_at,
                _a.assigned_by,
            )
            .select_from(t.declarations.outerjoin(t.inspection_assignments, _a.id == _LATEST))
            .where(
                _d.crossing_code.in_(list(crossing_codes)),
                _d.state == "lane_selected",
                _d.lane == "red",
                _d.checks_done.is_(False),
            )
            .order_by(_d.lodged_at, _d.reference)
            .limit(500)
        )
        if inspector_id is not None:
            q = q.where(_a.inspector_id == inspector_id)
        return [dict(r._mapping) for r in self.conn.execute(q)]

    # -- four eyes ------------------------------------------------------------------------------
    def pending_manual_weights(self, crossing_codes: Sequence[str]) -> list[dict[str, Any]]:
        """Manual weights awaiting a second supervisor, oldest first, with their visit."""
        q = (
            select(
                _m.id,
                _m.which,
                _m.kg,
                _m.proposed_at,
                _m.proposed_by,
                _m.reason,
                _v.crossing_code,
                _v.plate,
                _v.lane,
                _v.declaration_id,
            )
            .join(t.gate_visits, _v.id == _m.visit_id)
            .where(_m.decided_at.is_(None), _v.crossing_code.in_(list(crossing_codes)))
            .order_by(_m.proposed_at)
        )
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def weighable_visits(self, crossing_code: str, limit: int = 100) -> list[dict[str, Any]]:
        """Open visits of a crossing whose weight is not reconciled (a manual weight may help)."""
        q = (
            select(_v.id, _v.plate, _v.lane, _v.opened_at, _v.entry_gross_kg, _v.tare_kg)
            .where(
                _v.crossing_code == crossing_code,
                _v.closed_at.is_(None),
                _v.weight_state == "pending",
            )
            .order_by(_v.opened_at)
            .limit(limit)
        )
        return [dict(r._mapping) for r in self.conn.execute(q)]

    # -- the board ------------------------------------------------------------------------------
    def board(self, crossing_code: str, limit: int) -> dict[str, tuple[int, list[dict[str, Any]]]]:
        """Each bucket of the live board: its count and its ``limit`` oldest trucks."""
        yard = and_(_v.crossing_code == crossing_code, _v.closed_at.is_(None))
        visits = {
            "yard": yard,
            "weighbridge": and_(yard, _v.weight_state == "pending"),
        }
        out: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        for key, where in visits.items():
            count = self.conn.execute(select(func.count()).where(where)).scalar_one()
            rows = self.conn.execute(
                select(
                    _v.plate.label("plate"),
                    _v.opened_at.label("since"),
                    _d.reference.label("reference"),
                )
                .select_from(t.gate_visits.outerjoin(t.declarations, _d.id == _v.declaration_id))
                .where(where)
                .order_by(_v.opened_at)
                .limit(limit)
            )
            out[key] = (int(count), [dict(r._mapping) for r in rows])
        here = _d.crossing_code == crossing_code
        declared = {
            "payment": and_(here, _d.state.in_(_OWING), _d.settled.is_(False)),
            "held": and_(here, _d.state == "held"),
        }
        for key, where in declared.items():
            count = self.conn.execute(select(func.count()).where(where)).scalar_one()
            rows = self.conn.execute(
                select(
                    _d.plate.label("plate"),
                    _d.updated_at.label("since"),
                    _d.reference.label("reference"),
                )
                .where(where)
                .order_by(_d.updated_at)
                .limit(limit)
            )
            out[key] = (int(count), [dict(r._mapping) for r in rows])
        return out

    # -- one declaration's devices and alarms ---------------------------------------------------
    def visit_events(
        self, *, crossing_code: str, plate: str, since: datetime, until: datetime
    ) -> list[dict[str, Any]]:
        """Weighings and reads of a truck's plate at a crossing during its visit, in time order."""
        q = (
            select(
                _ev.device_id, _ev.sequence, _ev.device_time, _ev.kind, _ev.payload, _ev.position
            )
            .where(
                _ev.crossing_code == crossing_code,
                _ev.device_time >= since,
                _ev.device_time <= until,
                _ev.plate == plate,
                _ev.kind.in_(("weighing", "plate_read")),
            )
            .order_by(_ev.device_time, _ev.sequence)
            .limit(200)
        )
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def alarms_about(self, crossing_code: str, subjects: Sequence[str]) -> list[Alarm]:
        """Alarms at a crossing about any of ``subjects`` (the declaration, its plates)."""
        rows = self.conn.execute(
            select(t.alarms)
            .where(_al.crossing_code == crossing_code, _al.subject.in_(list(subjects)))
            .order_by(_al.raised_at.desc())
            .limit(100)
        )
        return [_alarm(r) for r in rows]
