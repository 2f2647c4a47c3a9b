"""Read-only use cases behind the pages: queues, one declaration on one screen, what may be done.

Nothing here commits; the acting use cases live in ``declarations`` and ``clearance``. The
permission checks are the services' own (``access.load_for``, ``User.require``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from manafidh.domain.alarms import Alarm
from manafidh.domain.declarations.model import Declaration, Lane, Transition
from manafidh.domain.declarations.states import AMENDABLE, HOLDABLE, State
from manafidh.domain.errors import Forbidden
from manafidh.domain.identity import Permission, User
from manafidh.domain.payments.orders import PaymentOrder
from manafidh.domain.reference import Crossing
from manafidh.domain.tariff.assessment import Assessment
from manafidh.services.access import load_for
from manafidh.services.ports import UnitOfWork

# States in which a truck is at (or on its way to) the crossing and needs someone's attention.
QUEUE_STATES = (
    State.LODGED,
    State.ASSESSED,
    State.LANE_SELECTED,
    State.INSPECTED,
    State.PAID,
    State.RELEASED,
    State.HELD,
)
# A lodged declaration can still be withdrawn until its lane is selected.
CANCELLABLE = frozenset({State.DRAFT, State.LODGED, State.ASSESSED})
QUEUE_LIMIT = 500


@dataclass
class DeclarationView:
    """Everything about one declaration that its page shows."""

    declaration: Declaration
    transitions: list[Transition]
    assessment: Assessment | None
    lane_decision: dict[str, Any] | None
    orders: list[PaymentOrder]
    checks: list[dict[str, Any]]
    actions: frozenset[str] = field(default_factory=frozenset)

    @property
    def open_order(self) -> PaymentOrder | None:
        """The order still to be paid, or the latest one."""
        live = [o for o in self.orders if o.state.value != "superseded"]
        return live[-1] if live else (self.orders[-1] if self.orders else None)


def view(*, uow: UnitOfWork, actor: User, declaration_id: str) -> DeclarationView:
    """A declaration the actor may read, with its history, assessment, lane, payment, checks."""
    decl = load_for(uow, actor, declaration_id)
    return DeclarationView(
        declaration=decl,
        transitions=uow.declarations.transitions(decl.id),
        assessment=uow.declarations.latest_assessment(decl.id),
        lane_decision=uow.declarations.lane_decision(decl.id),
        orders=uow.payments.orders_for(decl.id),
        checks=uow.declarations.checks_of(decl.id),
        actions=allowed_actions(actor, decl),
    )


def allowed_actions(user: User, decl: Declaration) -> frozenset[str]:
    """What ``user`` may do to ``decl`` now: role, crossing, ownership and the state machine."""
    state, out = decl.state, set()
    if user.can(Permission.LODGE) and decl.declarant_id == user.id:
        if state is State.DRAFT:
            out.add("lodge")
        if state in AMENDABLE:
            out.add("amend")
        if state in CANCELLABLE:
            out.add("cancel")
    if not user.works_at(decl.crossing_code):
        return frozenset(out)
    waiting_check = state is State.LANE_SELECTED and not decl.checks_done
    if user.can(Permission.CHECK_DOCUMENTS) and waiting_check and decl.lane is Lane.YELLOW:
        out.add("document_check")
    if user.can(Permission.INSPECT) and waiting_check and decl.lane is Lane.RED:
        out.add("inspection")
    if user.can(Permission.RELEASE) and state is State.PAID:
        out.add("release")
    if user.can(Permission.HOLD):
        if state in HOLDABLE:
            out.add("hold")
        if state is State.HELD:
            out.add("unhold")
        if decl.finding_open and state is not State.HELD:
            out.add("dismiss_finding")
    return frozenset(out)


def crossings_of(*, uow: UnitOfWork, actor: User) -> list[Crossing]:
    """The crossings whose queue the actor may see."""
    if actor.can(Permission.READ_ALL):
        return uow.reference.crossings()
    if actor.can(Permission.READ_CROSSING):
        return [c for c in uow.reference.crossings() if c.code in actor.crossings]
    raise Forbidden(f"role {actor.role.value} has no crossing queue", permission="read_crossing")


def queue(
    *, uow: UnitOfWork, actor: User, crossing_code: str, states: tuple[State, ...] = QUEUE_STATES
) -> list[Declaration]:
    """Declarations at a crossing in ``states``, oldest lodged first."""
    if not actor.can(Permission.READ_ALL):
        actor.require(Permission.READ_CROSSING, crossing_code)
    found: list[Declaration] = []
    for state in states:
        found += uow.declarations.search(
            crossing_codes=[crossing_code],
            declarant_id=None,
            state=state.value,
            limit=QUEUE_LIMIT,
            offset=0,
        )
    return sorted(found, key=lambda d: (d.lodged_at or d.created_at, d.reference))


def own_declarations(*, uow: UnitOfWork, actor: User, limit: int = 200) -> list[Declaration]:
    """The actor's own declarations, newest first."""
    actor.require(Permission.READ_OWN)
    return uow.declarations.search(
        crossing_codes=None, declarant_id=actor.id, state=None, limit=limit, offset=0
    )


def alarms(*, uow: UnitOfWork, actor: User) -> list[Alarm]:
    """Alarms at the actor's crossings (every crossing for headquarters roles)."""
    if actor.can(Permission.READ_ALL):
        return uow.gate.alarms(None, None)
    actor.require(Permission.READ_CROSSING)
    return uow.gate.alarms(list(actor.crossings), None)
