"""Risk management API under /api/v1/risk: lane rules (add, end, list, backtest) and scores."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from manafidh.domain.declarations.model import Lane
from manafidh.domain.errors import Forbidden
from manafidh.domain.identity import Permission
from manafidh.domain.risk.lanes import LaneRule
from manafidh.services import risk_assignment, risk_reports, risk_rules
from manafidh.services.access import load_for
from manafidh.web.deps import UowDep, UserDep
from manafidh.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/risk", tags=["risk"], responses=ERROR_RESPONSES)


class RuleConditions(BaseModel):
    """What a rule matches; every set condition must hold."""

    lane: Lane | None = Field(
        None, description="yellow or red (default red, or none with a weight)"
    )
    hs_prefix: str | None = Field(None, pattern=r"^\d{2,10}$")
    origin_country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    crossing_code: str | None = Field(None, max_length=8)
    importer_tax_id: str | None = Field(None, max_length=40)
    min_customs_value_iqd: Decimal | None = Field(None, ge=0, le=10**15, decimal_places=3)
    declarant_id: str | None = Field(None, min_length=1, max_length=32)
    valuation_flag: bool | None = Field(None, description="a line far below its reference value")
    weight_mismatch: bool | None = Field(None, description="weighbridge disagrees with the papers")
    exemption_use: bool | None = Field(None, description="an exemption relieves some duty")
    hour_from: int | None = Field(None, ge=0, le=23, description="lodged from this hour (Iraq)")
    hour_to: int | None = Field(None, ge=0, le=24, description="up to this hour (may wrap)")
    first_declarations: int | None = Field(None, ge=1, le=1000, description="importer's first N")
    score_weight: Decimal | None = Field(
        None, ge=-10, le=10, decimal_places=3, description="added to the risk score (log-odds)"
    )

    def rule(self, name: str, valid_from: date, valid_to: date | None = None) -> LaneRule:
        """The domain rule these conditions describe (a score-weight rule has no lane floor)."""
        values = vars(self) | {
            "lane": self.lane or (Lane.GREEN if self.score_weight is not None else Lane.RED)
        }
        return LaneRule(id=0, name=name, valid_from=valid_from, valid_to=valid_to, **values)


class RuleIn(RuleConditions):
    """A new rule, from its first day on, and why."""

    name: str = Field(min_length=3, max_length=200)
    valid_from: date
    valid_to: date | None = None
    reason: str = Field(min_length=3, max_length=2000)


class RuleOut(BaseModel):
    """A lane rule with its validity."""

    id: int
    name: str
    lane: Lane
    valid_from: date
    valid_to: date | None
    hs_prefix: str | None
    origin_country: str | None
    crossing_code: str | None
    importer_tax_id: str | None
    min_customs_value_iqd: Decimal | None
    declarant_id: str | None = None
    valuation_flag: bool | None = None
    weight_mismatch: bool | None = None
    exemption_use: bool | None = None
    hour_from: int | None = None
    hour_to: int | None = None
    first_declarations: int | None = None
    score_weight: Decimal | None = None


class RuleEndIn(BaseModel):
    """The last day a rule applies, and why it ends."""

    last_day: date
    reason: str = Field(min_length=3, max_length=2000)


class BacktestIn(RuleConditions):
    """A what-if rule and the history window to try it on."""

    since: date
    until: date


class BacktestOut(BaseModel):
    """Hits of the rule on history and the finding rate among the inspected hits."""

    declarations: int
    hits: int
    hits_inspected: int
    hits_found: int
    inspected: int
    found: int
    hit_share: Decimal
    hit_fraud_share: Decimal
    base_fraud_share: Decimal


def _out(rule: LaneRule) -> RuleOut:
    return RuleOut.model_validate(vars(rule))


@router.get("/rules")
def list_rules(user: UserDep, uow: UowDep) -> list[RuleOut]:
    """Every lane rule, past, current and future."""
    user.require(Permission.READ_ALL)
    return [_out(r) for r in uow.reference.lane_rules()]


@router.post("/rules", status_code=status.HTTP_201_CREATED)
def add_rule(body: RuleIn, user: UserDep, uow: UowDep) -> RuleOut:
    """Add a lane rule (admin); it applies from ``valid_from``, never retroactively."""
    conditions = RuleConditions.model_validate(
        body.model_dump(include=set(RuleConditions.model_fields))
    )
    rule = conditions.rule(body.name, body.valid_from, body.valid_to)
    return _out(risk_rules.add_rule(uow=uow, actor=user, rule=rule, reason=body.reason))


@router.post("/rules/{rule_id}/end")
def end_rule(
    rule_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: RuleEndIn, user: UserDep, uow: UowDep
) -> RuleOut:
    """End a lane rule after ``last_day`` (admin)."""
    rule = risk_rules.end_rule(
        uow=uow, actor=user, rule_id=rule_id, last_day=body.last_day, reason=body.reason
    )
    return _out(rule)


@router.post("/backtest")
def backtest(body: BacktestIn, user: UserDep, uow: UowDep) -> BacktestOut:
    """Try a rule on the declarations laned in a window, before enabling it."""
    conditions = RuleConditions.model_validate(
        body.model_dump(include=set(RuleConditions.model_fields))
    )
    rule = conditions.rule("what-if", body.since)
    result = risk_rules.backtest_rule(
        uow=uow, actor=user, rule=rule, since=body.since, until=body.until
    )
    return BacktestOut.model_validate(result.as_json())


@router.get("/scores/{declaration_id}")
def score(
    declaration_id: Annotated[str, Path(max_length=40)], user: UserDep, uow: UowDep
) -> dict[str, Any]:
    """A declaration's risk score, model version and top factors (officers of its crossing)."""
    # A trader never sees risk scores, not even of their own declarations.
    if not (user.can(Permission.READ_CROSSING) or user.can(Permission.READ_ALL)):
        raise Forbidden("risk scores are for customs staff", permission="read_crossing")
    decl = load_for(uow, user, declaration_id)
    row = uow.risk.score_of(decl.id) or {}
    return {
        "declaration_id": decl.id,
        "model_version": row.get("model_version"),
        "score": row.get("score"),
        "factors": row.get("factors", []),
        "fallback": row.get("fallback"),
    }


