"""Manual weights: a supervisor proposes, a second, different supervisor approves (four eyes)."""

from __future__ import annotations

import uuid

from manafidh.domain.devices.visits import ManualWeight
from manafidh.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from manafidh.domain.identity import Permission, Role, User
from manafidh.services import gate_control, journal
from manafidh.services.ports import UnitOfWork

WHICH = ("entry", "tare")


def _supervisor(actor: User, crossing_code: str) -> None:
    actor.require(Permission.HOLD, crossing_code)
    if actor.role is not Role.SUPERVISOR:
        raise Forbidden("only a supervisor may enter or approve a manual weight")


def propose_manual_weight(
    *, uow: UnitOfWork, actor: User, visit_id: str, which: str, kg: int, reason: str
) -> ManualWeight:
    """A supervisor enters a weight by hand (a broken weighbridge); it waits for approval."""
    visit = uow.gate_control.visit(visit_id)
    if visit is None:
        raise NotFound(f"no visit {visit_id}", visit=visit_id)
    _supervisor(actor, visit.crossing_code)
    if which not in WHICH:
        raise ValidationFailed(f"which must be one of {list(WHICH)}", field="which")
    if not 1 <= kg <= 200_000:
        raise ValidationFailed("a weight is 1 to 200000 kg", field="kg")
    if not reason.strip():
        raise ValidationFailed("a manual weight needs a reason", field="reason")
    m = ManualWeight(
        id=uuid.uuid4().hex,
        visit_id=visit.id,
        which=which,
        kg=kg,
        proposed_at=uow.clock.now(),
        proposed_by=actor.id,
        reason=reason,
    )
    uow.gate_control.add_manual_weight(m)
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=visit.crossing_code,
        action="weight.manual_proposed",
        subject=f"visit:{visit.id}",
        payload={"manual_weight": m.id, "which": which, "kg": kg, "reason": reason},
    )
    uow.commit()
    return m


def decide_manual_weight(
    *, uow: UnitOfWork, actor: User, weight_id: str, approve: bool, reason: str
) -> ManualWeight:
    """A second supervisor approves (the weight takes effect) or rejects a manual weight."""
    m = uow.gate_control.manual_weight(weight_id)
    visit = uow.gate_control.visit(m.visit_id) if m else None
    if m is None or visit is None:
        raise NotFound(f"no manual weight {weight_id}", manual_weight=weight_id)
    _supervisor(actor, visit.crossing_code)
    if m.decided_at is not None:
        raise Conflict(f"manual weight {weight_id} was already decided", manual_weight=weight_id)
    if actor.id == m.proposed_by:
        raise Forbidden("a second, different supervisor must approve a manual weight")
    if not reason.strip():
        raise ValidationFailed("a decision needs a reason", field="reason")
    m.decided_at, m.decided_by, m.approved = uow.clock.now(), actor.id, approve
    uow.gate_control.decide_manual_weight(m)
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=visit.crossing_code,
        action="weight.manual_approved" if approve else "weight.manual_rejected",
        subject=f"visit:{visit.id}",
        payload={"manual_weight": m.id, "which": m.which, "kg": m.kg, "reason": reason},
    )
    if approve:
        if m.which == "entry":
            visit.entry_gross_kg = m.kg
            if visit.tare_kg is None:
                tare = uow.gate_control.registered_tares([visit.plate]).get(visit.plate)
                visit.tare_kg, visit.tare_source = tare, "registered" if tare else None
        else:
            visit.tare_kg, visit.tare_source = m.kg, "manual"
        gate_control.reconcile_visit(uow, visit, who=journal.by(actor))
        uow.gate_control.save_visit(visit)
    uow.commit()
    return m
