"""Play a traffic plan through the use cases, with a clock moved along the timeline.

Every truck is followed by events on one time-ordered queue, so that trucks interleave as they
would at a real crossing: lodging on arrival, bank payment, document check or inspection, a hold
and a supplementary declaration when a control finds the misdeclaration, release, exit.
"""

from __future__ import annotations

import heapq
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import IntEnum
from typing import Any

from manafidh.adapters.db.simulation import TruthRow, add_truth
from manafidh.bootstrap import Container, bootstrap
from manafidh.domain.clock import FixedClock, local_date
from manafidh.domain.declarations.model import Content, Declaration, Lane
from manafidh.domain.declarations.states import State
from manafidh.domain.errors import DomainError, ExitWithoutRelease, IllegalTransition
from manafidh.domain.identity import Role, User
from manafidh.domain.payments.orders import OrderState, PaymentOrder
from manafidh.domain.risk.lanes import LaneRule
from manafidh.services import (
    clearance,
    declarations,
    identity,
    payments,
    risk_assignment,
    risk_reports,
    risk_rules,
    valuation,
)
from manafidh.services.ports import UnitOfWork
from manafidh.simulation.traffic import Arrival, Pools, working_time

TRUTH_BATCH = 500


class Step(IntEnum):
    """What happens to a truck at an event (the value breaks ties at one instant)."""

    ARRIVE = 0
    PAY = 1
    CHECK = 2
    RESOLVE = 3
    AMEND = 4
    RELEASE = 5
    EXIT = 6
    SNEAK = 7


@dataclass
class Truck:
    """A truck in the simulation and what the system last said about its declaration."""

    no: int
    arrival: Arrival
    declaration_id: str = ""
    reference: str = ""
    lane: Lane | None = None
    state: State | None = None
    release_scheduled: bool = False
    awaiting_amendment: bool = False
    amended: bool = False


@dataclass
class Report:
    """What happened during a run, for the command line and the tests."""

    declarations: int = 0
    lanes: Counter[str] = field(default_factory=Counter)
    misdeclared: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    inspections: int = 0
    extra_duty_iqd: Decimal = Decimal(0)
    rules_enabled: int = 0
    payments: int = 0
    paid_iqd: Decimal = Decimal(0)
    amendments: int = 0
    amendments_refused: int = 0
    released: int = 0
    released_with_unpaid_supplement: int = 0
    exited: int = 0
    exit_alarms: int = 0
    in_yard: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)


def staff_username(role: Role, crossing_code: str) -> str:
    """The deterministic username of a crossing's simulated staff, e.g. ``officer.shl``."""
    return f"{role.value}.{crossing_code.lower()}"


STAFF_ROLES = (Role.OFFICER, Role.INSPECTOR, Role.SUPERVISOR)
# Inspections are drawn at random among a crossing's inspectors: a draw needs several.
INSPECTORS_PER_CROSSING = 3


def inspector_usernames(crossing_code: str) -> list[str]:
    """The simulated inspectors of a crossing: ``inspector.shl``, ``inspector2.shl``, ..."""
    first = staff_username(Role.INSPECTOR, crossing_code)
    more = [
        f"{Role.INSPECTOR.value}{n}.{crossing_code.lower()}"
        for n in range(2, INSPECTORS_PER_CROSSING + 1)
    ]
    return [first, *more]


def ensure_users(container: Container, crossings: Iterable[str], pools: Pools) -> dict[str, User]:
    """Create the brokers and each crossing's officer, inspectors and supervisor if missing."""
    wanted: list[tuple[str, str, Role, list[str], str | None]] = [
        (b.username, b.full_name, Role.TRADER, [], b.tax_id) for b in pools.brokers
    ]
    for code in crossings:
        for role in STAFF_ROLES:
            name = f"{role.value.title()} at {code} (simulated)"
            wanted.append((staff_username(role, code), name, role, [code], None))
        for n, username in enumerate(inspector_usernames(code)[1:], start=2):
            name = f"Inspector {n} at {code} (simulated)"
            wanted.append((username, name, Role.INSPECTOR, [code], None))
    users: dict[str, User] = {}
    for username, full_name, role, posted, tax_id in wanted:
        with container.uow() as uow:
            user = uow.users.by_username(username)
            if user is None:
                user = identity.create_user(
                    uow=uow,
                    hasher=container.hasher,
                    actor=None,
                    username=username,
                    full_name=full_name,
                    role=role,
                    password=secrets.token_urlsafe(18),
                    crossings=posted,
                    tax_id=tax_id,
                )
        users[username] = user
    return users


