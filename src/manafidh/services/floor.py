"""Read-only use cases of the crossing floor: the supervisor's live board and approvals, and what
the devices, the risk score and the inspection left on one declaration."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from manafidh.domain.alarms import Alarm
from manafidh.domain.declarations.model import Declaration
from manafidh.domain.declarations.states import State
from manafidh.domain.devices.gate import normalise_plate
from manafidh.domain.devices.visits import Visit
from manafidh.domain.evidence import Evidence
from manafidh.domain.identity import Permission, Role, User
from manafidh.domain.measurements import Measurement
from manafidh.services import console, journal
from manafidh.services.ports import UnitOfWork

BOARD_BUCKETS = ("yard", "weighbridge", "payment", "held")
BOARD_ROWS = 20  # trucks listed per bucket: the oldest, who need attention first
# A visit still open is shown with the device events of its first day.
OPEN_VISIT_WINDOW = timedelta(days=1)


@dataclass
class Bucket:
    """One column of the live board: how many trucks, and the oldest of them."""

    key: str
    count: int
    rows: list[dict[str, Any]]


@dataclass
class Approvals:
    """What waits for a supervisor's second pair of eyes at a crossing."""

    manual_weights: list[dict[str, Any]]
    inspections: list[dict[str, Any]]
    inspectors: dict[str, str]  # id -> full name, of the crossing's active inspectors
    visits: list[dict[str, Any]]  # open visits a manual weight may be entered for
    held: list[Declaration] = field(default_factory=list)  # holds and findings to decide on
    names: dict[str, str] = field(default_factory=dict)


@dataclass
class FloorFacts:
    """A declaration's risk score, its visit and device events, its alarms and evidence."""

    score: dict[str, Any] | None
    visit: Visit | None
    events: list[dict[str, Any]]
    alarms: list[Alarm]
    evidence: list[Evidence]
    measurements: list[Measurement]
    inspector: str | None  # the current assignment's inspector id
    shown: bool = True  # False for a trader: the customs' risk and evidence are not theirs


def supervisor_at(actor: User, crossing_code: str) -> None:
    """Raise Forbidden unless ``actor`` is a supervisor posted at ``crossing_code``."""
    actor.require(Permission.HOLD, crossing_code)


def board(*, uow: UnitOfWork, actor: User, crossing_code: str) -> list[Bucket]:
    """Trucks in the yard, at the weighbridge, waiting for payment and held, oldest first."""
    supervisor_at(actor, crossing_code)
    found = uow.floor.board(crossing_code, BOARD_ROWS)
    return [Bucket(k, *found[k]) for k in BOARD_BUCKETS]


def approvals(*, uow: UnitOfWork, actor: User, crossing_code: str) -> Approvals:
    """Manual weights awaiting a second supervisor, and inspections that may be reassigned."""
    supervisor_at(actor, crossing_code)
    users = uow.users.all()
    inspectors = {
        u.id: u.full_name
        for u in users
        if u.role is Role.INSPECTOR and u.active and u.works_at(crossing_code)
    }
    return Approvals(
        manual_weights=uow.floor.pending_manual_weights([crossing_code]),
        inspections=uow.floor.waiting_inspections(
            crossing_codes=[crossing_code], inspector_id=None
        ),
        inspectors=inspectors,
        visits=uow.floor.weighable_visits(crossing_code),
        held=console.queue(uow=uow, actor=actor, crossing_code=crossing_code, states=(State.HELD,)),
        names={u.id: u.full_name for u in users},
    )


def facts(*, uow: UnitOfWork, actor: User, declaration: Declaration) -> FloorFacts:
    """What the floor knows of a declaration the actor has already been allowed to read."""
    staff = actor.can(Permission.READ_CROSSING) or actor.can(Permission.READ_ALL)
    if not staff:  # a trader sees their declaration, not the customs' risk and evidence
        return FloorFacts(None, None, [], [], [], [], None, shown=False)
    d = declaration
    visit = uow.gate_control.visit_of(d.id)
    events: list[dict[str, Any]] = []
    if visit is not None:
        until = visit.closed_at or visit.opened_at + OPEN_VISIT_WINDOW
        events = uow.floor.visit_events(
            crossing_code=visit.crossing_code,
            plate=visit.plate,
            since=visit.opened_at - timedelta(minutes=5),
            until=until,
        )
    plates = {normalise_plate(p) for p in d.content.vehicle_plates}
    history = uow.risk.assignments_of(d.id)
    return FloorFacts(
        score=uow.risk.score_of(d.id),
        visit=visit,
        events=events,
        alarms=uow.floor.alarms_about(
            d.crossing_code, [journal.declaration_subject(d.id), *sorted(plates)]
        ),
        evidence=uow.floor.evidence_of(d.id),
        measurements=uow.floor.measurements_of(d.id),
        inspector=history[-1]["inspector_id"] if history else None,
    )
