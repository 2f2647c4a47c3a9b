"""Inspector assignment: the system draws, a supervisor may reassign with a reason."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.declarations.model import Declaration, Lane
from manafidh.domain.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from manafidh.domain.identity import Permission, Role, User
from manafidh.domain.parameters import INSPECTOR_IMPORTER_GAP_DAYS
from manafidh.domain.risk.assignment import Assignment, choose_inspector
from manafidh.services import journal
from manafidh.services.access import load_for, require_at
from manafidh.services.ports import UnitOfWork

# Unpredictable in production: nobody may foresee who will inspect a truck.
_DRAW = random.SystemRandom()


def _inspectors(uow: UnitOfWork, crossing_code: str) -> list[str]:
    # In username order, so that a seeded draw (a simulation) picks the same people every run.
    found = [
        u
        for u in uow.users.all()
        if u.role is Role.INSPECTOR and u.active and u.works_at(crossing_code)
    ]
    return [u.id for u in sorted(found, key=lambda u: u.username)]


def draw_inspector(
    uow: UnitOfWork, decl: Declaration, rng: random.Random | None = None
) -> Assignment | None:
    """Draw the inspector of a red declaration under the rotation and workload constraints."""
    assert decl.acceptance_date is not None
    day = decl.acceptance_date
    gap = int(uow.reference.parameters().get(INSPECTOR_IMPORTER_GAP_DAYS, day).value)
    now = uow.clock.now()
    seen = uow.risk.inspectors_of_importer(decl.content.importer_tax_id, now - timedelta(days=gap))
    workload = uow.risk.workload(decl.crossing_code, datetime.combine(day, time(), IRAQ_TZ))
    return choose_inspector(
        inspectors=_inspectors(uow, decl.crossing_code),
        recently_saw_importer=seen,
        workload=workload,
        gap_days=gap,
        rng=rng or _DRAW,
    )


def store_assignment(
    uow: UnitOfWork,
    *,
    declaration_id: str,
    crossing_code: str,
    importer_tax_id: str,
    assignment: Assignment,
) -> None:
    """Record the system's draw and journal it."""
    uow.risk.add_assignment(
        declaration_id=declaration_id,
        crossing_code=crossing_code,
        importer_tax_id=importer_tax_id,
        inspector_id=assignment.inspector_id,
        at=uow.clock.now(),
        by="system",
        reasons=assignment.reasons,
    )
    journal.record(
        uow,
        who=("system", "system"),
        crossing=crossing_code,
        action="inspection.assigned",
        subject=journal.declaration_subject(declaration_id),
        payload={"inspector": assignment.inspector_id, "reasons": assignment.reasons},
    )


class NotAssigned(Forbidden):
    """Someone other than the inspection's assigned inspector tried to record its result."""

    code = "not_assigned_inspector"


def require_assigned(uow: UnitOfWork, actor: User, decl: Declaration) -> None:
    """Only the inspector the inspection is assigned to now may record its result."""
    history = uow.risk.assignments_of(decl.id)
    if not history:
        # Nobody was on duty at the draw: a supervisor assigns one (reassign), nobody chooses.
        raise Conflict(
            "no inspector is assigned to this inspection yet: a supervisor assigns one",
            declaration=decl.reference,
        )
    if history[-1]["inspector_id"] != actor.id:
        raise NotAssigned(
            "this inspection is assigned to another inspector; a supervisor may reassign it",
            declaration=decl.reference,
        )


def reassign(
    *, uow: UnitOfWork, actor: User, declaration_id: str, inspector_id: str, reason: str
) -> str:
    """A supervisor gives the inspection to another inspector of the crossing, saying why."""
    decl = load_for(uow, actor, declaration_id)
    require_at(actor, Permission.HOLD, decl)
    if decl.lane is not Lane.RED:
        raise IllegalTransition("only a red-lane declaration has an inspector", lane=str(decl.lane))
    if not reason.strip():
        raise ValidationFailed("say why the inspection is reassigned", field="reason")
    if inspector_id not in _inspectors(uow, decl.crossing_code):
        raise ValidationFailed(
            "not an active inspector of this crossing",
            field="inspector_id",
            crossing=decl.crossing_code,
        )
    if any(c["kind"] == "inspection" for c in uow.declarations.checks_of(decl.id)):
        raise Conflict("the inspection's result is recorded already: it cannot be reassigned")
    history = uow.risk.assignments_of(decl.id)
    if history and history[-1]["inspector_id"] == inspector_id:
        raise Conflict("the inspection is already assigned to this inspector")
    uow.risk.add_assignment(
        declaration_id=decl.id,
        crossing_code=decl.crossing_code,
        importer_tax_id=decl.content.importer_tax_id,
        inspector_id=inspector_id,
        at=uow.clock.now(),
        by=actor.id,
        reasons=[f"reassigned by a supervisor: {reason}"],
    )
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=decl.crossing_code,
        action="inspection.reassigned",
        subject=journal.declaration_subject(decl.id),
        payload={
            "inspector": inspector_id,
            "previous": history[-1]["inspector_id"] if history else None,
            "reason": reason,
        },
    )
    uow.commit()
    return inspector_id
