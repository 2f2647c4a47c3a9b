"""A truck's visit to a crossing as the devices see it: in at the gate, weighed, out.

A plate read at the entry opens a visit and links it to the truck's declaration; weighings fill
in the loaded weight and the tare; the exit decision and the barrier close it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from manafidh.domain.declarations.model import Declaration
from manafidh.domain.declarations.states import State

# Names of the dated parameters (data/parameters.csv) of weight reconciliation and alarms.
WEIGHT_TOLERANCE_RATE = "weight.tolerance_rate"
WEIGHT_TOLERANCE_MIN_KG = "weight.tolerance_min_kg"
ESCALATE_CRITICAL_AFTER = "alarms.escalate_critical_after_minutes"


class WeightState(StrEnum):
    """Where the visit's weight reconciliation stands."""

    PENDING = "pending"  # loaded weight or tare not known yet
    RECONCILED = "reconciled"  # measured cargo within tolerance of the declared mass
    MISMATCH = "mismatch"  # outside tolerance: the declaration is held


@dataclass
class Visit:
    """One truck at one crossing, from the entry gate to the exit barrier."""

    id: str
    crossing_code: str
    lane: str
    plate: str
    opened_at: datetime
    opened_by: str  # the event "device:sequence" that opened it
    declaration_id: str | None = None
    entry_gross_kg: int | None = None
    tare_kg: int | None = None
    tare_source: str | None = None  # exit weighing, registered, manual
    weight_state: WeightState = WeightState.PENDING
    measured_kg: int | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Tolerance:
    """How far measured cargo mass may differ from the declared one: the larger of the two."""

    rate: Decimal
    min_kg: Decimal

    def allowed(self, declared_kg: Decimal) -> Decimal:
        """The largest difference that is not a mismatch."""
        return max(declared_kg * self.rate, self.min_kg)


@dataclass(frozen=True)
class Reconciliation:
    """Measured against declared cargo mass."""

    measured_kg: Decimal
    declared_kg: Decimal
    allowed_kg: Decimal

    @property
    def matches(self) -> bool:
        """True when the difference is within tolerance."""
        return abs(self.measured_kg - self.declared_kg) <= self.allowed_kg


def reconcile(loaded_kg: int, tare_kg: int, declared_kg: Decimal, tol: Tolerance) -> Reconciliation:
    """Compare the cargo mass the scale measured with the declared gross mass of the goods."""
    measured = Decimal(loaded_kg - tare_kg)
    return Reconciliation(measured, declared_kg, tol.allowed(declared_kg))


def exit_decision(decl: Declaration | None, visit: Visit | None, plate: str) -> tuple[bool, str]:
    """Open the exit barrier only for a released declaration whose weight is not in dispute."""
    if decl is None:
        return False, f"no released declaration for plate {plate}"
    if decl.state is not State.RELEASED:
        return False, f"declaration {decl.reference} is {decl.state.value}, not released"
    if visit is not None and visit.weight_state is WeightState.MISMATCH:
        return False, f"the weight of declaration {decl.reference} does not match"
    # A truck seen by the entry devices leaves only once weighed: a silent weighbridge must not
    # become a way round reconciliation (a supervisor's manual weight, four eyes, is the way).
    if visit is not None and visit.entry_gross_kg is None:
        return False, f"the truck of declaration {decl.reference} was not weighed at the entry"
    return True, f"declaration {decl.reference} is released"


@dataclass
class GateDecision:
    """An answer given at the exit barrier; an "open" is used up by one vehicle passing."""

    id: str
    crossing_code: str
    lane: str
    plate: str
    declaration_id: str | None
    at: datetime
    allowed: bool
    reason: str
    actor: str
    used_at: datetime | None = None
    used_by: str | None = None  # the barrier event "device:sequence"


@dataclass
class ManualWeight:
    """A supervisor's weight for a visit, waiting for a second supervisor."""

    id: str
    visit_id: str
    which: str  # "entry" (loaded weight) or "tare"
    kg: int
    proposed_at: datetime
    proposed_by: str
    reason: str
    decided_at: datetime | None = None
    decided_by: str | None = None
    approved: bool | None = None
