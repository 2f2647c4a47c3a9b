"""Use cases of the declarant: draft, amend, lodge (which assesses and selects a lane), cancel."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from decimal import Decimal

from manafidh.domain.audit.payloads import (
    assessment_payload,
    content_digest,
    lane_payload,
    order_payload,
    version_payload,
)
from manafidh.domain.clock import local_date
from manafidh.domain.declarations.model import Content, Declaration
from manafidh.domain.declarations.states import Action
from manafidh.domain.errors import Forbidden, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.parameters import RANDOM_CONTROL_RATE
from manafidh.domain.payments.orders import OrderState, PaymentOrder, creditor_reference
from manafidh.domain.risk.lanes import LaneDecision, select_lane
from manafidh.domain.tariff.assessment import Assessment
from manafidh.services import journal, ledger, revenue_reports, risk, risk_facts, tariff
from manafidh.services.access import load_for
from manafidh.services.ports import UnitOfWork

SYSTEM = "system"
SYSTEM_ACTOR = (SYSTEM, SYSTEM)  # (actor, role) of the steps the system takes by itself


@dataclass(frozen=True)
class Lodgement:
    """A declaration after lodging or amending, with the payment order that step issued: the
    notice a declarant receives (amount due, payment reference). None when it issued none:
    nothing (more) is due, or a draft was amended."""

    declaration: Declaration
    order: PaymentOrder | None


def validate_content(uow: UnitOfWork, crossing_code: str, content: Content) -> None:
    """Check the content against reference data: crossing, HS codes, countries, currency."""
    content.check()
    if uow.reference.crossing(crossing_code) is None:
        raise ValidationFailed(f"unknown crossing {crossing_code}", field="crossing_code")
    unknown = uow.reference.unknown_hs_codes([i.hs_code for i in content.items])
    if unknown:
        raise ValidationFailed(
            "HS code not in the nomenclature", field="items.hs_code", codes=sorted(unknown)
        )
    countries = {content.dispatch_country, content.origin_country}
    countries |= {i.origin_country for i in content.items}
    unknown_countries = uow.reference.unknown_countries(countries)
    if unknown_countries:
        raise ValidationFailed(
            "unknown country code", field="country", codes=sorted(unknown_countries)
        )
    currency = uow.reference.currency(content.invoice_currency)
    if currency is None:
        raise ValidationFailed(
            f"unknown currency {content.invoice_currency}", field="invoice_currency"
        )
    minor = currency.minor_unit or 0
    for item in content.items:
        if item.invoice_value.as_tuple().exponent < -minor:  # type: ignore[operator]
            raise ValidationFailed(
                f"invoice value has more decimals than {currency.code} allows",
                field="invoice_value",
                line_no=item.line_no,
            )


def _new(uow: UnitOfWork, actor: User, crossing_code: str, content: Content) -> Declaration:
    actor.require(Permission.LODGE)
    validate_content(uow, crossing_code, content)
    now = uow.clock.now()
    year = local_date(now).year
    # Customs numbering: office, year, serial (like ASYCUDA's registration number).
    serial = uow.declarations.next_number(f"declaration:{crossing_code}:{year}")
    decl = Declaration.draft(
        reference=f"{crossing_code}-{year}-{serial:06d}",
        crossing_code=crossing_code,
        declarant_id=actor.id,
        content=content,
        at=now,
    )
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=crossing_code,
        action="declaration.created",
        subject=journal.declaration_subject(decl.id),
        payload={
            "reference": decl.reference,
            "declarant": actor.id,
            "to": decl.state.value,
            **version_payload(1, content),
        },
    )
    return decl


def create_draft(
    *, uow: UnitOfWork, actor: User, crossing_code: str, content: Content
) -> Declaration:
    """Save a new declaration as a draft (version 1)."""
    decl = _new(uow, actor, crossing_code, content)
    uow.declarations.add(decl)
    uow.commit()
    return decl


def _own(uow: UnitOfWork, actor: User, declaration_id: str) -> Declaration:
    actor.require(Permission.LODGE)
    decl = load_for(uow, actor, declaration_id)
    if decl.declarant_id != actor.id:
        raise Forbidden("only the declarant may change a declaration")
    return decl


def amend(
    *,
    uow: UnitOfWork,
    actor: User,
    declaration_id: str,
    content: Content,
    reason: str,
    rng: random.Random,
) -> Lodgement:
    """Append a new version; a lodged declaration is re-assessed at once (lane kept), and an
    order issued for what is still due."""
    decl = _own(uow, actor, declaration_id)
    validate_content(uow, decl.crossing_code, content)
    now = uow.clock.now()
    since = len(decl.transitions)
    version = decl.amend(content, at=now, actor=actor.id, reason=reason)
    outcome = _assess_and_select(uow, decl, rng=rng) if decl.acceptance_date else None
    uow.declarations.save(decl)
    details = _details(decl, outcome)
    details[Action.AMEND] = version_payload(version.number, content)
    journal.steps(uow, decl, since=since, user=actor, details=details)
    if outcome:
        _store(uow, decl, outcome)
    uow.commit()
    return Lodgement(decl, outcome.order if outcome else None)


def lodge(*, uow: UnitOfWork, actor: User, declaration_id: str, rng: random.Random) -> Lodgement:
    """Lodge a draft: accept it, assess duties, select the lane, issue the payment order."""
    decl = _own(uow, actor, declaration_id)
    now = uow.clock.now()
    since = len(decl.transitions)
    decl.lodge(at=now, acceptance_date=local_date(now), actor=actor.id)
    outcome = _assess_and_select(uow, decl, rng=rng)
    uow.declarations.save(decl)
    journal.steps(uow, decl, since=since, user=actor, details=_details(decl, outcome))
    _store(uow, decl, outcome)
    uow.commit()
    return Lodgement(decl, outcome.order)


def submit(
    *, uow: UnitOfWork, actor: User, crossing_code: str, content: Content, rng: random.Random
) -> Declaration:
    """Create and lodge in one transaction (what a broker's system usually does); the
    declaration alone (``submit_lodgement`` answers with its payment order too)."""
    return submit_lodgement(
        uow=uow, actor=actor, crossing_code=crossing_code, content=content, rng=rng
    ).declaration


def submit_lodgement(
    *, uow: UnitOfWork, actor: User, crossing_code: str, content: Content, rng: random.Random
) -> Lodgement:
    """Create and lodge in one transaction, answering with the payment order to pay."""
    decl = _new(uow, actor, crossing_code, content)
    now = uow.clock.now()
    decl.lodge(at=now, acceptance_date=local_date(now), actor=actor.id)
    outcome = _assess_and_select(uow, decl, rng=rng)
    uow.declarations.add(decl)
    journal.steps(uow, decl, since=0, user=actor, details=_details(decl, outcome))
    _store(uow, decl, outcome)
    uow.commit()
    return Lodgement(decl, outcome.order)


def cancel(*, uow: UnitOfWork, actor: User, declaration_id: str, reason: str) -> Declaration:
    """Withdraw a declaration that has not reached lane selection."""
    decl = _own(uow, actor, declaration_id)
    since = len(decl.transitions)
    decl.cancel(at=uow.clock.now(), actor=actor.id, reason=reason)
    for order in uow.payments.orders_for(decl.id):
        if order.state is OrderState.OPEN:
            order.state = OrderState.SUPERSEDED
            uow.payments.save_order(order, decl.crossing_code)
            _order_entry(uow, decl, order, "payment_order.superseded", journal.by(actor))
    uow.declarations.save(decl)
    journal.steps(uow, decl, since=since, user=actor)
    uow.commit()
    return decl


# -- assessment and lane selection, run inside lodge/amend ------------------------------------
@dataclass
class _Outcome:
    """Records produced by assessing and laning, written once the declaration row exists."""

    assessment: Assessment
    decision: LaneDecision | None
    order: PaymentOrder | None
    scored: risk.Scored | None = None


def _assess_and_select(uow: UnitOfWork, decl: Declaration, *, rng: random.Random) -> _Outcome:
    assert decl.acceptance_date is not None
    now = uow.clock.now()
    assessment = tariff.assess(uow, decl, assessment_id=uuid.uuid4().hex, at=now)
    decl.mark_assessed(at=now, actor=SYSTEM)
    first_selection = decl.lane is None
    rate = uow.reference.parameters().get(RANDOM_CONTROL_RATE, decl.acceptance_date).value
    rules = uow.reference.lane_rules()
    decision = select_lane(
        content=decl.content,
        crossing_code=decl.crossing_code,
        customs_value_iqd=assessment.customs_value_iqd,
        day=decl.acceptance_date,
        rules=rules,
        random_rate=rate,
        rng=rng,
        facts=risk_facts.rule_facts(uow, decl, assessment_id=assessment.id, rules=rules),
    )
    scored = None
    if first_selection:
        decision, scored = risk.select(uow, decl, decision, assessment.customs_value_iqd, rng)
    reason = "; ".join(decision.reasons) if first_selection else "lane kept from first selection"
    # The order comes first: it resets 'settled' when more is due, so that a declaration paid
    # before an amendment cannot slip to 'paid' without paying the difference.
    order = _replace_payment_order(uow, decl, assessment)
    decl.select_lane(decision.lane, at=now, actor=SYSTEM, reason=reason)
    return _Outcome(assessment, decision if first_selection else None, order, scored)


def _store(uow: UnitOfWork, decl: Declaration, outcome: _Outcome) -> None:
    revenue_reports.assessment_recorded(uow, decl, outcome.assessment)  # before it is latest
    uow.declarations.add_assessment(outcome.assessment, decl.crossing_code)
    if outcome.decision is not None:
        uow.declarations.add_lane_decision(decl.id, outcome.decision, uow.clock.now())
    if outcome.scored is not None:
        risk.store_score(uow, decl.id, outcome.scored)
    if outcome.order is not None:
        uow.payments.add_order(outcome.order)
        _order_entry(uow, decl, outcome.order, "payment_order.issued", SYSTEM_ACTOR)


def _details(decl: Declaration, outcome: _Outcome | None) -> dict[Action, dict[str, object]]:
    """The values each transition's entry carries: version lodged, totals, lane and draw."""
    lodged: dict[str, object] = {
        "acceptance_date": decl.acceptance_date,
        "version": decl.current.number,
        "content_digest": content_digest(decl.content),
    }
    if outcome is None:
        return {Action.LODGE: lodged}
    assert decl.lane is not None
    lane: dict[str, object] = {"lane": decl.lane.value, "first": outcome.decision is not None}
    if outcome.decision is not None:
        lane.update(lane_payload(outcome.decision))
    return {
        Action.LODGE: lodged,
        Action.ASSESS: assessment_payload(outcome.assessment),
        Action.SELECT_LANE: lane,
    }


def _order_entry(
    uow: UnitOfWork, decl: Declaration, order: PaymentOrder, action: str, who: tuple[str, str]
) -> None:
    journal.record(
        uow,
        who=who,
        crossing=decl.crossing_code,
        action=action,
        subject=journal.declaration_subject(decl.id),
        payload={"reference": decl.reference, **order_payload(order.reference, order.amount_iqd)},
    )
    # Every issued or superseded order moves money in the revenue ledger, in this transaction.
    if action == "payment_order.issued":
        ledger.order_issued(uow, crossing_code=decl.crossing_code, order=order, actor=who[0])
    elif action == "payment_order.superseded":
        ledger.order_withdrawn(uow, crossing_code=decl.crossing_code, order=order, actor=who[0])


def _replace_payment_order(
    uow: UnitOfWork, decl: Declaration, assessment: Assessment
) -> PaymentOrder | None:
    """Supersede unpaid orders and issue one for what is still due on the new assessment."""
    orders = uow.payments.orders_for(decl.id) if decl.current.number > 1 else []
    already_paid = sum((o.paid_iqd for o in orders), Decimal(0))
    for order in orders:
        if order.state is OrderState.OPEN:
            order.state = OrderState.SUPERSEDED
            uow.payments.save_order(order, decl.crossing_code)
            _order_entry(uow, decl, order, "payment_order.superseded", SYSTEM_ACTOR)
    due = assessment.total_due_iqd - already_paid
    if due <= 0:
        # Nothing (more) to pay: a zero-duty declaration is settled at once. Refunds of an
        # overpayment after a downward amendment are a revenue-ledger matter (issue #7).
        decl.record_settlement(at=uow.clock.now(), actor=SYSTEM)
        return None
    # The declaration's number and the order's rank within it: unique without a shared
    # counter, which would make every lodging at every crossing queue on one locked row.
    # "P" keeps the two numbers apart, so no two declarations' orders can share a body.
    body = f"{decl.reference.replace('-', '')}P{len(orders) + 1:02d}"
    decl.settled = False
    return PaymentOrder(
        id=uuid.uuid4().hex,
        reference=creditor_reference(body),
        declaration_id=decl.id,
        amount_iqd=due,
        created_at=uow.clock.now(),
    )


def get(*, uow: UnitOfWork, actor: User, declaration_id: str) -> Declaration:
    """A declaration the actor may read."""
    return load_for(uow, actor, declaration_id)
