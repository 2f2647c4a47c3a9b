"""The inspector's work: the inspections the system assigned, and a result with its evidence.

An inspector cannot choose: only the inspections assigned to them are listed, and one assigned
to another inspector can be neither opened nor recorded (a supervisor reassigns, with a reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from manafidh.domain.declarations.model import Declaration, Lane
from manafidh.domain.declarations.states import State
from manafidh.domain.errors import IllegalTransition, NotFound, ValidationFailed
from manafidh.domain.evidence import (
    Evidence,
    Photo,
    check_document_references,
    check_photos,
)
from manafidh.domain.identity import Permission, User
from manafidh.domain.measurements import Measurement, check_measurements
from manafidh.domain.money import IQD_MINOR_UNITS, round_money
from manafidh.services import clearance, journal
from manafidh.services.access import load_for, require_at
from manafidh.services.clearance import FraudKind
from manafidh.services.ports import EvidenceStore, UnitOfWork
from manafidh.services.risk_assignment import require_assigned
from manafidh.services.risk_reports import MAX_EXTRA_DUTY_IQD


@dataclass
class InspectionView:
    """One inspection as its inspector sees it: the declaration, who assigned it, what is kept."""

    declaration: Declaration
    assignment: dict[str, Any] | None
    evidence: list[Evidence]
    measurements: list[Measurement]
    checks: list[dict[str, Any]]

    @property
    def open(self) -> bool:
        """True while the result may still be recorded."""
        d = self.declaration
        return d.state is State.LANE_SELECTED and not d.checks_done


def my_inspections(*, uow: UnitOfWork, actor: User) -> list[dict[str, Any]]:
    """The inspections waiting for the actor, as the system assigned them, oldest first."""
    actor.require(Permission.INSPECT)
    if not actor.crossings:
        return []
    return uow.floor.waiting_inspections(crossing_codes=actor.crossings, inspector_id=actor.id)


def inspection(*, uow: UnitOfWork, actor: User, declaration_id: str) -> InspectionView:
    """One red-lane inspection the actor may record (assigned to them, at their crossing)."""
    decl = load_for(uow, actor, declaration_id)
    require_at(actor, Permission.INSPECT, decl)
    if decl.lane is not Lane.RED:
        raise NotFound(f"no inspection for {decl.reference}", declaration=decl.reference)
    require_assigned(uow, actor, decl)
    history = uow.risk.assignments_of(decl.id)
    return InspectionView(
        declaration=decl,
        assignment=history[-1] if history else None,
        evidence=uow.floor.evidence_of(decl.id),
        measurements=uow.floor.measurements_of(decl.id),
        checks=[c for c in uow.declarations.checks_of(decl.id) if c["kind"] == "inspection"],
    )


def _extra_duty(amount: Decimal | None, found: bool) -> Decimal | None:
    if amount is None:
        return None
    if not found:
        raise ValidationFailed("extra duty only comes with a finding", field="extra_duty_iqd")
    if not Decimal(0) < amount <= MAX_EXTRA_DUTY_IQD:
        raise ValidationFailed("extra duty must be positive", field="extra_duty_iqd")
    if round_money(amount, IQD_MINOR_UNITS) != amount:
        raise ValidationFailed("extra duty has more than 3 decimals", field="extra_duty_iqd")
    return amount


def record_result(
    *,
    uow: UnitOfWork,
    actor: User,
    store: EvidenceStore,
    declaration_id: str,
    found: bool,
    fraud_kind: FraudKind | None,
    notes: str,
    measurements: list[Measurement],
    extra_duty_iqd: Decimal | None,
    photos: list[Photo],
    documents: list[str],
    max_photo_bytes: int,
) -> Declaration:
    """The assigned inspector records the result, measured quantities, extra duty and evidence,
    all in one transaction (photos are stored first, by their SHA-256)."""
    decl = load_for(uow, actor, declaration_id)
    require_at(actor, Permission.INSPECT, decl)
    require_assigned(uow, actor, decl)
    if decl.lane is not Lane.RED:
        raise IllegalTransition("an inspection is for red-lane declarations", lane=str(decl.lane))
    if decl.state is not State.LANE_SELECTED or decl.checks_done:
        raise IllegalTransition(
            "the inspection's result is already recorded", state=decl.state.value
        )
    if found and fraud_kind is None:
        raise ValidationFailed("a finding needs the kind of fraud", field="fraud_kind")
    if not found and fraud_kind is not None:
        raise ValidationFailed("no fraud kind when nothing was found", field="fraud_kind")
    extra = _extra_duty(extra_duty_iqd, found)
    checked = check_photos(photos, max_bytes=max_photo_bytes)
    references = check_document_references(documents)
    measured = check_measurements(measurements, {i.line_no for i in decl.content.items})
    now = uow.clock.now()
    kept = [
        Evidence(
            declaration_id=decl.id,
            kind="photo",
            sha256=store.put(p.data),
            media_type=media_type,
            size_bytes=len(p.data),
            filename=p.filename[:200],
            document_reference=None,
            recorded_by=actor.id,
            recorded_at=now,
        )
        for p, media_type in checked
    ] + [
        Evidence(
            declaration_id=decl.id,
            kind="document",
            sha256=None,
            media_type=None,
            size_bytes=None,
            filename="",
            document_reference=r,
            recorded_by=actor.id,
            recorded_at=now,
        )
        for r in references
    ]
    uow.floor.add_evidence(kept)
    uow.floor.add_measurements(decl.id, measured, by=actor.id, at=now)
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=decl.crossing_code,
        action="inspection.evidence",
        subject=journal.declaration_subject(decl.id),
        payload={
            "reference": decl.reference,
            "photos": [
                {"sha256": e.sha256, "media_type": e.media_type, "size_bytes": e.size_bytes}
                for e in kept
                if e.kind == "photo"
            ],
            "documents": references,
            "measured": [
                {"line_no": m.line_no, "quantity": m.quantity, "gross_mass_kg": m.gross_mass_kg}
                for m in measured
            ],
        },
    )
    if extra is not None:
        uow.risk.add_extra_duty(
            declaration_id=decl.id, extra_duty_iqd=extra, actor=actor.id, at=now, notes=notes
        )
        journal.record(
            uow,
            who=journal.by(actor),
            crossing=decl.crossing_code,
            action="inspection.extra_duty",
            subject=journal.declaration_subject(decl.id),
            payload={"reference": decl.reference, "extra_duty_iqd": extra, "notes": notes},
        )
    # The check, its transitions and their journal entries; this commits everything above too.
    return clearance.record_inspection(
        uow=uow,
        actor=actor,
        declaration_id=decl.id,
        found=found,
        fraud_kind=fraud_kind,
        notes=notes,
    )


def photo(
    *, uow: UnitOfWork, actor: User, store: EvidenceStore, declaration_id: str, sha256: str
) -> tuple[bytes, str]:
    """A photo attached to a declaration the customs staff member may read, with its type."""
    decl = load_for(uow, actor, declaration_id)
    if not (actor.can(Permission.READ_CROSSING) or actor.can(Permission.READ_ALL)):
        # Evidence is the customs' own: a declarant does not browse it.
        raise NotFound(f"no photo {sha256[:12]} on {decl.reference}", declaration=decl.reference)
    for e in uow.floor.evidence_of(decl.id):
        if e.kind == "photo" and e.sha256 == sha256 and e.media_type:
            data = store.get(sha256)
            if data is not None:
                return data, e.media_type
    raise NotFound(f"no photo {sha256[:12]} on {decl.reference}", declaration=decl.reference)
