"""Gate control from device events: visits, weight reconciliation, exit decisions, alarms.

``process`` runs inside the transaction that stores the events (services/device_events.py), so
an event and what it caused are committed together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from manafidh.domain.alarms import Alarm, AlarmKind, Severity
from manafidh.domain.audit.canonical import decimal_text
from manafidh.domain.declarations.model import Declaration
from manafidh.domain.declarations.states import HOLDABLE, State
from manafidh.domain.devices.events import DeviceEvent, EventKind, GateAction
from manafidh.domain.devices.gate import ExitRecord, normalise_plate
from manafidh.domain.devices.registry import Position
from manafidh.domain.devices.visits import (
    WEIGHT_TOLERANCE_MIN_KG,
    WEIGHT_TOLERANCE_RATE,
    GateDecision,
    Tolerance,
    Visit,
    WeightState,
    exit_decision,
    reconcile,
)
from manafidh.domain.errors import DomainError, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.services import journal, tariff
from manafidh.services.ports import UnitOfWork

OPEN_DECISION_VALID = "gate.open_decision_valid_seconds"
SYSTEM = (journal.SYSTEM, journal.SYSTEM)


def tolerance(uow: UnitOfWork, day: datetime) -> Tolerance:
    """The weight tolerance in force on ``day``."""
    params = uow.reference.parameters()
    return Tolerance(
        rate=params.get(WEIGHT_TOLERANCE_RATE, day.date()).value,
        min_kg=params.get(WEIGHT_TOLERANCE_MIN_KG, day.date()).value,
    )


def raise_alarm(
    uow: UnitOfWork,
    *,
    who: tuple[str, str],
    crossing: str,
    kind: AlarmKind,
    severity: Severity,
    subject: str,
    message: str,
    details: dict[str, Any],
) -> Alarm:
    """Store an alarm and its audit entry (the caller commits)."""
    alarm = Alarm(
        id=uuid.uuid4().hex,
        crossing_code=crossing,
        kind=kind,
        severity=severity,
        raised_at=uow.clock.now(),
        subject=subject,
        message=message,
        details=details,
    )
    uow.gate.add_alarm(alarm)
    journal.record(
        uow,
        who=who,
        crossing=crossing,
        action="alarm.raised",
        subject=f"alarm:{alarm.id}",
        payload={
            "kind": kind.value,
            "severity": severity.value,
            "subject": subject,
            "message": message,
            **details,
        },
    )
    return alarm


class _Batch:
    """The visits a batch of events touches, loaded once and written once."""

    def __init__(self, uow: UnitOfWork, events: Sequence[DeviceEvent]) -> None:
        self.uow = uow
        keys = {(e.crossing_code, e.plate) for e in events if e.plate}
        self.visits = uow.gate_control.open_visits(keys)
        self._declarations = uow.gate_control.active_declarations(keys)
        self._tares = uow.gate_control.registered_tares({p for _, p in keys})
        self.new: dict[str, Visit] = {}
        self.changed: dict[str, Visit] = {}

    def visit(self, e: DeviceEvent) -> Visit:
        assert e.plate is not None
        key = (e.crossing_code, e.plate)
        v = self.visits.get(key)
        if v is None:
            v = Visit(
                id=uuid.uuid4().hex,
                crossing_code=e.crossing_code,
                lane=e.lane,
                plate=e.plate,
                opened_at=e.device_time,
                opened_by=f"{e.device_id}:{e.sequence}",
                declaration_id=self._declarations.get(key),
            )
            self.visits[key] = v
            self.new[v.id] = v
        elif v.id not in self.new:
            self.changed[v.id] = v
        return v

    def registered_tare(self, plate: str) -> int | None:
        return self._tares.get(plate)

    def write(self) -> None:
        self.uow.gate_control.add_visits(self.new.values())
        self.uow.gate_control.save_visits(self.changed.values())


def process(uow: UnitOfWork, events: Sequence[DeviceEvent]) -> None:
    """Act on freshly stored events, in the order the devices recorded them."""
    batch = _Batch(uow, events)
    for e in sorted(events, key=lambda x: (x.device_time, x.device_id, x.sequence)):
        if e.kind is EventKind.WEIGHING:
            _weighing(uow, batch, e)
        elif e.kind is EventKind.PLATE_READ:
            if e.position == Position.ENTRY.value:
                batch.visit(e)
            else:
                _exit_plate_read(uow, e)
        elif e.position == Position.EXIT.value and e.payload["action"] == GateAction.VEHICLE_PASSED:
            _vehicle_passed(uow, batch, e)
    batch.write()


def _weighing(uow: UnitOfWork, batch: _Batch, e: DeviceEvent) -> None:
    v = batch.visit(e)
    kg = int(e.payload["gross_kg"])
    if e.position == Position.ENTRY.value:
        v.entry_gross_kg = kg
    else:
        v.tare_kg, v.tare_source = kg, "exit_weighing"
    if v.tare_kg is None:
        tare = batch.registered_tare(v.plate)
        if tare is not None:
            v.tare_kg, v.tare_source = tare, "registered"
    reconcile_visit(uow, v, who=(e.device_id, "device"))


def reconcile_visit(uow: UnitOfWork, v: Visit, *, who: tuple[str, str]) -> None:
    """Compare measured and declared mass once both weights are known; hold on a mismatch."""
    if v.entry_gross_kg is None or v.tare_kg is None or v.declaration_id is None:
        return
    decl = uow.declarations.get(v.declaration_id)
    if decl is None:
        return
    now = uow.clock.now()
    rec = reconcile(
        v.entry_gross_kg, v.tare_kg, decl.content.total_gross_mass_kg, tolerance(uow, now)
    )
    v.measured_kg = int(rec.measured_kg)
    figures = {
        "visit": v.id,
        "plate": v.plate,
        "loaded_kg": v.entry_gross_kg,
        "tare_kg": v.tare_kg,
        "tare_source": v.tare_source,
        "measured_kg": decimal_text(rec.measured_kg),
        "declared_kg": decimal_text(rec.declared_kg),
        "allowed_kg": decimal_text(rec.allowed_kg),
    }
    if rec.matches:
        v.weight_state = WeightState.RECONCILED
        journal.record(
            uow,
            who=who,
            crossing=v.crossing_code,
            action="weight.reconciled",
            subject=journal.declaration_subject(decl.id),
            payload=figures,
        )
        return
    first = v.weight_state is not WeightState.MISMATCH
    v.weight_state = WeightState.MISMATCH
    figures.update(_duty_on_measured_mass(uow, decl, rec.measured_kg))
    why = (
        f"measured cargo {figures['measured_kg']} kg, declared {figures['declared_kg']} kg "
        f"(tolerance {figures['allowed_kg']} kg)"
    )
    if decl.state in HOLDABLE:
        since = len(decl.transitions)
        decl.hold(at=now, actor=journal.SYSTEM, reason=f"weight mismatch: {why}")
        uow.declarations.save(decl)
        journal.steps(uow, decl, since=since)
    if first:
        raise_alarm(
            uow,
            who=who,
            crossing=v.crossing_code,
            kind=AlarmKind.WEIGHT_MISMATCH,
            severity=Severity.WARNING,
            subject=v.plate,
            message=f"declaration {decl.reference}: {why}",
            details={**figures, "declaration": decl.reference},
        )


def _duty_on_measured_mass(
    uow: UnitOfWork, decl: Declaration, measured_kg: Decimal
) -> dict[str, str]:
    """The duty re-assessed on the measured mass, for the alarm and the log."""
    try:
        r = tariff.reassess_on_measured_mass(uow, decl, measured_kg)
    except DomainError as e:  # e.g. no exchange rate any more: say so, keep the hold
        return {"reassessment": f"not computed: {e}"}
    return {
        "duty_declared_iqd": decimal_text(r.declared_iqd),
        "duty_on_measured_iqd": decimal_text(r.measured_iqd),
        "duty_difference_iqd": decimal_text(r.difference_iqd),
    }


def _exit_plate_read(uow: UnitOfWork, e: DeviceEvent) -> None:
    assert e.plate is not None
    if uow.declarations.released_for_plate(e.crossing_code, e.plate):
        return
    raise_alarm(
        uow,
        who=(e.device_id, "device"),
        crossing=e.crossing_code,
        kind=AlarmKind.EXIT_WITHOUT_RELEASE,
        severity=Severity.CRITICAL,
        subject=e.plate,
        message=f"exit without clearance: plate {e.plate} read at the exit with no released "
        "declaration",
        details={"event": f"{e.device_id}:{e.sequence}", "lane": e.lane},
    )


def _vehicle_passed(uow: UnitOfWork, batch: _Batch, e: DeviceEvent) -> None:
    valid = timedelta(
        seconds=int(uow.reference.parameters().get(OPEN_DECISION_VALID, e.device_time.date()).value)
    )
    opening = uow.gate_control.unused_opening(
        e.crossing_code, e.lane, e.plate, e.device_time - valid
    )
    ref = f"{e.device_id}:{e.sequence}"
    who = (e.device_id, "device")
    if opening is None:
        raise_alarm(
            uow,
            who=who,
            crossing=e.crossing_code,
            kind=AlarmKind.EXIT_WITHOUT_RELEASE,
            severity=Severity.CRITICAL,
            subject=e.plate or e.lane,
            message=f"exit without clearance: a vehicle passed the exit barrier of lane {e.lane} "
            "with no open decision",
            details={"event": ref, "lane": e.lane, "plate": e.plate},
        )
        return
    opening.used_at, opening.used_by = e.device_time, ref
    uow.gate_control.use_decision(opening)
    visit = batch.visits.get((e.crossing_code, opening.plate))
    if visit is not None:
        visit.closed_at = e.device_time
        if visit.id not in batch.new:
            batch.changed[visit.id] = visit
    decl = uow.declarations.get(opening.declaration_id) if opening.declaration_id else None
    if decl is None or decl.state is not State.RELEASED:
        return
    since = len(decl.transitions)
    decl.exit(at=uow.clock.now(), actor=e.device_id)
    uow.declarations.save(decl)
    uow.gate.add_exit(
        ExitRecord(
            id=uuid.uuid4().hex,
            crossing_code=e.crossing_code,
            plate=opening.plate,
            declaration_id=decl.id,
            at=uow.clock.now(),
            actor=e.device_id,
            allowed=True,
            reason=f"barrier {ref} after decision {opening.id}",
        )
    )
    journal.steps(uow, decl, since=since, details={})


def _for_exit(
    uow: UnitOfWork, crossing_code: str, plate: str
) -> tuple[Declaration | None, Visit | None]:
    released = uow.declarations.released_for_plate(crossing_code, plate)
    decl = released[0] if released else None
    if decl is None:
        active = uow.gate_control.active_declarations({(crossing_code, plate)})
        found = active.get((crossing_code, plate))
        decl = uow.declarations.get(found) if found else None
    visit = uow.gate_control.visit_of(decl.id) if decl else None
    return decl, visit


def check_exit(
    *, uow: UnitOfWork, actor: User, crossing_code: str, lane: str, plate: str
) -> GateDecision:
    """What the exit barrier would answer now (nothing recorded)."""
    actor.require(Permission.RECORD_EXIT, crossing_code)
    return _decide(uow, actor, crossing_code, lane, plate)


def _decide(
    uow: UnitOfWork, actor: User, crossing_code: str, lane: str, plate: str
) -> GateDecision:
    wanted = normalise_plate(plate)
    if not wanted or not lane.strip():
        raise ValidationFailed("a plate and a lane are needed", field="plate")
    decl, visit = _for_exit(uow, crossing_code, wanted)
    allowed, reason = exit_decision(decl, visit, wanted)
    return GateDecision(
        id=uuid.uuid4().hex,
        crossing_code=crossing_code,
        lane=lane,
        plate=wanted,
        declaration_id=decl.id if decl else None,
        at=uow.clock.now(),
        allowed=allowed,
        reason=reason,
        actor=actor.id,
    )


def decide_exit(
    *, uow: UnitOfWork, actor: User, crossing_code: str, lane: str, plate: str
) -> GateDecision:
    """Answer open or deny at the exit barrier and record the answer (an open is used once)."""
    actor.require(Permission.RECORD_EXIT, crossing_code)
    decision = _decide(uow, actor, crossing_code, lane, plate)
    uow.gate_control.add_decision(decision)
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=crossing_code,
        action="gate.exit_decision",
        subject=f"gate:{decision.id}",
        payload={
            "lane": lane,
            "plate": decision.plate,
            "declaration_id": decision.declaration_id,
            "open": decision.allowed,
            "reason": decision.reason,
        },
    )
    uow.commit()
    return decision


def register_tare(
    *, uow: UnitOfWork, actor: User | None, plate: str, tare_kg: int, reason: str
) -> int:
    """Record a vehicle's empty weight (from a certified weighing), used when no exit weighing."""
    if actor is not None:
        actor.require(Permission.HOLD)
    wanted = normalise_plate(plate)
    if not wanted or not 1000 <= tare_kg <= 40_000:
        raise ValidationFailed("a plate and a tare of 1000 to 40000 kg are needed", field="tare")
    if not reason.strip():
        raise ValidationFailed("a tare needs its source (certificate, weighing)", field="reason")
    who = journal.by(actor)
    uow.gate_control.add_tare(
        plate=wanted, kg=tare_kg, at=uow.clock.now(), by=who[0], reason=reason
    )
    journal.record(
        uow,
        who=who,
        crossing="",
        action="vehicle.tare_registered",
        subject=f"vehicle:{wanted}",
        payload={"tare_kg": tare_kg, "reason": reason},
    )
    uow.commit()
    return tare_kg
