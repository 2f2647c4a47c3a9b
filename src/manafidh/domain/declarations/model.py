"""The customs declaration after the Single Administrative Document / WCO data model.

A declaration is an identity (reference, crossing, declarant) with a lifecycle state and a list
of immutable versions. An amendment appends a version; nothing is ever overwritten.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from manafidh.domain.declarations.states import (
    AMENDABLE,
    HOLDABLE,
    Action,
    State,
    next_state,
)
from manafidh.domain.errors import IllegalTransition, ValidationFailed


class Regime(StrEnum):
    """The customs procedure a declaration asks for."""

    IMPORT = "import"
    EXPORT = "export"
    TRANSIT = "transit"


class Lane(StrEnum):
    """Selectivity lane: what control a declaration needs before release."""

    GREEN = "green"  # release after payment
    YELLOW = "yellow"  # document check by an officer
    RED = "red"  # physical inspection by an inspector

    @property
    def needs_checks(self) -> bool:
        """True when an officer or inspector must record a check before release."""
        return self is not Lane.GREEN


@dataclass
class Item:
    """One goods item of a declaration version (SAD box 31-46)."""

    line_no: int
    hs_code: str
    description: str
    origin_country: str
    quantity: Decimal
    unit: str
    net_mass_kg: Decimal
    gross_mass_kg: Decimal
    invoice_value: Decimal

    def check(self) -> None:
        """Raise ValidationFailed when the item's own numbers contradict each other."""
        where = {"line_no": self.line_no}
        if self.quantity <= 0:
            raise ValidationFailed("quantity must be positive", field="quantity", **where)
        if self.net_mass_kg <= 0:
            raise ValidationFailed("net mass must be positive", field="net_mass_kg", **where)
        if self.gross_mass_kg < self.net_mass_kg:
            raise ValidationFailed(
                "gross mass cannot be below net mass", field="gross_mass_kg", **where
            )
        if self.invoice_value < 0:
            raise ValidationFailed(
                "invoice value cannot be negative", field="invoice_value", **where
            )


# The item's fields in declaration order: what storage and the audit payload both carry.
ITEM_FIELDS = tuple(f.name for f in fields(Item))


@dataclass
class Content:
    """What the declarant states: the header and the items of one version."""

    regime: Regime
    importer_name: str
    importer_tax_id: str
    vehicle_plates: list[str]
    trailer_plate: str | None
    driver_name: str
    driver_document: str
    dispatch_country: str
    origin_country: str
    invoice_currency: str
    freight: Decimal
    insurance: Decimal
    items: list[Item]
    exporter_name: str | None = None

    def check(self) -> None:
        """Raise ValidationFailed when the content is incomplete or inconsistent."""
        if not self.items:
            raise ValidationFailed("a declaration needs at least one item", field="items")
        if not self.vehicle_plates or not all(p.strip() for p in self.vehicle_plates):
            raise ValidationFailed("at least one vehicle plate is needed", field="vehicle_plates")
        if self.freight < 0 or self.insurance < 0:
            raise ValidationFailed("freight and insurance cannot be negative", field="freight")
        lines = [i.line_no for i in self.items]
        if lines != list(range(1, len(lines) + 1)):
            raise ValidationFailed("item lines must be numbered 1..n", field="items")
        for item in self.items:
            item.check()

    @property
    def total_invoice(self) -> Decimal:
        """Sum of the items' invoice values, in the invoice currency."""
        return sum((i.invoice_value for i in self.items), Decimal(0))

    @property
    def total_gross_mass_kg(self) -> Decimal:
        """Sum of the items' gross masses."""
        return sum((i.gross_mass_kg for i in self.items), Decimal(0))


@dataclass
class Version:
    """An immutable version of a declaration's content."""

    number: int
    content: Content
    created_at: datetime
    created_by: str
    reason: str


@dataclass
class Transition:
    """A recorded move of the state machine: who, when, why."""

    at: datetime
    actor: str
    action: Action
    from_state: State
    to_state: State
    reason: str = ""


