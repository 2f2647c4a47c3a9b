"""The exit gate and alarms under /api/v1: exit decisions, alarm steps, manual weights."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from manafidh.domain.alarm_steps import AlarmStep
from manafidh.domain.alarms import Alarm
from manafidh.domain.devices.visits import GateDecision, ManualWeight
from manafidh.services import alarm_flow, gate_control, monitoring, weights
from manafidh.web.api.schemas import ReasonIn
from manafidh.web.deps import UowDep, UserDep
from manafidh.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
Id = Annotated[str, Path(max_length=64)]


class ExitQuery(BaseModel):
    """A truck at an exit barrier."""

    model_config = ConfigDict(strict=True, extra="forbid")

    crossing: str = Field(max_length=8)
    lane: str = Field(min_length=1, max_length=16)
    plate: str = Field(min_length=1, max_length=32)


class DecisionOut(BaseModel):
    """Open or deny, and why."""

    id: str
    decision: str = Field(description="open or deny")
    reason: str
    crossing: str
    lane: str
    plate: str
    declaration_id: str | None
    at: datetime

    @classmethod
    def of(cls, d: GateDecision) -> DecisionOut:
        """Build from the domain decision."""
        return cls(
            id=d.id,
            decision="open" if d.allowed else "deny",
            reason=d.reason,
            crossing=d.crossing_code,
            lane=d.lane,
            plate=d.plate,
            declaration_id=d.declaration_id,
            at=d.at,
        )


class AlarmStateOut(BaseModel):
    """An alarm after a step."""

    id: str
    kind: str
    severity: str
    crossing: str
    state: str
    message: str

    @classmethod
    def of(cls, a: Alarm) -> AlarmStateOut:
        """Build from the domain alarm."""
        return cls(
            id=a.id,
            kind=a.kind.value,
            severity=a.severity.value,
            crossing=a.crossing_code,
            state=a.state,
            message=a.message,
        )


class AlarmStepOut(BaseModel):
    """One step of an alarm's life."""

    step: str
    at: datetime
    actor: str
    reason: str

    @classmethod
    def of(cls, s: AlarmStep) -> AlarmStepOut:
        """Build from the domain step."""
        return cls(step=s.step.value, at=s.at, actor=s.actor, reason=s.reason)


class ManualWeightIn(BaseModel):
    """A weight entered by hand."""

    model_config = ConfigDict(strict=True, extra="forbid")

    which: str = Field(description="entry (loaded weight) or tare")
    kg: int
    reason: str = Field(min_length=1, max_length=2000)


class ManualDecisionIn(BaseModel):
    """A second supervisor's decision on a manual weight."""

    model_config = ConfigDict(strict=True, extra="forbid")

    approve: bool
    reason: str = Field(min_length=1, max_length=2000)


class ManualWeightOut(BaseModel):
    """A manual weight and its approval."""

    id: str
    visit_id: str
    which: str
    kg: int
    proposed_by: str
    reason: str
    decided_by: str | None
    approved: bool | None

    @classmethod
    def of(cls, m: ManualWeight) -> ManualWeightOut:
        """Build from the domain record."""
        return cls(
            id=m.id,
            visit_id=m.visit_id,
            which=m.which,
            kg=m.kg,
            proposed_by=m.proposed_by,
            reason=m.reason,
            decided_by=m.decided_by,
            approved=m.approved,
        )


@router.get("/gate/decision", tags=["gate"])
def check_exit(
    user: UserDep,
    uow: UowDep,
    crossing: Annotated[str, Query(max_length=8)],
    lane: Annotated[str, Query(min_length=1, max_length=16)],
    plate: Annotated[str, Query(min_length=1, max_length=32)],
) -> DecisionOut:
    """What the exit barrier would answer now for this truck (nothing recorded)."""
    d = gate_control.check_exit(uow=uow, actor=user, crossing_code=crossing, lane=lane, plate=plate)
    return DecisionOut.of(d)


@router.post("/gate/decisions", status_code=status.HTTP_201_CREATED, tags=["gate"])
def decide_exit(body: ExitQuery, user: UserDep, uow: UowDep) -> DecisionOut:
    """Open or deny the exit barrier for this truck, recorded; an open lets one vehicle pass."""
    d = gate_control.decide_exit(
        uow=uow, actor=user, crossing_code=body.crossing, lane=body.lane, plate=body.plate
    )
    return DecisionOut.of(d)


