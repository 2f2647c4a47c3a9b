"""Exemption use cases: grant, suspend, revoke, reinstate, revoke by decree; apply at assessment
(charging quotas atomically); report foregone revenue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from manafidh.domain.declarations.model import Declaration
from manafidh.domain.errors import NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.tariff.assessment import Assessment
from manafidh.domain.tariff.exemptions import (
    BeneficiaryKind,
    Exemption,
    ExemptionAction,
    ExemptionEvent,
    ExemptionUse,
    RevocationPreview,
    apply_reliefs,
    candidates,
    select_for_revocation,
)
from manafidh.services import journal, revenue_reports
from manafidh.services.ports import UnitOfWork

REPORT_KEYS = ("beneficiary", "legal_basis", "chapter", "crossing", "month")


def _subject(reference: str) -> str:
    return f"exemption:{reference}"


def _record(e: Exemption) -> dict[str, Any]:
    return {
        "reference": e.reference,
        "beneficiary_kind": e.beneficiary_kind.value,
        "beneficiary_name": e.beneficiary_name,
        "beneficiary_tax_id": e.beneficiary_tax_id,
        "legal_basis": e.legal_basis,
        "valid_from": e.valid_from,
        "valid_to": e.valid_to,
        "relief_percent": e.relief_percent,
        "codes": list(e.codes),
        "crossings": list(e.crossings),
        "quotas": [
            {"code": q.code, "max_kg": q.max_kg, "max_value_iqd": q.max_value_iqd} for q in e.quotas
        ],
        "state": e.state.value,
    }


def grant(*, uow: UnitOfWork, actor: User | None, exemption: Exemption) -> Exemption:
    """Grant an exemption (with its quotas), recorded with who, when and the legal basis."""
    if actor is not None:
        actor.require(Permission.MANAGE_EXEMPTIONS)
    if uow.exemptions.get(exemption.reference) is not None:
        raise ValidationFailed(f"exemption {exemption.reference} exists", field="reference")
    unknown = uow.reference.unknown_hs_codes(
        [c[:6] for c in exemption.codes if len(c) >= 6]
        + [q.code[:6] for q in exemption.quotas if len(q.code) >= 6]
    )
    if unknown:
        raise ValidationFailed("unknown commodity code", field="codes", codes=sorted(unknown))
    for code in exemption.crossings:
        if uow.reference.crossing(code) is None:
            raise ValidationFailed(f"unknown crossing {code}", field="crossings")
    stored = uow.exemptions.add(exemption)
    who = journal.by(actor)
    uow.exemptions.add_event(
        ExemptionEvent(
            stored.id,
            ExemptionAction.GRANT,
            uow.clock.now(),
            who[0],
            "granted",
            exemption.legal_basis,
        )
    )
    journal.record(
        uow,
        who=who,
        crossing="",
        action="exemption.granted",
        subject=_subject(stored.reference),
        payload=_record(stored),
    )
    uow.commit()
    return stored


def _change(
    uow: UnitOfWork,
    who: tuple[str, str],
    e: Exemption,
    action: ExemptionAction,
    reason: str,
    legal_reference: str,
) -> Exemption:
    if not reason.strip() or not legal_reference.strip():
        raise ValidationFailed(
            f"to {action.value} an exemption needs a reason and a legal reference"
        )
    state = e.after(action)
    uow.exemptions.set_state(e.id, state)
    uow.exemptions.add_event(
        ExemptionEvent(e.id, action, uow.clock.now(), who[0], reason, legal_reference)
    )
    journal.record(
        uow,
        who=who,
        crossing="",
        action=f"exemption.{action.value}",
        subject=_subject(e.reference),
        payload={
            "reference": e.reference,
            "from": e.state.value,
            "to": state.value,
            "reason": reason,
            "legal_reference": legal_reference,
        },
    )
    return replace(e, state=state)


def change_state(
    *,
    uow: UnitOfWork,
    actor: User | None,
    reference: str,
    action: ExemptionAction,
    reason: str,
    legal_reference: str,
) -> Exemption:
    """Suspend, revoke or reinstate one exemption, with why and on what legal reference."""
    if actor is not None:
        actor.require(Permission.MANAGE_EXEMPTIONS)
    e = uow.exemptions.get(reference)
    if e is None:
        raise NotFound(f"no exemption {reference}", reference=reference)
    changed = _change(uow, journal.by(actor), e, action, reason, legal_reference)
    uow.commit()
    return changed


def revoke_by_decree(
    *,
    uow: UnitOfWork,
    actor: User | None,
    kinds: Sequence[BeneficiaryKind],
    as_of: date,
    decree: str,
    reason: str,
    apply: bool,
) -> RevocationPreview:
    """Revoke every exemption of the beneficiary ``kinds`` still in force on ``as_of`` (a
    preview of what it affects unless ``apply``)."""
    if actor is not None:
        actor.require(Permission.MANAGE_EXEMPTIONS)
    if not kinds:
        raise ValidationFailed("name at least one beneficiary kind", field="kinds")
    preview = RevocationPreview(
        decree, as_of, tuple(kinds), select_for_revocation(uow.exemptions.all(), kinds, as_of)
    )
    if not apply:
        return preview
    who = journal.by(actor)
    for e in preview.affected:
        _change(uow, who, e, ExemptionAction.REVOKE, reason, decree)
    journal.record(
        uow,
        who=who,
        crossing="",
        action="exemption.revoked_by_decree",
        subject=f"exemption:decree:{decree}",
        payload={
            "decree": decree,
            "as_of": as_of,
            "kinds": [k.value for k in kinds],
            "revoked": [e.reference for e in preview.affected],
            "reason": reason,
        },
    )
    uow.commit()
    return preview


def apply_exemptions(
    uow: UnitOfWork, decl: Declaration, assessment: Assessment
) -> list[ExemptionUse]:
    """Relieve the exempted lines of an assessment, charging quotas atomically (no commit)."""
    if decl.current.number > 1:  # a re-assessment gives back what the earlier one took
        _take_back_foregone(uow, decl)
        uow.exemptions.release_declaration(decl.id)
    content = decl.content
    granted = uow.exemptions.for_beneficiary(content.importer_tax_id)
    if not granted:
        return []
    day = assessment.acceptance_date
    items = {i.line_no: i for i in content.items}
    uses: list[ExemptionUse] = []
    notes: dict[int, str] = {}
    for line in assessment.lines:
        item = items[line.line_no]
        for e in candidates(
            granted, content.importer_tax_id, line.hs_code, decl.crossing_code, day
        ):
            quota = e.quota_for(line.hs_code)
            if quota is not None and not uow.exemptions.charge(
                quota.id, item.net_mass_kg, line.customs_value_iqd
            ):
                notes[line.line_no] = (
                    f"exemption {e.reference}: quota on {quota.code} exhausted"
                    f" ({item.net_mass_kg} kg, {line.customs_value_iqd} IQD do not fit)"
                )
                continue
            uses.append(
                ExemptionUse(
                    line.line_no,
                    e,
                    quota.id if quota else None,
                    item.net_mass_kg,
                    line.customs_value_iqd,
                    line.duty_iqd,
                    e.relief(line.duty_iqd),
                )
            )
            break
    apply_reliefs(assessment, uses, notes)
    uow.exemptions.add_uses(
        assessment_id=assessment.id,
        declaration_id=decl.id,
        crossing_code=decl.crossing_code,
        acceptance_date=day,
        hs_codes={line.line_no: line.hs_code for line in assessment.lines},
        uses=uses,
    )
    revenue_reports.foregone_changed(
        uow,
        [
            (decl.crossing_code, day, line.hs_code, u.value_iqd, u.foregone_iqd)
            for u in uses
            for line in assessment.lines
            if line.line_no == u.line_no
        ],
        1,
    )
    return uses


def _take_back_foregone(uow: UnitOfWork, decl: Declaration) -> None:
    """Take the uses about to be released out of the foregone-revenue rollup."""
    previous = uow.declarations.latest_assessment(decl.id)  # this one is not stored yet
    if previous is None:
        return
    lines: list[revenue_reports.ForegoneLine] = [
        (r["crossing_code"], r["acceptance_date"], r["hs_code"], r["value_iqd"], r["foregone_iqd"])
        for r in uow.exemptions.uses_of(previous.id)
        if not r["released"]
    ]
    revenue_reports.foregone_changed(uow, lines, -1)


def foregone_report(
    *, uow: UnitOfWork, actor: User | None, by: str
) -> list[tuple[str, Decimal, Decimal, int]]:
    """Foregone revenue grouped ``by`` beneficiary, legal basis, HS chapter, crossing or month:
    (group, duty foregone, customs value exempted, lines), largest first."""
    if actor is not None:
        actor.require(Permission.READ_ALL)
    if by not in REPORT_KEYS:
        raise ValidationFailed(f"report by one of {', '.join(REPORT_KEYS)}", field="by")
    totals: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for r in uow.exemptions.foregone():
        key = {
            "beneficiary": f"{r['beneficiary_kind']}: {r['beneficiary_name']}",
            "legal_basis": r["legal_basis"],
            "chapter": r["hs_code"][:2],
            "crossing": r["crossing_code"],
            "month": r["acceptance_date"].strftime("%Y-%m"),
        }[by]
        row = totals[key]
        row[0] += r["foregone_iqd"]
        row[1] += r["value_iqd"]
        row[2] += 1
    return sorted(((k, v[0], v[1], v[2]) for k, v in totals.items()), key=lambda x: (-x[1], x[0]))


def get_exemption(
    *, uow: UnitOfWork, actor: User, reference: str
) -> tuple[Exemption, list[dict[str, Any]]]:
    """One exemption with its recorded changes (readers of everything and administrators)."""
    if not actor.can(Permission.MANAGE_EXEMPTIONS):
        actor.require(Permission.READ_ALL)
    e = uow.exemptions.get(reference)
    if e is None:
        raise NotFound(f"no exemption {reference}", reference=reference)
    return e, uow.exemptions.events(e.id)


def suspend_for_rule(
    uow: UnitOfWork, who: tuple[str, str], reference: str, *, reason: str, legal_reference: str
) -> Exemption:
    """Suspend an exemption because a rule says so (no commit: the caller's transaction)."""
    e = uow.exemptions.get(reference)
    if e is None:
        raise NotFound(f"no exemption {reference}", reference=reference)
    return _change(uow, who, e, ExemptionAction.SUSPEND, reason, legal_reference)
