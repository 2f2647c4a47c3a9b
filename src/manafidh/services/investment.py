"""Investment projects: register (with their exemption), report implementation, apply the
suspension rule, and report lagging projects and exempt imports beyond the approved goods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from manafidh.domain.errors import NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.tariff.exemptions import (
    BeneficiaryKind,
    Exemption,
    ExemptionState,
    Quota,
)
from manafidh.domain.tariff.investment import (
    GRACE_PERIOD_DAYS,
    SUSPENSION_THRESHOLD,
    ImplementationReport,
    InvestmentProject,
)
from manafidh.services import exemptions, journal
from manafidh.services.ports import UnitOfWork


def register_project(
    *, uow: UnitOfWork, actor: User | None, project: InvestmentProject, legal_basis: str
) -> Exemption:
    """Register a licensed project and grant its exemption: the approved goods as quotas,
    valid over the import window."""
    if actor is not None:
        actor.require(Permission.MANAGE_EXEMPTIONS)
    if uow.investment.get(project.licence_number) is not None:
        raise ValidationFailed(f"project {project.licence_number} exists", field="licence_number")
    reference = f"INV-{project.licence_number}"
    e = Exemption(
        id=0,
        reference=reference,
        beneficiary_kind=BeneficiaryKind.INVESTMENT_PROJECT,
        beneficiary_name=project.name,
        beneficiary_tax_id=project.tax_id,
        legal_basis=legal_basis,
        valid_from=project.window_from,
        valid_to=project.window_to,
        codes=tuple(g.code for g in project.goods),
        quotas=tuple(Quota(0, g.code, g.max_kg, g.max_value_iqd) for g in project.goods),
        project_id=project.licence_number,
    )
    uow.investment.add(project, reference)
    journal.record(
        uow,
        who=journal.by(actor),
        crossing="",
        action="investment.registered",
        subject=f"investment:{project.licence_number}",
        payload={
            "licence_number": project.licence_number,
            "name": project.name,
            "sector": project.sector,
            "tax_id": project.tax_id,
            "approved_on": project.approved_on,
            "window": [project.window_from, project.window_to],
            "exemption": reference,
        },
    )
    return exemptions.grant(uow=uow, actor=actor, exemption=e)  # commits both


def report_implementation(
    *, uow: UnitOfWork, actor: User | None, licence_number: str, report: ImplementationReport
) -> None:
    """Record a project's implementation rate as reported on a day."""
    if actor is not None:
        actor.require(Permission.MANAGE_EXEMPTIONS)
    if uow.investment.get(licence_number) is None:
        raise NotFound(f"no project {licence_number}", licence_number=licence_number)
    who = journal.by(actor)
    uow.investment.add_report(licence_number, report, at=uow.clock.now(), actor=who[0])
    journal.record(
        uow,
        who=who,
        crossing="",
        action="investment.implementation_reported",
        subject=f"investment:{licence_number}",
        payload={
            "reported_on": report.reported_on,
            "rate_percent": report.rate_percent,
            "source": report.source,
        },
    )
    uow.commit()


@dataclass(frozen=True)
class Lagging:
    """A project past its grace period at or below the threshold."""

    project: InvestmentProject
    exemption_reference: str
    rate_percent: Decimal
    threshold: Decimal


def lagging_projects(*, uow: UnitOfWork, actor: User | None, as_of: date) -> list[Lagging]:
    """Projects that lag on ``as_of`` under the dated threshold and grace period."""
    if actor is not None and not actor.can(Permission.MANAGE_EXEMPTIONS):
        actor.require(Permission.READ_ALL)
    params = uow.reference.parameters()
    threshold = params.get(SUSPENSION_THRESHOLD, as_of).value
    grace = int(params.get(GRACE_PERIOD_DAYS, as_of).value)
    found = []
    for project, reference in uow.investment.all():
        if project.lags(as_of, threshold=threshold, grace_days=grace):
            latest = project.latest_rate(as_of)
            rate = latest.rate_percent if latest else Decimal(0)
            found.append(Lagging(project, reference, rate, threshold))
    return found


def apply_suspension_rule(
    *, uow: UnitOfWork, actor: User | None, as_of: date, apply: bool
) -> list[Lagging]:
    """Suspend the exemptions of lagging projects (a preview unless ``apply``)."""
    if actor is not None:
        actor.require(Permission.MANAGE_EXEMPTIONS)
    lagging = [
        lag
        for lag in lagging_projects(uow=uow, actor=actor, as_of=as_of)
        if (e := uow.exemptions.get(lag.exemption_reference)) is not None
        and e.state is ExemptionState.ACTIVE
    ]
    if not apply:
        return lagging
    rule = uow.reference.parameters().get(SUSPENSION_THRESHOLD, as_of)
    for lag in lagging:
        exemptions.suspend_for_rule(
            uow,
            journal.by(actor),
            lag.exemption_reference,
            reason=(
                f"implementation {lag.rate_percent}% at or below {lag.threshold}% after the"
                f" grace period ({as_of.isoformat()})"
            ),
            legal_reference=rule.legal_reference,
        )
    uow.commit()
    return lagging


@dataclass(frozen=True)
class OverQuantity:
    """An approved goods line whose exempt imports went beyond what was approved."""

    licence_number: str
    code: str
    approved_kg: Decimal | None
    exempted_kg: Decimal
    approved_value_iqd: Decimal | None
    exempted_value_iqd: Decimal


def over_quantity(*, uow: UnitOfWork, actor: User | None) -> list[OverQuantity]:
    """Approved goods lines whose exempt imports exceed the approved quantity or value."""
    if actor is not None and not actor.can(Permission.MANAGE_EXEMPTIONS):
        actor.require(Permission.READ_ALL)
    found = []
    for project, reference in uow.investment.all():
        used = uow.investment.exempted(reference)
        for g in project.goods:
            kg = sum((k for code, k, _ in used if code.startswith(g.code)), Decimal(0))
            value = sum((v for code, _, v in used if code.startswith(g.code)), Decimal(0))
            over_kg = g.max_kg is not None and kg > g.max_kg
            over_value = g.max_value_iqd is not None and value > g.max_value_iqd
            if over_kg or over_value:
                found.append(
                    OverQuantity(
                        project.licence_number, g.code, g.max_kg, kg, g.max_value_iqd, value
                    )
                )
    return found
