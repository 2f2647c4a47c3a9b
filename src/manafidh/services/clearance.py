"""Use cases at the crossing: document checks, inspections, holds, release, exit."""

from __future__ import annotations

import uuid
from enum import StrEnum

from manafidh.domain.alarms import Alarm, AlarmKind, Severity
from manafidh.domain.audit.payloads import check_payload
from manafidh.domain.declarations.model import Declaration, Lane
from manafidh.domain.declarations.states import Action
from manafidh.domain.devices.gate import ExitRecord, normalise_plate
from manafidh.domain.errors import ExitWithoutRelease, IllegalTransition, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.services import journal, risk_assignment
from manafidh.services.access import load_for, require_at
from manafidh.services.ports import UnitOfWork


class FraudKind(StrEnum):
    """What an inspection can find."""

    MISCLASSIFICATION = "misclassification"
    UNDERSTATED_WEIGHT = "understated_weight"
    UNDERVALUATION = "undervaluation"
    UNDECLARED_GOODS = "undeclared_goods"
    SMUGGLING = "smuggling"


def record_document_check(
    *, uow: UnitOfWork, actor: User, declaration_id: str, found: bool, notes: str
) -> Declaration:
    """An officer records the yellow lane's document check."""
    decl = load_for(uow, actor, declaration_id)
    require_at(actor, Permission.CHECK_DOCUMENTS, decl)
    if decl.lane is not Lane.YELLOW:
        raise IllegalTransition(
            "a document check is for yellow-lane declarations", lane=str(decl.lane)
        )
    return _complete(uow, actor, decl, kind="document_check", found=found, fraud=None, notes=notes)


def record_inspection(
    *,
    uow: UnitOfWork,
    actor: User,
    declaration_id: str,
    found: bool,
    fraud_kind: FraudKind | None,
    notes: str,
) -> Declaration:
    """An inspector records the red lane's physical inspection and its result."""
    decl = load_for(uow, actor, declaration_id)
    require_at(actor, Permission.INSPECT, decl)
    if decl.lane is not Lane.RED:
        raise IllegalTransition("an inspection is for red-lane declarations", lane=str(decl.lane))
    risk_assignment.require_assigned(uow, actor, decl)
    if found and fraud_kind is None:
        raise ValidationFailed("a finding needs the kind of fraud", field="fraud_kind")
    if not found and fraud_kind is not None:
        raise ValidationFailed("no fraud kind when nothing was found", field="fraud_kind")
    return _complete(
        uow, actor, decl, kind="inspection", found=found, fraud=fraud_kind, notes=notes
    )


def _complete(
    uow: UnitOfWork,
    actor: User,
    decl: Declaration,
    *,
    kind: str,
    found: bool,
    fraud: FraudKind | None,
    notes: str,
) -> Declaration:
    now = uow.clock.now()
    since = len(decl.transitions)
    summary = f"{kind}: {'irregularity found' if found else 'nothing found'}"
    decl.complete_checks(at=now, actor=actor.id, reason=summary, finding=found)
    uow.declarations.add_check(
        declaration_id=decl.id,
        kind=kind,
        actor=actor.id,
        at=now,
        found=found,
        fraud_kind=fraud.value if fraud else None,
        notes=notes,
    )
    if found:
        # A finding stops the goods: the declarant must amend (a supplementary assessment) or a
        # supervisor decides; nothing leaves on an unresolved finding.
        decl.hold(
            at=now,
            actor=actor.id,
            reason=f"{kind} found {fraud.value if fraud else 'irregularity'}",
        )
    uow.declarations.save(decl)
    payload = {**check_payload(kind, found, fraud.value if fraud else None), "notes": notes}
    journal.steps(uow, decl, since=since, user=actor, details={Action.COMPLETE_CHECKS: payload})
    uow.commit()
    return decl


def hold(*, uow: UnitOfWork, actor: User, declaration_id: str, reason: str) -> Declaration:
    """A supervisor stops a declaration where it stands."""
    decl = load_for(uow, actor, declaration_id)
    require_at(actor, Permission.HOLD, decl)
    since = len(decl.transitions)
    decl.hold(at=uow.clock.now(), actor=actor.id, reason=reason)
    uow.declarations.save(decl)
    journal.steps(uow, decl, since=since, user=actor)
    uow.commit()
    return decl


def unhold(*, uow: UnitOfWork, actor: User, declaration_id: str, reason: str) -> Declaration:
    """A supervisor lifts a hold; the declaration returns to where it was."""
    decl = load_for(uow, actor, declaration_id)
    require_at(actor, Permission.HOLD, decl)
    since = len(decl.transitions)
    decl.unhold(at=uow.clock.now(), actor=actor.id, reason=reason)
    uow.declarations.save(decl)
    journal.steps(uow, decl, since=since, user=actor)
    uow.commit()
    return decl