@dataclass
class Declaration:
    """A customs declaration: identity, lifecycle state and versions of its content.

    ``transitions`` holds the transitions recorded since the object was made or loaded: the
    state machine needs only the current state, so repositories load the recorded history apart
    (``DeclarationRepository.transitions``) and append what is new here.
    """

    id: str
    reference: str
    crossing_code: str
    declarant_id: str
    created_at: datetime
    state: State = State.DRAFT
    lane: Lane | None = None
    lodged_at: datetime | None = None
    acceptance_date: date | None = None
    checks_done: bool = False
    settled: bool = False
    finding_open: bool = False
    held_from: State | None = None
    versions: list[Version] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)

    @classmethod
    def draft(
        cls,
        *,
        reference: str,
        crossing_code: str,
        declarant_id: str,
        content: Content,
        at: datetime,
    ) -> Declaration:
        """Start a new declaration in the draft state with its first version."""
        content.check()
        decl = cls(
            id=uuid.uuid4().hex,
            reference=reference,
            crossing_code=crossing_code,
            declarant_id=declarant_id,
            created_at=at,
        )
        decl.versions.append(Version(1, content, at, declarant_id, "created"))
        return decl

    # -- reading ----------------------------------------------------------------------------
    @property
    def current(self) -> Version:
        """The latest version: the one that is assessed and controlled."""
        return self.versions[-1]

    @property
    def content(self) -> Content:
        """The latest version's content."""
        return self.current.content

    # -- the state machine ------------------------------------------------------------------
    def _move(self, action: Action, *, at: datetime, actor: str, reason: str = "") -> None:
        target = next_state(self.state, action)
        if target is None:
            raise IllegalTransition(
                f"cannot {action.value.replace('_', ' ')} a declaration that is {self.state.value}",
                reference=self.reference,
                state=self.state.value,
                action=action.value,
            )
        self._record(action, target, at=at, actor=actor, reason=reason)

    def _record(
        self, action: Action, target: State, *, at: datetime, actor: str, reason: str
    ) -> None:
        self.transitions.append(Transition(at, actor, action, self.state, target, reason))
        self.state = target

    def lodge(self, *, at: datetime, acceptance_date: date, actor: str) -> None:
        """Submit the draft to customs; the acceptance date fixes the rates used."""
        self._move(Action.LODGE, at=at, actor=actor)
        self.lodged_at = at
        self.acceptance_date = acceptance_date

    def mark_assessed(self, *, at: datetime, actor: str) -> None:
        """Record that duties have been computed for the current version."""
        self._move(Action.ASSESS, at=at, actor=actor)

    def select_lane(self, lane: Lane, *, at: datetime, actor: str, reason: str) -> None:
        """Fix the control lane; a lane is chosen once and kept through amendments."""
        self._move(Action.SELECT_LANE, at=at, actor=actor, reason=reason)
        if self.lane is None:
            self.lane = lane
            self.checks_done = not lane.needs_checks
        self._settle_if_ready(at=at, actor=actor)

    def complete_checks(
        self, *, at: datetime, actor: str, reason: str, finding: bool = False
    ) -> None:
        """Record that the lane's check is done; a finding blocks settlement until answered."""
        if self.lane is None or not self.lane.needs_checks:
            raise IllegalTransition(
                "this declaration's lane needs no check", reference=self.reference
            )
        if self.checks_done:
            raise IllegalTransition("checks are already recorded", reference=self.reference)
        self._move(Action.COMPLETE_CHECKS, at=at, actor=actor, reason=reason)
        self.checks_done = True
        # A finding must be answered (a supplementary declaration, or a supervisor's dismissal)
        # before money already paid can count as settling the declaration.
        self.finding_open = finding
        self._settle_if_ready(at=at, actor=actor)

    def dismiss_finding(self, *, at: datetime, actor: str, reason: str) -> None:
        """A supervisor closes a finding without an amendment (e.g. an inspector's error)."""
        if not self.finding_open:
            raise IllegalTransition("there is no open finding", reference=self.reference)
        if self.state is State.HELD:
            raise IllegalTransition("lift the hold first", reference=self.reference)
        if not reason.strip():
            raise ValidationFailed("dismissing a finding needs a reason", field="reason")
        self.finding_open = False
        self._record(Action.DISMISS_FINDING, self.state, at=at, actor=actor, reason=reason)
        self._settle_if_ready(at=at, actor=actor)

    def record_settlement(self, *, at: datetime, actor: str) -> None:
        """Note that the payment order is fully paid; the state follows when checks are done."""
        self.settled = True
        self._settle_if_ready(at=at, actor=actor)

    def _settle_if_ready(self, *, at: datetime, actor: str) -> None:
        ready = self.settled and self.checks_done and not self.finding_open
        if ready and self.state in (State.LANE_SELECTED, State.INSPECTED):
            self._move(Action.SETTLE_PAYMENT, at=at, actor=actor)

    def release(self, *, at: datetime, actor: str) -> None:
        """Release the goods: only once paid and the lane's checks are done."""
        if self.state is State.PAID and not self.checks_done:  # pragma: no cover - guarded above
            raise IllegalTransition("checks are not done", reference=self.reference)
        self._move(Action.RELEASE, at=at, actor=actor)

    def exit(self, *, at: datetime, actor: str) -> None:
        """Record that the truck left the crossing."""
        self._move(Action.EXIT, at=at, actor=actor)

    def cancel(self, *, at: datetime, actor: str, reason: str) -> None:
        """Withdraw the declaration before any lane was selected."""
        if not reason.strip():
            raise ValidationFailed("a cancellation needs a reason", field="reason")
        self._move(Action.CANCEL, at=at, actor=actor, reason=reason)

    def hold(self, *, at: datetime, actor: str, reason: str) -> None:
        """Stop the declaration where it stands (e.g. a supervisor's suspicion)."""
        if self.state not in HOLDABLE:
            raise IllegalTransition(
                f"cannot hold a declaration that is {self.state.value}", reference=self.reference
            )
        if not reason.strip():
            raise ValidationFailed("a hold needs a reason", field="reason")
        self.held_from = self.state
        self._record(Action.HOLD, State.HELD, at=at, actor=actor, reason=reason)

    def unhold(self, *, at: datetime, actor: str, reason: str) -> None:
        """Lift a hold: the declaration returns to the state it was held in."""
        if self.state is not State.HELD or self.held_from is None:
            raise IllegalTransition("the declaration is not held", reference=self.reference)
        if not reason.strip():
            raise ValidationFailed("lifting a hold needs a reason", field="reason")
        back, self.held_from = self.held_from, None
        self._record(Action.UNHOLD, back, at=at, actor=actor, reason=reason)

    def amend(self, content: Content, *, at: datetime, actor: str, reason: str) -> Version:
        """Append a new version; after lodging the declaration goes back for assessment."""
        if self.state not in AMENDABLE:
            raise IllegalTransition(
                f"cannot amend a declaration that is {self.state.value}",
                reference=self.reference,
                state=self.state.value,
            )
        if not reason.strip():
            raise ValidationFailed("an amendment needs a reason", field="reason")
        content.check()
        version = Version(len(self.versions) + 1, content, at, actor, reason)
        self.versions.append(version)
        # The supplementary declaration answers an open finding; it is re-assessed at once.
        self.finding_open = False
        if self.state is not State.DRAFT:
            # Back to lodged for a new assessment; the lane already chosen is kept (a trader
            # must not be able to amend until the draw comes out green), and so are checks done.
            self._record(Action.AMEND, State.LODGED, at=at, actor=actor, reason=reason)
        else:
            self._record(Action.AMEND, State.DRAFT, at=at, actor=actor, reason=reason)
        return version
