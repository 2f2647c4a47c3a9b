"""What lane rules may look at beyond a declaration's content, gathered when it is laned.

Only the facts some rule in force needs are looked up, so that lodging pays no query for a
condition nobody uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.declarations.model import Declaration
from manafidh.domain.devices.gate import normalise_plate
from manafidh.domain.devices.visits import WeightState, reconcile
from manafidh.domain.risk.lanes import LaneRule, RuleFacts
from manafidh.domain.validity import applies_on
from manafidh.services import gate_control
from manafidh.services.ports import UnitOfWork


def needed(rules: Iterable[LaneRule], day: date) -> set[str]:
    """The facts the rules in force on ``day`` use."""
    return {name for r in rules if applies_on(r, day) for name in r.uses()}


def rule_facts(
    uow: UnitOfWork,
    decl: Declaration,
    *,
    assessment_id: str,
    rules: Iterable[LaneRule],
) -> RuleFacts:
    """The facts known now about a declaration being laned, for the rules that need them."""
    assert decl.acceptance_date is not None
    assert decl.lodged_at is not None
    wanted = needed(rules, decl.acceptance_date)
    if not wanted:
        return RuleFacts(declarant_id=decl.declarant_id)
    flagged = exempted = mismatch = None
    prior = None
    if "valuation_flag" in wanted:
        flagged = any(f["assessment_id"] == assessment_id for f in uow.valuation.flags_of(decl.id))
    if "exemption_use" in wanted:
        exempted = bool(uow.exemptions.uses_of(assessment_id))
    if "weight_mismatch" in wanted:
        mismatch = weight_mismatch(uow, decl)
    if "first_declarations" in wanted:
        prior = uow.risk.importer_declarations_before(decl.content.importer_tax_id, decl.lodged_at)
    return RuleFacts(
        declarant_id=decl.declarant_id,
        valuation_flagged=flagged,
        weight_mismatch=mismatch,
        exemption_used=exempted,
        local_hour=local_hour(decl.lodged_at),
        importer_prior_declarations=prior,
    )


def local_hour(at: datetime) -> int:
    """The hour at the crossing (Iraq time) of an instant."""
    return at.astimezone(IRAQ_TZ).hour


def weight_mismatch(uow: UnitOfWork, decl: Declaration) -> bool | None:
    """Whether the truck's weighing so far disagrees with the declared mass (None: not weighed).

    The entry weighbridge and a registered (or already weighed) tare give the cargo mass before
    the declaration is laned; the same tolerance as the gate's reconciliation applies.
    """
    key = (decl.crossing_code, normalise_plate(decl.content.vehicle_plates[0]))
    visit = uow.gate_control.open_visits([key]).get(key)
    if visit is None or visit.entry_gross_kg is None:
        return None
    tare = visit.tare_kg
    if tare is None:
        tare = uow.gate_control.registered_tares([visit.plate]).get(visit.plate)
    if tare is None:
        return None
    assert decl.lodged_at is not None
    declared: Decimal = decl.content.total_gross_mass_kg
    rec = reconcile(
        visit.entry_gross_kg, tare, declared, gate_control.tolerance(uow, decl.lodged_at)
    )
    return not rec.matches


def past_facts(uow: UnitOfWork, decl: Declaration, rule: LaneRule) -> RuleFacts:
    """The facts a what-if ``rule`` needs about a past declaration, from what was recorded.

    Valuation flags and exemption use are those of any of its assessments; a weight mismatch is
    the gate's reconciliation of its visit (known after lodging, which is what a backtest asks).
    """
    assert decl.lodged_at is not None
    wanted = rule.uses()
    flagged = exempted = mismatch = None
    prior = None
    if "valuation_flag" in wanted:
        flagged = bool(uow.valuation.flags_of(decl.id))
    if "exemption_use" in wanted:
        latest = uow.declarations.latest_assessment(decl.id)
        exempted = bool(latest and uow.exemptions.uses_of(latest.id))
    if "weight_mismatch" in wanted:
        visit = uow.gate_control.visit_of(decl.id)
        known = visit is not None and visit.weight_state is not WeightState.PENDING
        mismatch = visit.weight_state is WeightState.MISMATCH if visit and known else None
    if "first_declarations" in wanted:
        prior = uow.risk.importer_declarations_before(decl.content.importer_tax_id, decl.lodged_at)
    return RuleFacts(
        declarant_id=decl.declarant_id,
        valuation_flagged=flagged,
        weight_mismatch=mismatch,
        exemption_used=exempted,
        local_hour=local_hour(decl.lodged_at),
        importer_prior_declarations=prior,
    )