def dismiss_finding(
    *, uow: UnitOfWork, actor: User, declaration_id: str, reason: str
) -> Declaration:
    """A supervisor closes a finding without a supplementary declaration."""
    decl = load_for(uow, actor, declaration_id)
    require_at(actor, Permission.HOLD, decl)
    since = len(decl.transitions)
    decl.dismiss_finding(at=uow.clock.now(), actor=actor.id, reason=reason)
    uow.declarations.save(decl)
    journal.steps(uow, decl, since=since, user=actor)
    uow.commit()
    return decl


def release(*, uow: UnitOfWork, actor: User, declaration_id: str) -> Declaration:
    """Release the goods: allowed only when paid and the lane's checks are done."""
    decl = load_for(uow, actor, declaration_id)
    require_at(actor, Permission.RELEASE, decl)
    since = len(decl.transitions)
    decl.release(at=uow.clock.now(), actor=actor.id)
    uow.declarations.save(decl)
    journal.steps(uow, decl, since=since, user=actor)
    uow.commit()
    return decl


def record_exit(
    *, uow: UnitOfWork, actor: User, crossing_code: str, plate: str, declaration_ref: str | None
) -> Declaration:
    """Let a truck out: its plate must match a released declaration at this crossing.

    A refusal is recorded (exit attempt and a critical alarm) before the error is raised, so the
    attempt leaves evidence even though the truck does not leave.
    """
    actor.require(Permission.RECORD_EXIT, crossing_code)
    if not normalise_plate(plate):
        raise ValidationFailed("a plate is needed", field="plate")
    now = uow.clock.now()
    decl, why = _released_declaration(uow, crossing_code, plate, declaration_ref)
    record = ExitRecord(
        id=uuid.uuid4().hex,
        crossing_code=crossing_code,
        plate=normalise_plate(plate),
        declaration_id=decl.id if decl else None,
        at=now,
        actor=actor.id,
        allowed=decl is not None,
        reason=why,
    )
    uow.gate.add_exit(record)
    exit_payload = {"exit_id": record.id, "plate": record.plate, "gate_reason": why}
    if decl is None:
        alarm = Alarm(
            id=uuid.uuid4().hex,
            crossing_code=crossing_code,
            kind=AlarmKind.EXIT_WITHOUT_RELEASE,
            severity=Severity.CRITICAL,
            raised_at=now,
            subject=normalise_plate(plate),
            message=why,
            details={"plate": plate, "declaration": declaration_ref, "actor": actor.id},
        )
        uow.gate.add_alarm(alarm)
        who = journal.by(actor)
        journal.record(
            uow,
            who=who,
            crossing=crossing_code,
            action="gate.exit_refused",
            subject=f"exit:{record.id}",
            payload={**exit_payload, "declaration": declaration_ref},
        )
        journal.record(
            uow,
            who=who,
            crossing=crossing_code,
            action="alarm.raised",
            subject=f"alarm:{alarm.id}",
            payload={
                "kind": alarm.kind.value,
                "severity": alarm.severity.value,
                "subject": alarm.subject,
                "message": alarm.message,
                "exit_id": record.id,
            },
        )
        uow.commit()
        raise ExitWithoutRelease(why, plate=plate, declaration=declaration_ref)
    since = len(decl.transitions)
    decl.exit(at=now, actor=actor.id)
    uow.declarations.save(decl)
    journal.steps(uow, decl, since=since, user=actor, details={Action.EXIT: exit_payload})
    uow.commit()
    return decl


def _released_declaration(
    uow: UnitOfWork, crossing_code: str, plate: str, declaration_ref: str | None
) -> tuple[Declaration | None, str]:
    wanted = normalise_plate(plate)
    if declaration_ref:
        decl = uow.declarations.get_by_reference(declaration_ref) or uow.declarations.get(
            declaration_ref
        )
        if decl is None:
            return None, f"no declaration {declaration_ref}"
        if decl.crossing_code != crossing_code:
            return None, f"declaration {decl.reference} is for crossing {decl.crossing_code}"
        plates = {normalise_plate(p) for p in decl.content.vehicle_plates}
        if wanted not in plates:
            return None, f"plate {plate} is not on declaration {decl.reference}"
        if decl.state.value != "released":
            return None, f"declaration {decl.reference} is {decl.state.value}, not released"
        return decl, "released"
    found = uow.declarations.released_for_plate(crossing_code, plate)
    if not found:
        return None, f"no released declaration for plate {plate} at {crossing_code}"
    return found[0], "released"
