"""Inspection results that feed the risk reports: extra duty found, hit rates, revenue."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.errors import IllegalTransition, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.money import IQD_MINOR_UNITS, round_money
from manafidh.domain.risk.report import risk_report
from manafidh.services import journal, risk_assignment
from manafidh.services.access import load_for, require_at
from manafidh.services.ports import UnitOfWork

MAX_EXTRA_DUTY_IQD = Decimal(10) ** 15  # beyond any real consignment: a typing error


def record_extra_duty(
    *, uow: UnitOfWork, actor: User, declaration_id: str, extra_duty_iqd: Decimal, notes: str
) -> Decimal:
    """An inspector records the extra duty a finding of their inspection brought."""
    decl = load_for(uow, actor, declaration_id)
    require_at(actor, Permission.INSPECT, decl)
    risk_assignment.require_assigned(uow, actor, decl)
    if not Decimal(0) < extra_duty_iqd <= MAX_EXTRA_DUTY_IQD:
        raise ValidationFailed("extra duty must be positive", field="extra_duty_iqd")
    amount = round_money(extra_duty_iqd, IQD_MINOR_UNITS)
    if amount != extra_duty_iqd:
        raise ValidationFailed("extra duty has more than 3 decimals", field="extra_duty_iqd")
    inspections = [c for c in uow.declarations.checks_of(decl.id) if c["kind"] == "inspection"]
    if not any(c["found"] for c in inspections):
        raise IllegalTransition(
            "extra duty is recorded after an inspection that found an irregularity",
            declaration=decl.reference,
        )
    uow.risk.add_extra_duty(
        declaration_id=decl.id,
        extra_duty_iqd=amount,
        actor=actor.id,
        at=uow.clock.now(),
        notes=notes,
    )
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=decl.crossing_code,
        action="inspection.extra_duty",
        subject=journal.declaration_subject(decl.id),
        payload={"reference": decl.reference, "extra_duty_iqd": amount, "notes": notes},
    )
    uow.commit()
    return amount


def report(*, uow: UnitOfWork, actor: User | None, since: date, until: date) -> dict[str, Any]:
    """Hit rate per lane, per rule and of the random control; revenue per crossing and month."""
    if actor is not None:
        actor.require(Permission.READ_ALL)
    if until < since:
        raise ValidationFailed("until is before since", field="until")
    start = datetime.combine(since, time(), IRAQ_TZ)
    end = datetime.combine(until + timedelta(days=1), time(), IRAQ_TZ)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        **risk_report(uow.risk.control_outcomes(start, end)).as_json(),
    }
