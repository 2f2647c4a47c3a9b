"""The tariff API under /api/v1: measures (explain, import, roll back), exemptions and quotas,
foregone revenue, valuation references. Only administrators change the tariff or exemptions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from manafidh.domain.tariff.exemptions import (
    BeneficiaryKind,
    Exemption,
    ExemptionAction,
    Quota,
)
from manafidh.domain.tariff.imports import TariffImport
from manafidh.domain.tariff.investment import (
    ApprovedGoods,
    ImplementationReport,
    InvestmentProject,
)
from manafidh.services import exemptions, investment, tariff, valuation
from manafidh.web.deps import UowDep, UserDep
from manafidh.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["tariff"], responses=ERROR_RESPONSES)
Code = Annotated[str, Field(pattern=r"^\d{2}(\d{2}){0,4}$")]


class MeasureOut(BaseModel):
    """A measure as stored."""

    id: int
    code: str
    measure_type: str
    origin: str
    valid_from: date
    valid_to: date | None
    legal_reference: str
    expression: str


class ExplanationOut(BaseModel):
    """What applies to a code for an origin on a day, and why."""

    code: str
    origin: str
    on: date
    applies: list[MeasureOut]
    fallback_rate_percent: Decimal | None
    explanation: list[str]


class MeasureIn(BaseModel):
    """One measure to import (the columns of a CSV tariff file)."""

    code: str
    measure_type: str = "import_duty"
    origin: str = "ALL"
    valid_from: str
    valid_to: str | None = None
    legal_reference: str
    expression: str = ""


class ImportIn(BaseModel):
    """Measures to import, all or none."""

    source: str = Field(min_length=1, max_length=200)
    measures: list[MeasureIn] = Field(min_length=1, max_length=100_000)


class ImportOut(BaseModel):
    """A recorded import."""

    id: str
    imported_at: AwareDatetime
    actor: str
    source: str
    measures: int
    rolled_back_at: AwareDatetime | None
    rolled_back_by: str | None
    rollback_reason: str | None

    @classmethod
    def of(cls, i: TariffImport) -> ImportOut:
        """Build from the domain record."""
        return cls(**vars(i))


class RollbackIn(BaseModel):
    """Undo imports made at or after ``since``; a preview unless ``apply``."""

    since: AwareDatetime
    reason: str = ""
    apply: bool = False


class QuotaIn(BaseModel):
    """A quota on the codes under ``code``: kg net and/or customs value in IQD."""

    code: Code
    max_kg: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    max_value_iqd: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)


class ExemptionIn(BaseModel):
    """An exemption to grant."""

    reference: str = Field(min_length=1, max_length=40)
    beneficiary_kind: BeneficiaryKind
    beneficiary_name: str = Field(min_length=1)
    beneficiary_tax_id: str = Field(min_length=1, max_length=40)
    legal_basis: str = Field(min_length=1)
    valid_from: date
    valid_to: date | None = None
    relief_percent: Decimal = Field(default=Decimal(100), gt=0, le=100, allow_inf_nan=False)
    codes: list[Code] = []
    crossings: list[str] = []
    quotas: list[QuotaIn] = []


class QuotaOut(BaseModel):
    """A quota and what has been used of it."""

    id: int
    code: str
    max_kg: Decimal | None
    max_value_iqd: Decimal | None
    used_kg: Decimal
    used_value_iqd: Decimal


class ExemptionOut(BaseModel):
    """An exemption, its quotas and (when read alone) its recorded changes."""

    reference: str
    beneficiary_kind: str
    beneficiary_name: str
    beneficiary_tax_id: str
    legal_basis: str
    valid_from: date
    valid_to: date | None
    relief_percent: Decimal
    codes: list[str]
    crossings: list[str]
    state: str
    quotas: list[QuotaOut]
    events: list[dict[str, Any]] = []

    @classmethod
    def of(cls, e: Exemption, events: list[dict[str, Any]] | None = None) -> ExemptionOut:
        """Build from the domain record."""
        return cls(
            reference=e.reference,
            beneficiary_kind=e.beneficiary_kind.value,
            beneficiary_name=e.beneficiary_name,
            beneficiary_tax_id=e.beneficiary_tax_id,
            legal_basis=e.legal_basis,
            valid_from=e.valid_from,
            valid_to=e.valid_to,
            relief_percent=e.relief_percent,
            codes=list(e.codes),
            crossings=list(e.crossings),
            state=e.state.value,
            quotas=[QuotaOut(**vars(q)) for q in e.quotas],
            events=events or [],
        )


class ChangeIn(BaseModel):
    """Why, and on what legal reference."""

    reason: str = Field(min_length=1)
    legal_reference: str = Field(min_length=1)


class DecreeIn(BaseModel):
    """Revoke every exemption of these beneficiary kinds still in force on ``as_of``."""

    kinds: list[BeneficiaryKind] = Field(min_length=1)
    as_of: date
    decree: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    apply: bool = False


class DecreeOut(BaseModel):
    """What a decree revokes (or would revoke, in a preview)."""

    decree: str
    as_of: date
    applied: bool
    affected: list[str]


class ForegoneOut(BaseModel):
    """Foregone revenue of one group."""

    group: str
    foregone_iqd: Decimal
    exempted_value_iqd: Decimal
    lines: int


# -- measures -----------------------------------------------------------------------------------
@router.get("/tariff/measures/{code}")
def show_measures(
    code: str,
    user: UserDep,
    uow: UowDep,
    origin: Annotated[str, Query(min_length=2, max_length=2)],
    on: date | None = None,
) -> ExplanationOut:
    """Which measures apply to a commodity code for an origin on a day, and why."""
    day = on or uow.clock.now().date()
    e = tariff.show(uow=uow, code=code, day=day, origin=origin)
    return ExplanationOut(
        code=e.code,
        origin=e.origin,
        on=day,
        applies=[MeasureOut(**vars(m)) for m in e.applicable.chosen.values()],
        fallback_rate_percent=e.fallback.rate_percent if e.fallback else None,
        explanation=e.lines(),
    )


@router.post("/tariff/imports", status_code=status.HTTP_201_CREATED)
def import_measures(body: ImportIn, user: UserDep, uow: UowDep) -> ImportOut:
    """Import measures: all of them, or none with every bad row named (administrators)."""
    rows = [(n, m.model_dump()) for n, m in enumerate(body.measures, start=1)]
    return ImportOut.of(tariff.import_measures(uow=uow, actor=user, rows=rows, source=body.source))


@router.get("/tariff/imports")
def list_imports(user: UserDep, uow: UowDep) -> list[ImportOut]:
    """Every import, with who made it and whether it was rolled back."""
    return [ImportOut.of(i) for i in tariff.list_imports(uow=uow, actor=user)]


@router.post("/tariff/rollback")
def roll_back(body: RollbackIn, user: UserDep, uow: UowDep) -> list[ImportOut]:
    """Undo the imports made at or after an instant (a preview unless ``apply``)."""
    undone = tariff.roll_back(
        uow=uow, actor=user, since=body.since, reason=body.reason, apply=body.apply
    )
    return [ImportOut.of(i) for i in undone]


# -- exemptions ---------------------------------------------------------------------------------
@router.post("/exemptions", status_code=status.HTTP_201_CREATED)
def grant_exemption(body: ExemptionIn, user: UserDep, uow: UowDep) -> ExemptionOut:
    """Grant an exemption with its scope and quotas (administrators)."""
    e = Exemption(
        id=0,
        reference=body.reference,
        beneficiary_kind=body.beneficiary_kind,
        beneficiary_name=body.beneficiary_name,
        beneficiary_tax_id=body.beneficiary_tax_id,
        legal_basis=body.legal_basis,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        relief_percent=body.relief_percent,
        codes=tuple(body.codes),
        crossings=tuple(body.crossings),
        quotas=tuple(Quota(0, q.code, q.max_kg, q.max_value_iqd) for q in body.quotas),
    )
    return ExemptionOut.of(exemptions.grant(uow=uow, actor=user, exemption=e))


@router.get("/exemptions/{reference}")
def get_exemption(reference: str, user: UserDep, uow: UowDep) -> ExemptionOut:
    """An exemption, its quotas with their usage, and its recorded changes."""
    e, events = exemptions.get_exemption(uow=uow, actor=user, reference=reference)
    return ExemptionOut.of(e, events)


@router.post("/exemptions/{reference}/{action}")
def change_exemption(
    reference: str,
    action: Literal["suspend", "revoke", "reinstate"],
    body: ChangeIn,
    user: UserDep,
    uow: UowDep,
) -> ExemptionOut:
    """Suspend, revoke or reinstate an exemption, with why and the legal reference."""
    e = exemptions.change_state(
        uow=uow,
        actor=user,
        reference=reference,
        action=ExemptionAction(action),
        reason=body.reason,
        legal_reference=body.legal_reference,
    )
    return ExemptionOut.of(e)


@router.post("/exemption-decrees")
def revoke_by_decree(body: DecreeIn, user: UserDep, uow: UowDep) -> DecreeOut:
    """Revoke by decree every exemption of some beneficiary kinds (a preview unless ``apply``)."""
    preview = exemptions.revoke_by_decree(
        uow=uow,
        actor=user,
        kinds=body.kinds,
        as_of=body.as_of,
        decree=body.decree,
        reason=body.reason,
        apply=body.apply,
    )
    return DecreeOut(
        decree=preview.decree,
        as_of=preview.as_of,
        applied=body.apply,
        affected=[e.reference for e in preview.affected],
    )


@router.get("/reports/foregone-revenue")
def foregone_revenue(
    user: UserDep,
    uow: UowDep,
    by: Literal["beneficiary", "legal_basis", "chapter", "crossing", "month"] = "beneficiary",
) -> list[ForegoneOut]:
    """Duty foregone through exemptions, grouped as asked, largest first."""
    rows = exemptions.foregone_report(uow=uow, actor=user, by=by)
    return [
        ForegoneOut(group=g, foregone_iqd=f, exempted_value_iqd=v, lines=n) for g, f, v, n in rows
    ]


@router.post("/valuation/references/refresh")
def refresh_valuation(user: UserDep, uow: UowDep) -> dict[str, int]:
    """Recompute reference unit values from cleared history (reference managers)."""
    return {"references": valuation.refresh_reference_values(uow=uow, actor=user)}


# -- investment projects -----------------------------------------------------------------------
class ApprovedGoodsIn(BaseModel):
    """A line of the approved goods list."""

    code: Code
    max_kg: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    max_value_iqd: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)


class ProjectIn(BaseModel):
    """A licensed investment project to register (its exemption is granted with it)."""

    licence_number: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1)
    sector: str = Field(min_length=1, max_length=60)
    tax_id: str = Field(min_length=1, max_length=40)
    approved_on: date
    window_from: date
    window_to: date
    goods: list[ApprovedGoodsIn] = Field(min_length=1)
    legal_basis: str = Field(min_length=1)


class ReportIn(BaseModel):
    """An implementation rate reported on a day."""

    reported_on: date
    rate_percent: Decimal = Field(ge=0, le=100, allow_inf_nan=False)
    source: str = Field(min_length=1)


class LaggingOut(BaseModel):
    """A project at or below the implementation threshold after its grace period."""

    licence_number: str
    name: str
    exemption: str
    rate_percent: Decimal
    threshold_percent: Decimal


@router.post("/investment-projects", status_code=status.HTTP_201_CREATED)
def register_project(body: ProjectIn, user: UserDep, uow: UowDep) -> ExemptionOut:
    """Register a project and grant its exemption (administrators)."""
    p = InvestmentProject(
        licence_number=body.licence_number,
        name=body.name,
        sector=body.sector,
        tax_id=body.tax_id,
        approved_on=body.approved_on,
        window_from=body.window_from,
        window_to=body.window_to,
        goods=tuple(ApprovedGoods(g.code, g.max_kg, g.max_value_iqd) for g in body.goods),
    )
    e = investment.register_project(uow=uow, actor=user, project=p, legal_basis=body.legal_basis)
    return ExemptionOut.of(e)


@router.post("/investment-projects/{licence_number}/reports", status_code=status.HTTP_201_CREATED)
def report_implementation(
    licence_number: str, body: ReportIn, user: UserDep, uow: UowDep
) -> dict[str, str]:
    """Record a project's implementation rate."""
    investment.report_implementation(
        uow=uow,
        actor=user,
        licence_number=licence_number,
        report=ImplementationReport(body.reported_on, body.rate_percent, body.source),
    )
    return {"licence_number": licence_number}


@router.get("/reports/lagging-projects")
def lagging_projects(user: UserDep, uow: UowDep, as_of: date | None = None) -> list[LaggingOut]:
    """Projects at or below the implementation threshold after their grace period."""
    day = as_of or uow.clock.now().date()
    return [
        LaggingOut(
            licence_number=lag.project.licence_number,
            name=lag.project.name,
            exemption=lag.exemption_reference,
            rate_percent=lag.rate_percent,
            threshold_percent=lag.threshold,
        )
        for lag in investment.lagging_projects(uow=uow, actor=user, as_of=day)
    ]


@router.post("/investment-projects/suspension-rule")
def apply_suspension_rule(
    user: UserDep, uow: UowDep, as_of: date, apply: bool = False
) -> list[LaggingOut]:
    """Suspend the exemptions of lagging projects (a preview unless ``apply``)."""
    return [
        LaggingOut(
            licence_number=lag.project.licence_number,
            name=lag.project.name,
            exemption=lag.exemption_reference,
            rate_percent=lag.rate_percent,
            threshold_percent=lag.threshold,
        )
        for lag in investment.apply_suspension_rule(uow=uow, actor=user, as_of=as_of, apply=apply)
    ]
