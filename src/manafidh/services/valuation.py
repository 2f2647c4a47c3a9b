"""Valuation control: record assessed lines, flag low declared values, refresh references."""

from __future__ import annotations

from manafidh.domain.declarations.model import Declaration
from manafidh.domain.errors import NoRateInForce
from manafidh.domain.identity import Permission, User
from manafidh.domain.tariff.assessment import Assessment
from manafidh.domain.tariff.valuation import (
    LOW_VALUE_RATIO,
    MIN_SAMPLE,
    Observation,
    ValuationFlag,
    flag_line,
    reference_values,
)
from manafidh.services import journal
from manafidh.services.ports import UnitOfWork


def check_values(uow: UnitOfWork, decl: Declaration, assessment: Assessment) -> list[ValuationFlag]:
    """Record the assessed lines and flag those far below their reference value (no commit)."""
    items = {i.line_no: i for i in decl.content.items}
    lines = [
        (
            line.line_no,
            Observation(
                line.hs_code[:6],
                items[line.line_no].origin_country,
                items[line.line_no].net_mass_kg,
                line.customs_value_iqd,
            ),
        )
        for line in assessment.lines
    ]
    day = assessment.acceptance_date
    uow.valuation.add_observations(
        assessment_id=assessment.id, declaration_id=decl.id, day=day, lines=lines
    )
    refs = uow.valuation.references((o.hs6, o.origin) for _, o in lines)
    if not refs:
        return []
    try:
        threshold = uow.reference.parameters().get(LOW_VALUE_RATIO, day).value
    except NoRateInForce:
        return []  # no threshold in force: nothing to compare against
    flags = [
        f
        for n, o in lines
        if (f := flag_line(n, o, refs.get((o.hs6, o.origin)), threshold)) is not None
    ]
    uow.valuation.add_flags(assessment.id, decl.id, flags)
    return flags


def refresh_reference_values(*, uow: UnitOfWork, actor: User | None) -> int:
    """Recompute reference unit values from cleared history; returns how many there are."""
    if actor is not None:
        actor.require(Permission.MANAGE_REFERENCE)
    now = uow.clock.now()
    min_sample = int(uow.reference.parameters().get(MIN_SAMPLE, now.date()).value)
    refs = reference_values(uow.valuation.cleared(), min_sample=min_sample)
    uow.valuation.replace_references(refs, now)
    journal.record(
        uow,
        who=journal.by(actor),
        crossing="",
        action="valuation.references_refreshed",
        subject="valuation:references",
        payload={"references": len(refs), "min_sample": min_sample},
    )
    uow.commit()
    return len(refs)
