"""Visits, exit decisions, alarm steps, registered tares and manual weights in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, insert, select, update

from manafidh.adapters.db import tables as t
from manafidh.domain.alarm_steps import AlarmStep, Step
from manafidh.domain.alarms import Alarm, AlarmKind, Severity
from manafidh.domain.devices.monitoring import Happenings
from manafidh.domain.devices.visits import GateDecision, ManualWeight, Visit, WeightState

_v = t.gate_visits.c
_g = t.gate_decisions.c
_a = t.alarms.c
_s = t.alarm_steps.c
_m = t.manual_weights.c
# A declaration a truck may be visiting for: lodged and not yet gone or withdrawn.
_INACTIVE = ("draft", "cancelled", "exited")
_d = t.declarations.c
_tare = t.vehicle_tares.c
# Hot statements are built once; the lists travel as expanding bind parameters.
_OPEN_VISITS = select(t.gate_visits).where(
    _v.plate.in_(bindparam("plates", expanding=True)), _v.closed_at.is_(None)
)
_SAVE_VISIT = (
    update(t.gate_visits)
    .where(_v.id == bindparam("visit_id"))
    .values({c.name: bindparam(c.name) for c in t.gate_visits.c if c.name != "id"})
)
_ACTIVE = (
    select(_d.id, _d.crossing_code, _d.plate)
    .where(_d.plate.in_(bindparam("plates", expanding=True)), _d.state.not_in(_INACTIVE))
    .order_by(_d.created_at)
)
_TARES = (
    select(_tare.plate, _tare.tare_kg)
    .where(_tare.plate.in_(bindparam("plates", expanding=True)))
    .order_by(_tare.id)
)


def _visit(r: Any) -> Visit:
    return Visit(
        id=r.id,
        crossing_code=r.crossing_code,
        lane=r.lane,
        plate=r.plate,
        opened_at=r.opened_at,
        opened_by=r.opened_by,
        declaration_id=r.declaration_id,
        entry_gross_kg=r.entry_gross_kg,
        tare_kg=r.tare_kg,
        tare_source=r.tare_source,
        weight_state=WeightState(r.weight_state),
        measured_kg=r.measured_kg,
        closed_at=r.closed_at,
    )


def _alarm(r: Any) -> Alarm:
    return Alarm(
        id=r.id,
        crossing_code=r.crossing_code,
        kind=AlarmKind(r.kind),
        severity=Severity(r.severity),
        raised_at=r.raised_at,
        subject=r.subject,
        message=r.message,
        details=dict(r.details),
        state=r.state,
    )


class SqlGateControlRepository:
    """What the gate control and weight reconciliation read and write."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- visits -------------------------------------------------------------------------------
    def open_visits(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Visit]:
        wanted = set(keys)
        plates = {p for _, p in wanted}
        if not plates:
            return {}
        rows = self.conn.execute(_OPEN_VISITS, {"plates": list(plates)})
        return {
            (r.crossing_code, r.plate): _visit(r)
            for r in rows
            if (r.crossing_code, r.plate) in wanted
        }

    def visit(self, visit_id: str) -> Visit | None:
        row = self.conn.execute(select(t.gate_visits).where(_v.id == visit_id)).first()
        return _visit(row) if row else None

    def visit_of(self, declaration_id: str) -> Visit | None:
        row = self.conn.execute(
            select(t.gate_visits)
            .where(_v.declaration_id == declaration_id)
            .order_by(_v.opened_at.desc())
        ).first()
        return _visit(row) if row else None

    def add_visits(self, visits: Iterable[Visit]) -> None:
        rows = [vars(v) | {"weight_state": v.weight_state.value} for v in visits]
        if rows:
            self.conn.execute(insert(t.gate_visits), rows)

    def save_visit(self, v: Visit) -> None:
        self.save_visits([v])

    def save_visits(self, visits: Iterable[Visit]) -> None:
        rows = [vars(v) | {"weight_state": v.weight_state.value, "visit_id": v.id} for v in visits]
        if rows:
            self.conn.execute(_SAVE_VISIT, rows)

    def active_declarations(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        wanted = set(keys)
        if not wanted:
            return {}
        rows = self.conn.execute(_ACTIVE, {"plates": list({p for _, p in wanted})})
        # The newest declaration of each truck wins (rows come oldest first).
        return {
            (r.crossing_code, r.plate): r.id for r in rows if (r.crossing_code, r.plate) in wanted
        }

    # -- exit decisions -----------------------------------------------------------------------
    def add_decision(self, d: GateDecision) -> None:
        self.conn.execute(insert(t.gate_decisions).values(**vars(d)))

    def unused_opening(
        self, crossing_code: str, lane: str, plate: str | None, since: datetime
    ) -> GateDecision | None:
        q = select(t.gate_decisions).where(
            _g.crossing_code == crossing_code,
            _g.lane == lane,
            _g.allowed.is_(True),
            _g.used_at.is_(None),
            _g.at >= since,
        )
        if plate is not None:
            q = q.where(_g.plate == plate)
        row = self.conn.execute(q.order_by(_g.at)).first()
        if row is None:
            return None
        return GateDecision(**row._mapping)

    def use_decision(self, d: GateDecision) -> None:
        self.conn.execute(
            update(t.gate_decisions)
            .where(_g.id == d.id)
            .values(used_at=d.used_at, used_by=d.used_by)
        )

    # -- alarms -------------------------------------------------------------------------------
    def alarm(self, alarm_id: str) -> Alarm | None:
        row = self.conn.execute(select(t.alarms).where(_a.id == alarm_id)).first()
        return _alarm(row) if row else None

    def add_step(self, step: AlarmStep, state: str) -> None:
        self.conn.execute(
            insert(t.alarm_steps).values(
                alarm_id=step.alarm_id,
                step=step.step.value,
                at=step.at,
                actor=step.actor,
                reason=step.reason,
            )
        )
        self.conn.execute(update(t.alarms).where(_a.id == step.alarm_id).values(state=state))

    def steps(self, alarm_id: str) -> list[AlarmStep]:
        rows = self.conn.execute(
            select(t.alarm_steps).where(_s.alarm_id == alarm_id).order_by(_s.id)
        )
        return [AlarmStep(r.alarm_id, Step(r.step), r.at, r.actor, r.reason) for r in rows]

    def unescalated_critical(self, raised_before: datetime) -> list[Alarm]:
        escalated = exists().where(_s.alarm_id == _a.id, _s.step == Step.ESCALATED.value)
        rows = self.conn.execute(
            select(t.alarms)
            .where(
                _a.severity == Severity.CRITICAL.value,
                _a.state != Step.RESOLVED.value,
                _a.raised_at <= raised_before,
                ~escalated,
            )
            .order_by(_a.raised_at)
        )
        return [_alarm(r) for r in rows]

    def alarms_of(self, crossing_codes: list[str] | None, kinds: list[str] | None) -> list[Alarm]:
        q = select(t.alarms)
        if crossing_codes is not None:
            q = q.where(_a.crossing_code.in_(crossing_codes))
        if kinds is not None:
            q = q.where(_a.kind.in_(kinds))
        return [_alarm(r) for r in self.conn.execute(q.order_by(_a.raised_at))]

    # -- tares and manual weights -------------------------------------------------------------
    def registered_tares(self, plates: Iterable[str]) -> dict[str, int]:
        wanted = set(plates)
        if not wanted:
            return {}
        rows = self.conn.execute(_TARES, {"plates": list(wanted)})
        return {r.plate: r.tare_kg for r in rows}  # the latest registration wins

    def add_tare(self, *, plate: str, kg: int, at: datetime, by: str, reason: str) -> None:
        self.conn.execute(
            insert(t.vehicle_tares).values(
                plate=plate, tare_kg=kg, registered_at=at, registered_by=by, reason=reason
            )
        )

    def add_manual_weight(self, m: ManualWeight) -> None:
        self.conn.execute(insert(t.manual_weights).values(**vars(m)))

    def manual_weight(self, weight_id: str) -> ManualWeight | None:
        row = self.conn.execute(select(t.manual_weights).where(_m.id == weight_id)).first()
        return ManualWeight(**row._mapping) if row else None

    def decide_manual_weight(self, m: ManualWeight) -> None:
        self.conn.execute(
            update(t.manual_weights)
            .where(_m.id == m.id, _m.decided_at.is_(None))
            .values(decided_at=m.decided_at, decided_by=m.decided_by, approved=m.approved)
        )


class SqlMonitoringReads:
    """The instants a shift report counts, read for one crossing and period."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def happenings(self, crossing_code: str, start: datetime, end: datetime) -> Happenings:
        e = t.device_events.c
        in_window = (e.crossing_code == crossing_code, e.device_time >= start, e.device_time < end)
        arrivals = self.conn.execute(
            select(e.device_time).where(*in_window, e.kind == "plate_read", e.position == "entry")
        ).scalars()
        weighings = self.conn.execute(
            select(e.device_time).where(*in_window, e.kind == "weighing", e.position == "entry")
        ).scalars()
        d, c, tr = t.declarations.c, t.checks.c, t.declaration_transitions.c
        checks = self.conn.execute(
            select(c.at)
            .join_from(t.checks, t.declarations, c.declaration_id == d.id)
            .where(d.crossing_code == crossing_code, c.at >= start, c.at < end)
        ).scalars()
        checked = exists().where(c.declaration_id == d.id)
        exits = self.conn.execute(
            select(tr.at, d.lane, checked)
            .join_from(t.declaration_transitions, t.declarations, tr.declaration_id == d.id)
            .where(
                d.crossing_code == crossing_code, tr.action == "exit", tr.at >= start, tr.at < end
            )
        ).all()
        alarms = self.conn.execute(
            select(_a.raised_at, _a.kind).where(
                _a.crossing_code == crossing_code, _a.raised_at >= start, _a.raised_at < end
            )
        ).all()
        return Happenings(
            arrivals=list(arrivals),
            weighings=list(weighings),
            checks=list(checks),
            exits=[(r[0], r[1], bool(r[2])) for r in exits],
            alarms=[(r[0], r[1]) for r in alarms],
        )