Progress = Callable[[int, int], None]


class Simulation:
    """One run: the queue of events, the trucks and the report."""

    def __init__(
        self,
        container: Container,
        arrivals: Sequence[Arrival],
        *,
        users: dict[str, User],
        lane_rng: random.Random,
        until: datetime | None = None,
        progress: Progress | None = None,
        profile: Sequence[LaneRule] = (),
        nightly_valuation: bool = False,
    ) -> None:
        first = arrivals[0].at if arrivals else datetime.now(UTC)
        self.clock = FixedClock(first)
        # The same database and settings, with the simulation's clock and lane draws.
        self.c = bootstrap(
            container.settings, clock=self.clock, rng=lane_rng, engine=container.engine
        )
        self.lane_rng = lane_rng
        self.users = users
        self.by_id = {u.id: u for u in users.values()}
        self.profile = profile
        self.nightly_valuation = nightly_valuation
        self._day: date | None = None
        self.until = until
        self.progress = progress
        self.trucks = [
            Truck(n, a) for n, a in enumerate(a for a in arrivals if until is None or a.at < until)
        ]
        self.report = Report()
        self._queue: list[tuple[datetime, int, int, int]] = []
        self._counter = 0
        self._truth: list[TruthRow] = []
        self._arrived = 0

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> Report:
        """Play every event before ``until`` in time order; return the report."""
        for truck in self.trucks:
            self._push(truck.arrival.at, Step.ARRIVE, truck.no)
        handlers: dict[Step, Callable[[Truck], None]] = {
            Step.ARRIVE: self._arrive,
            Step.PAY: self._pay,
            Step.CHECK: self._check,
            Step.RESOLVE: self._resolve,
            Step.AMEND: self._amend,
            Step.RELEASE: self._release,
            Step.EXIT: self._exit,
            Step.SNEAK: self._sneak,
        }
        self._enable_profile()
        try:
            while self._queue:
                at, step, _, n = heapq.heappop(self._queue)
                if self.until is not None and at >= self.until:
                    break
                self.clock.set(at)
                self._new_day()
                try:
                    handlers[Step(step)](self.trucks[n])
                except DomainError as exc:
                    self._error(Step(step), self.trucks[n], exc)
        finally:
            self._flush_truth(force=True)
        for truck in self.trucks:
            if truck.state is not None and truck.state is not State.EXITED:
                self.report.in_yard[truck.state.value] += 1
        return self.report

    def _enable_profile(self) -> None:
        """The simulated risk committee enables its starting rules (once, by name)."""
        if not self.profile:
            return
        with self.c.uow() as uow:
            known = {r.name for r in uow.reference.lane_rules()}
        today = local_date(self.clock.now())
        for rule in self.profile:
            if rule.name in known:
                continue
            with self.c.uow() as uow:
                risk_rules.add_rule(
                    uow=uow,
                    actor=None,
                    rule=replace(rule, valid_from=today),
                    reason="Simulated deployment: the risk committee's starting rules",
                )
            self.report.rules_enabled += 1

    def _new_day(self) -> None:
        """At the first event of a day, the nightly job refreshes the valuation references."""
        day = local_date(self.clock.now())
        if day == self._day:
            return
        self._day = day
        if self.nightly_valuation:
            with self.c.uow() as uow:
                valuation.refresh_reference_values(uow=uow, actor=None)

    def _push(self, at: datetime, step: Step, truck_no: int) -> None:
        self._counter += 1
        heapq.heappush(self._queue, (at, int(step), self._counter, truck_no))

    def _later(self, truck: Truck, minutes: int, step: Step) -> None:
        self._push(self.clock.now() + timedelta(minutes=minutes), step, truck.no)

    def _error(self, step: Step, truck: Truck, exc: DomainError) -> None:
        key = f"{step.name.lower()}: {exc.code}"
        self.report.errors[key] += 1
        if len(self.report.error_samples) < 20:
            self.report.error_samples.append(f"{truck.reference or truck.arrival.seq} {key} {exc}")

    def _staff(self, role: Role, truck: Truck) -> User:
        return self.users[staff_username(role, truck.arrival.crossing_code)]

    def _seen(self, truck: Truck, decl: Declaration) -> None:
        truck.state = decl.state
        ready = decl.state is State.PAID and not truck.awaiting_amendment
        if ready and not truck.release_scheduled:
            truck.release_scheduled = True
            self._later(truck, truck.arrival.behaviour.release_after, Step.RELEASE)

    # -- the steps --------------------------------------------------------------------------
    def _arrive(self, truck: Truck) -> None:
        a = truck.arrival
        with self.c.uow() as uow:
            decl = declarations.submit(
                uow=uow,
                actor=self.users[a.broker],
                crossing_code=a.crossing_code,
                content=a.declared,
                rng=self.lane_rng,
            )
        truck.declaration_id, truck.reference, truck.lane = decl.id, decl.reference, decl.lane
        self._arrived += 1
        self.report.declarations += 1
        self.report.lanes[decl.lane.value if decl.lane else "none"] += 1
        if a.misdeclaration:
            self.report.misdeclared[a.misdeclaration.kind.value] += 1
        self._truth.append(_truth_row(decl.id, a))
        self._flush_truth()
        b = a.behaviour
        if b.pay_after is not None:
            self._later(truck, b.pay_after, Step.PAY)
        if decl.lane is Lane.RED:
            at = working_time(self.clock.now() + timedelta(minutes=b.check_after))
            self._push(at, Step.CHECK, truck.no)
        elif decl.lane is Lane.YELLOW:
            self._later(truck, b.check_after // 2, Step.CHECK)
        if b.sneak_exit_after is not None:
            self._later(truck, b.sneak_exit_after, Step.SNEAK)
        self._seen(truck, decl)
        if self.progress:
            self.progress(self._arrived, len(self.trucks))

    def _pay(self, truck: Truck) -> None:
        with self.c.uow() as uow:
            order = _open_order(uow.payments.orders_for(truck.declaration_id))
            if order is None:
                return
            amount = order.outstanding_iqd
            payments.confirm_bank_payment(
                uow=uow,
                confirmation=payments.Confirmation(
                    bank_transaction_id=f"SIMBANK-{order.reference}",
                    payment_reference=order.reference,
                    amount_iqd=amount,
                    paid_at=self.clock.now() - timedelta(minutes=3),
                ),
            )
            decl = uow.declarations.get(truck.declaration_id)
        self.report.payments += 1
        self.report.paid_iqd += amount
        assert decl is not None
        self._seen(truck, decl)

    def _check(self, truck: Truck) -> None:
        a, b = truck.arrival, truck.arrival.behaviour
        mis = a.misdeclaration
        with self.c.uow() as uow:
            if truck.lane is Lane.RED:
                found = mis is not None and b.inspection_detects
                decl = clearance.record_inspection(
                    uow=uow,
                    actor=self._assigned_inspector(truck),
                    declaration_id=truck.declaration_id,
                    found=found,
                    fraud_kind=mis.kind if found and mis else None,
                    notes=_inspection_notes(a, found),
                )
            else:
                found = mis is not None and b.document_check_detects
                decl = clearance.record_document_check(
                    uow=uow,
                    actor=self._staff(Role.OFFICER, truck),
                    declaration_id=truck.declaration_id,
                    found=found,
                    notes=_document_notes(a, found),
                )
        if found and mis:
            self.report.findings[mis.kind.value] += 1
            self._later(truck, b.resolve_after, Step.RESOLVE)
        if truck.lane is Lane.RED:
            self.report.inspections += 1
        self._seen(truck, decl)

    def _assigned_inspector(self, truck: Truck) -> User:
        """The inspector the system drew; when nobody was drawn, the supervisor assigns one."""
        with self.c.uow(readonly=True) as uow:
            history = uow.risk.assignments_of(truck.declaration_id)
        if history:
            return self.by_id[history[-1]["inspector_id"]]
        inspector = self._staff(Role.INSPECTOR, truck)
        with self.c.uow() as uow:
            risk_assignment.reassign(
                uow=uow,
                actor=self._staff(Role.SUPERVISOR, truck),
                declaration_id=truck.declaration_id,
                inspector_id=inspector.id,
                reason="No inspector was drawn at lane selection: assigned by the supervisor",
            )
        return inspector

    def _resolve(self, truck: Truck) -> None:
        with self.c.uow() as uow:
            decl = clearance.unhold(
                uow=uow,
                actor=self._staff(Role.SUPERVISOR, truck),
                declaration_id=truck.declaration_id,
                reason="Finding accepted by the declarant; supplementary declaration required",
            )
        truck.awaiting_amendment = True
        self._later(truck, truck.arrival.behaviour.amend_after, Step.AMEND)
        self._seen(truck, decl)

    def _amend(self, truck: Truck) -> None:
        a = truck.arrival
        kind = a.misdeclaration.kind.value if a.misdeclaration else "irregularity"
        with self.c.uow(readonly=True) as uow:
            before_iqd = _total_due(uow, truck.declaration_id)
        try:
            with self.c.uow() as uow:
                done = declarations.amend(
                    uow=uow,
                    actor=self.users[a.broker],
                    declaration_id=truck.declaration_id,
                    content=a.true_content,
                    reason=f"Supplementary declaration after a {kind} finding",
                    rng=self.lane_rng,
                )
            decl, has_open = done.declaration, done.order is not None
        except IllegalTransition as exc:
            # The system refuses the supplementary declaration: the supervisor stops the goods
            # again rather than let them go on the understated papers.
            self.report.amendments_refused += 1
            with self.c.uow() as uow:
                decl = clearance.hold(
                    uow=uow,
                    actor=self._staff(Role.SUPERVISOR, truck),
                    declaration_id=truck.declaration_id,
                    reason=f"Supplementary declaration could not be lodged: {exc.message}",
                )
            self._seen(truck, decl)
            return
        truck.amended, truck.awaiting_amendment = True, False
        self.report.amendments += 1
        if truck.lane is Lane.RED:
            self._extra_duty(truck, before_iqd)
        if has_open and a.behaviour.pay_after is not None:
            self._later(truck, a.behaviour.supplement_pay_after, Step.PAY)
        self._seen(truck, decl)

    def _extra_duty(self, truck: Truck, before_iqd: Decimal) -> None:
        """The inspector records the duty the finding brought: what the supplement added."""
        with self.c.uow(readonly=True) as uow:
            extra = _total_due(uow, truck.declaration_id) - before_iqd
            history = uow.risk.assignments_of(truck.declaration_id)
        if extra <= 0 or not history:
            return  # e.g. an exempt or zero-rated line: nothing recovered
        kind = truck.arrival.misdeclaration.kind.value if truck.arrival.misdeclaration else ""
        with self.c.uow() as uow:
            risk_reports.record_extra_duty(
                uow=uow,
                actor=self.by_id[history[-1]["inspector_id"]],
                declaration_id=truck.declaration_id,
                extra_duty_iqd=extra,
                notes=f"Supplementary assessment after the {kind} finding",
            )
        self.report.extra_duty_iqd += extra

    def _release(self, truck: Truck) -> None:
        with self.c.uow() as uow:
            decl = clearance.release(
                uow=uow, actor=self._staff(Role.OFFICER, truck), declaration_id=truck.declaration_id
            )
            unpaid = truck.amended and _open_order(uow.payments.orders_for(decl.id)) is not None
        self.report.released += 1
        self.report.released_with_unpaid_supplement += int(unpaid)
        self._later(truck, truck.arrival.behaviour.exit_after, Step.EXIT)
        self._seen(truck, decl)

    def _exit(self, truck: Truck) -> None:
        with self.c.uow() as uow:
            decl = clearance.record_exit(
                uow=uow,
                actor=self._staff(Role.OFFICER, truck),
                crossing_code=truck.arrival.crossing_code,
                plate=truck.arrival.plate,
                declaration_ref=None,
            )
        self.report.exited += 1
        if decl.id == truck.declaration_id:
            truck.state = decl.state

    def _sneak(self, truck: Truck) -> None:
        if truck.release_scheduled or truck.state in (State.RELEASED, State.EXITED):
            return  # cleared already: no reason to run the gate
        try:
            with self.c.uow() as uow:
                clearance.record_exit(
                    uow=uow,
                    actor=self._staff(Role.OFFICER, truck),
                    crossing_code=truck.arrival.crossing_code,
                    plate=truck.arrival.plate,
                    declaration_ref=None,
                )
        except ExitWithoutRelease:
            self.report.exit_alarms += 1

    def _flush_truth(self, *, force: bool = False) -> None:
        if self._truth and (force or len(self._truth) >= TRUTH_BATCH):
            add_truth(self.c.engine, self._truth)
            self._truth = []


def simulate(
    container: Container,
    arrivals: Sequence[Arrival],
    *,
    pools: Pools,
    crossings: Sequence[str],
    seed: int,
    until: datetime | None = None,
    progress: Progress | None = None,
    profile: Sequence[LaneRule] = (),
    nightly_valuation: bool = False,
) -> Report:
    """Create the simulated users if missing, then play ``arrivals`` up to ``until``.

    ``profile`` are lane rules the simulated risk committee enables at the first arrival (if
    no rule of the same name exists); ``nightly_valuation`` refreshes the valuation references
    at the start of every simulated day, as a deployment's nightly job would.
    """
    users = ensure_users(container, crossings, pools)
    lane_rng = random.Random(f"{seed}:lanes")
    sim = Simulation(
        container,
        arrivals,
        users=users,
        lane_rng=lane_rng,
        until=until,
        progress=progress,
        profile=profile,
        nightly_valuation=nightly_valuation,
    )
    return sim.run()


# The starting rules of a simulated deployment: a new importer's first declarations are
# inspected, and so is a line declared far below the reference value of its goods (references
# exist once a few days of clearances are in). They give the first inspection outcomes the
# learned score trains on; the random control sample adds an unbiased share.
STARTING_RULES = (
    LaneRule(
        0,
        "New importer: first two declarations inspected",
        Lane.RED,
        date(2019, 1, 1),
        None,
        first_declarations=2,
    ),
    LaneRule(
        0,
        "Declared value far below the valuation reference",
        Lane.RED,
        date(2019, 1, 1),
        None,
        valuation_flag=True,
    ),
)


def _total_due(uow: UnitOfWork, declaration_id: str) -> Decimal:
    latest = uow.declarations.latest_assessment(declaration_id)
    return latest.total_due_iqd if latest else Decimal(0)


def _open_order(orders: Iterable[PaymentOrder]) -> PaymentOrder | None:
    open_orders = [o for o in orders if o.state is OrderState.OPEN]
    return open_orders[-1] if open_orders else None


def _summary(content: Content) -> dict[str, Any]:
    return {
        "currency": content.invoice_currency,
        "invoice_total": str(content.total_invoice),
        "gross_mass_kg": str(content.total_gross_mass_kg),
        "items": [
            {
                "line_no": i.line_no,
                "hs_code": i.hs_code,
                "description": i.description,
                "quantity": str(i.quantity),
                "net_mass_kg": str(i.net_mass_kg),
                "gross_mass_kg": str(i.gross_mass_kg),
                "invoice_value": str(i.invoice_value),
            }
            for i in content.items
        ],
    }


def _truth_row(declaration_id: str, a: Arrival) -> TruthRow:
    mis = a.misdeclaration
    return TruthRow(
        declaration_id=declaration_id,
        misdeclaration=mis.kind.value if mis else None,
        details={
            "plan_seq": a.seq,
            "group": a.group,
            "broker": a.broker,
            "importer_tax_id": a.importer.tax_id,
            "plate": a.plate,
            "misdeclaration": mis.as_json() if mis else None,
            "true": _summary(a.true_content),
            "declared": _summary(a.declared),
            "inspection_would_detect": a.behaviour.inspection_detects,
            "document_check_would_detect": a.behaviour.document_check_detects,
        },
    )


def _inspection_notes(a: Arrival, found: bool) -> str:
    if not found or a.misdeclaration is None:
        return "Goods examined; they match the declaration"
    truth = a.true_content
    return {
        "misclassification": f"Goods are {truth.items[0].description}, "
        f"HS {truth.items[0].hs_code}, not as declared",
        "understated_weight": f"Weighbridge reads {truth.total_gross_mass_kg} kg gross, "
        f"far above the declared {a.declared.total_gross_mass_kg} kg",
        "undervaluation": "Invoice value far below the market price of the goods examined",
    }.get(a.misdeclaration.kind.value, "Irregularity found")


def _document_notes(a: Arrival, found: bool) -> str:
    if not found:
        return "Documents in order"
    return "Invoice and certificate of origin inconsistent with the declared goods"