@router.post("/alarms/{alarm_id}/acknowledge", tags=["crossing"])
def acknowledge(alarm_id: Id, body: ReasonIn, user: UserDep, uow: UowDep) -> AlarmStateOut:
    """A supervisor takes charge of an alarm."""
    a = alarm_flow.acknowledge_alarm(uow=uow, actor=user, alarm_id=alarm_id, reason=body.reason)
    return AlarmStateOut.of(a)


@router.post("/alarms/{alarm_id}/resolve", tags=["crossing"])
def resolve(alarm_id: Id, body: ReasonIn, user: UserDep, uow: UowDep) -> AlarmStateOut:
    """A supervisor resolves an alarm, saying what was found and done."""
    a = alarm_flow.resolve_alarm(uow=uow, actor=user, alarm_id=alarm_id, reason=body.reason)
    return AlarmStateOut.of(a)


@router.get("/alarms/{alarm_id}/steps", tags=["crossing"])
def steps(alarm_id: Id, user: UserDep, uow: UowDep) -> list[AlarmStepOut]:
    """Who acknowledged, resolved or escalated the alarm, when and why."""
    return [
        AlarmStepOut.of(s) for s in alarm_flow.alarm_steps(uow=uow, actor=user, alarm_id=alarm_id)
    ]


@router.post(
    "/gate/visits/{visit_id}/manual-weights",
    status_code=status.HTTP_201_CREATED,
    tags=["gate"],
)
def propose_weight(
    visit_id: Id, body: ManualWeightIn, user: UserDep, uow: UowDep
) -> ManualWeightOut:
    """A supervisor enters a weight by hand; it takes effect once another supervisor approves."""
    m = weights.propose_manual_weight(
        uow=uow, actor=user, visit_id=visit_id, which=body.which, kg=body.kg, reason=body.reason
    )
    return ManualWeightOut.of(m)


@router.post("/gate/manual-weights/{weight_id}/decision", tags=["gate"])
def decide_weight(
    weight_id: Id, body: ManualDecisionIn, user: UserDep, uow: UowDep
) -> ManualWeightOut:
    """A second, different supervisor approves or rejects a manual weight."""
    m = weights.decide_manual_weight(
        uow=uow, actor=user, weight_id=weight_id, approve=body.approve, reason=body.reason
    )
    return ManualWeightOut.of(m)


class TareIn(BaseModel):
    """A vehicle's empty weight and where it comes from."""

    model_config = ConfigDict(strict=True, extra="forbid")

    kg: int
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/vehicles/{plate}/tare", status_code=status.HTTP_201_CREATED, tags=["gate"])
def register_tare(
    plate: Annotated[str, Path(max_length=32)], body: TareIn, user: UserDep, uow: UowDep
) -> dict[str, int | str]:
    """A supervisor records a vehicle's tare (certificate or certified empty weighing)."""
    kg = gate_control.register_tare(
        uow=uow, actor=user, plate=plate, tare_kg=body.kg, reason=body.reason
    )
    return {"plate": plate, "tare_kg": kg}


class HourOut(BaseModel):
    """One hour of a crossing's shift report."""

    start: datetime
    arrivals: int
    weighings: int
    checks: int
    exits: int
    exits_needing_checks: int
    exits_checked: int
    alarms: int
    exits_without_clearance: int
    flags: list[str] = Field(description="night_pass, weighbridge_silent")


@router.get("/monitoring/shift", tags=["crossing"])
def shift_report(
    user: UserDep,
    uow: UowDep,
    crossing: Annotated[str, Query(max_length=8)],
    day: Annotated[date, Query(description="Day in Iraq time, YYYY-MM-DD")],
) -> list[HourOut]:
    """Per hour: arrivals, weighings, checks, exits and alarms; suspicious hours flagged."""
    rows = monitoring.shift_report(uow=uow, actor=user, crossing_code=crossing, day=day)
    return [HourOut(**vars(r)) for r in rows]