class ExtraDutyIn(BaseModel):
    """Extra duty a finding brought (IQD, up to 3 decimals)."""

    extra_duty_iqd: Decimal = Field(gt=0, le=10**15, decimal_places=3)
    notes: str = Field("", max_length=2000)


@router.post("/inspections/{declaration_id}/extra-duty", status_code=status.HTTP_201_CREATED)
def extra_duty(
    declaration_id: Annotated[str, Path(max_length=40)],
    body: ExtraDutyIn,
    user: UserDep,
    uow: UowDep,
) -> dict[str, Any]:
    """The inspector of the crossing records the extra duty their finding brought."""
    amount = risk_reports.record_extra_duty(
        uow=uow,
        actor=user,
        declaration_id=declaration_id,
        extra_duty_iqd=body.extra_duty_iqd,
        notes=body.notes,
    )
    return {"declaration_id": declaration_id, "extra_duty_iqd": amount}


@router.get("/report")
def report(user: UserDep, uow: UowDep, since: date, until: date) -> dict[str, Any]:
    """Hit rates per lane, per rule and of the random control; revenue per crossing and month."""
    return risk_reports.report(uow=uow, actor=user, since=since, until=until)


class ReassignIn(BaseModel):
    """Another inspector of the crossing, and why."""

    inspector_id: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=3, max_length=2000)


@router.post("/inspections/{declaration_id}/reassign")
def reassign(
    declaration_id: Annotated[str, Path(max_length=40)],
    body: ReassignIn,
    user: UserDep,
    uow: UowDep,
) -> dict[str, Any]:
    """A supervisor of the crossing gives the inspection to another inspector, saying why."""
    inspector = risk_assignment.reassign(
        uow=uow,
        actor=user,
        declaration_id=declaration_id,
        inspector_id=body.inspector_id,
        reason=body.reason,
    )
    return {"declaration_id": declaration_id, "inspector_id": inspector}


@router.get("/inspections/{declaration_id}/assignments")
def assignments(
    declaration_id: Annotated[str, Path(max_length=40)], user: UserDep, uow: UowDep
) -> list[dict[str, Any]]:
    """Who was assigned the inspection, by whom and why, oldest first (customs staff only)."""
    if not (user.can(Permission.READ_CROSSING) or user.can(Permission.READ_ALL)):
        raise Forbidden("assignments are for customs staff", permission="read_crossing")
    decl = load_for(uow, user, declaration_id)
    rows = uow.risk.assignments_of(decl.id)
    return [
        {k: r[k] for k in ("inspector_id", "assigned_at", "assigned_by", "reasons")} for r in rows
    ]
