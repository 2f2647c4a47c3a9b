"""Bank reconciliation: import statements, match credits to orders, work the exceptions queue.

How this lives beside the bank's signed callback (ADR 0008): the callback collects at once
(into 'bank_unreconciled'), and its payment is reconciled when the statement lists the same
bank reference; a credit the callback never announced is matched and collected from the
statement itself. Anything else opens an exception that a finance officer resolves with a
reason. Re-importing a statement changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from manafidh.domain.audit.payloads import payment_payload
from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.declarations.model import Declaration
from manafidh.domain.errors import NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.payments.orders import Payment, PaymentOrder, is_valid_reference
from manafidh.domain.revenue import ledger as L
from manafidh.domain.revenue.ledger import Account, Kind, Posting
from manafidh.domain.revenue.statements import (
    EXCEPTIONS,
    EarlierPayment,
    OrderView,
    Outcome,
    ReconciliationException,
    Resolution,
    Statement,
    StatementEntry,
    decide,
    find_reference,
    looks_like_reference,
)
from manafidh.services import deferred_accounts, journal, ledger, payments, receipts
from manafidh.services.ports import UnitOfWork

# Money not yet tied to any order is held at headquarters, not at a crossing.
HEADQUARTERS = "HQ"
CALLBACK_CHANNEL = "bank_transfer"
STATEMENT_CHANNEL = "bank_statement"
ALLOCATED_CHANNEL = "allocated"


@dataclass
class ImportResult:
    """What one import did: entries new and already known, and outcomes of the new ones."""

    statements: list[str]
    new_entries: int = 0
    known_entries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    exceptions_opened: int = 0

    @property
    def changed(self) -> bool:
        """False when the import was a repeat of what is already recorded."""
        return self.new_entries > 0


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=IRAQ_TZ)


def import_statements(
    *, uow: UnitOfWork, actor: User | None, statements: Sequence[Statement], digest: str
) -> ImportResult:
    """Record statements and reconcile every new entry; all of it or nothing."""
    if actor is not None:
        actor.require(Permission.RECONCILE)
    who = journal.by(actor)
    now = uow.clock.now()
    result = ImportResult([s.statement_id for s in statements])
    for st in statements:
        pk = uow.reconciliation.statement_pk(st.statement_id)
        known: set[str] = set()
        if pk is None:
            pk = uow.reconciliation.add_statement(st, at=now, by=who[0], digest=digest)
        else:
            known = uow.reconciliation.entry_refs(pk)
        before = Counter(result.outcomes)
        for entry in st.entries:
            if entry.entry_ref in known:
                result.known_entries += 1
                continue
            outcome = _reconcile(uow, who, pk, st.account, entry, now)
            result.new_entries += 1
            result.outcomes[outcome.value] += 1
            result.exceptions_opened += outcome in EXCEPTIONS
        added = result.outcomes - before
        if added:
            journal.record(
                uow,
                who=who,
                crossing="",  # the audit log's "no crossing"
                action="statement.imported",
                subject=f"statement:{st.statement_id}",
                payload={
                    "statement_id": st.statement_id,
                    "account": st.account,
                    "format": st.format,
                    "digest": digest,
                    "outcomes": dict(sorted(added.items())),
                },
            )
    uow.commit()
    return result


def _reconcile(
    uow: UnitOfWork,
    who: tuple[str, str],
    statement_pk: int,
    account: str,
    entry: StatementEntry,
    now: datetime,
) -> Outcome:
    reference = find_reference(entry.remittance) if entry.credit else None
    if reference and not uow.reconciliation.seen_credit(account, entry.entry_ref):
        # A transfer settling a deferred-payment account's monthly statement.
        settled = deferred_accounts.settle_from_bank(
            uow, who, statement_pk=statement_pk, bank_account=account, entry=entry,
            reference=reference, now=now,
        )  # fmt: skip
        if settled is not None:
            return settled
    order = uow.payments.order_by_reference(reference) if reference else None
    earlier_order = uow.payments.order_of_transaction(entry.entry_ref) if entry.credit else None
    earlier = None
    if earlier_order is not None:
        p = next(x for x in earlier_order.payments if x.bank_transaction_id == entry.entry_ref)
        announced = p.channel == CALLBACK_CHANNEL and not uow.ledger.has(
            f"reconciled:{entry.entry_ref}"
        )
        earlier = EarlierPayment(p.amount_iqd, earlier_order.reference, announced)
    decision = decide(
        entry,
        reference=reference,
        order=OrderView(order.state, order.outstanding_iqd) if order else None,
        earlier=earlier,
        seen_before=entry.credit and uow.reconciliation.seen_credit(account, entry.entry_ref),
    )
    outcome = decision.outcome
    target = earlier_order or order
    decl = uow.declarations.get(target.declaration_id) if target is not None else None
    crossing = decl.crossing_code if decl is not None else HEADQUARTERS
    entry_id = uow.reconciliation.add_entry(
        statement_pk,
        account,
        entry,
        reference=reference or (looks_like_reference(entry.remittance) or None),
        outcome=outcome,
        order_id=target.id if target is not None else None,
    )
    at = _start_of(entry.booking_date)  # the day the bank booked it (paid_at)

    def posting(kind: Kind, lines: tuple[L.Line, ...]) -> None:
        ledger.post(
            uow,
            Posting(
                key=f"statement:{account}:{entry.entry_ref}",
                kind=kind,
                at=now,
                crossing_code=crossing,
                actor=who[0],
                lines=lines,
                declaration_id=target.declaration_id if target else None,
                order_id=target.id if target else None,
                memo=entry.remittance[:200],
            ),
        )

    if outcome in (Outcome.MATCHED, Outcome.PARTIAL, Outcome.OVERPAID):
        assert order is not None
        assert decl is not None
        payment = Payment(entry.entry_ref, entry.amount_iqd, at, now, STATEMENT_CHANNEL)
        _apply(uow, who, order, decl, payment, into=Account.BANK)
    elif outcome is Outcome.RECONCILED:
        ledger.post(
            uow,
            Posting(
                key=f"reconciled:{entry.entry_ref}",
                kind=Kind.RECONCILED,
                at=now,
                crossing_code=crossing,
                actor=who[0],
                lines=L.reconciled(entry.amount_iqd),
                declaration_id=target.declaration_id if target else None,
                order_id=target.id if target else None,
            ),
        )
    elif outcome in (Outcome.DUPLICATE, Outcome.SUPERSEDED):
        posting(Kind.UNALLOCATED, L.held(entry.amount_iqd))
    elif outcome in (Outcome.UNMATCHED, Outcome.UNKNOWN_REFERENCE):
        posting(Kind.UNALLOCATED, L.unallocated(entry.amount_iqd))
    if outcome in EXCEPTIONS:
        x = ReconciliationException(
            id=0,
            entry_id=entry_id,
            entry_ref=entry.entry_ref,
            kind=outcome,
            amount_iqd=entry.amount_iqd,
            held_iqd=decision.held_iqd,
            reference=reference,
            order_id=target.id if target is not None else None,
            crossing_code=crossing,
            opened_at=now,
        )
        uow.reconciliation.open_exception(x)
    return outcome


def _apply(
    uow: UnitOfWork,
    who: tuple[str, str],
    order: PaymentOrder,
    decl: Declaration,
    payment: Payment,
    *,
    into: str,
) -> None:
    """Apply a payment to its order: ledger, journal, and settlement when fully paid."""
    outstanding = order.outstanding_iqd
    settled = order.receive(payment)
    uow.payments.save_order(order, decl.crossing_code)
    if payment.channel == ALLOCATED_CHANNEL:
        # The money was already in the books (held for the payer): move it, do not add it.
        assert into in (Account.SUSPENSE, Account.OVERPAYMENTS)
        ledger.post(
            uow,
            Posting(
                key=f"allocated:{payment.bank_transaction_id}",
                kind=Kind.ALLOCATED,
                at=payment.received_at,
                crossing_code=decl.crossing_code,
                actor=who[0],
                lines=L.allocated(amount=payment.amount_iqd, outstanding=outstanding, held_in=into),
                declaration_id=decl.id,
                order_id=order.id,
                memo=order.reference,
            ),
        )
    else:
        ledger.payment_collected(
            uow,
            crossing_code=decl.crossing_code,
            order=order,
            payment=payment,
            outstanding_before=outstanding,
            into=into,
            actor=who[0],
        )
    receipt = receipts.issue(uow, decl, order, payment)
    journal.record(
        uow,
        who=who,
        crossing=decl.crossing_code,
        action="payment.received",
        subject=f"payment:{payment.bank_transaction_id}",
        payload={
            "reference": decl.reference,
            "order_state": order.state.value,
            **payment_payload(order.reference, decl.id, payment),
            "receipt": receipt.number,
        },
    )
    if settled:
        payments.settle(uow, decl, at=payment.received_at, actor=who[0])
        for x in uow.reconciliation.open_partials(order.id):
            x.resolve(
                Resolution.SETTLED,
                by=who[0],
                at=payment.received_at,
                reason="a later credit completed the order",
            )
            uow.reconciliation.save_resolution(x)


def resolve_exception(
    *,
    uow: UnitOfWork,
    actor: User | None,
    exception_id: int,
    resolution: Resolution,
    reason: str,
    order_reference: str | None = None,
) -> ReconciliationException:
    """Close an exception with a reason: allocate held money, return it, or accept as is."""
    if actor is not None:
        actor.require(Permission.RECONCILE)
    if resolution is Resolution.SETTLED:
        raise ValidationFailed("'settled' is set by the system only", field="resolution")
    who = journal.by(actor)
    now = uow.clock.now()
    x = uow.reconciliation.exception(exception_id)
    if x is None:
        raise NotFound("no such reconciliation exception", exception_id=exception_id)
    held_in = x.held_in
    x.resolve(resolution, by=who[0], at=now, reason=reason)
    payload: dict[str, object] = {
        "exception_id": x.id,
        "kind": x.kind.value,
        "entry_ref": x.entry_ref,
        "resolution": resolution.value,
        "reason": x.reason,
        "amount_iqd": str(x.amount_iqd),
        "held_iqd": str(x.held_iqd),
    }
    crossing = x.crossing_code
    if resolution is Resolution.ALLOCATE:
        assert held_in is not None
        ref = (order_reference or "").replace(" ", "").upper()
        if not is_valid_reference(ref):
            raise ValidationFailed(
                "allocating needs the order's reference, with valid check digits",
                field="order_reference",
            )
        order = uow.payments.order_by_reference(ref)
        if order is None:
            raise NotFound("no payment order with this reference", reference=ref)
        decl = uow.declarations.get(order.declaration_id)
        assert decl is not None
        payment = Payment(f"{x.entry_ref}@{x.id}", x.held_iqd, now, now, ALLOCATED_CHANNEL)
        _apply(uow, who, order, decl, payment, into=held_in)
        crossing = decl.crossing_code
        payload["order"] = order.reference
    elif resolution is Resolution.RETURN:
        assert held_in is not None
        ledger.post(
            uow,
            Posting(
                key=f"returned:{x.id}",
                kind=Kind.RETURNED,
                at=now,
                crossing_code=x.crossing_code,
                actor=who[0],
                lines=L.returned(amount=x.held_iqd, held_in=held_in),
                order_id=x.order_id,
                memo=x.reason or "",
            ),
        )
    uow.reconciliation.save_resolution(x)
    journal.record(
        uow,
        who=who,
        crossing="" if crossing == HEADQUARTERS else crossing,
        action="reconciliation.resolved",
        subject=f"reconciliation_exception:{x.id}",
        payload=payload,
    )
    uow.commit()
    return x


def exceptions(
    *,
    uow: UnitOfWork,
    actor: User | None,
    state: str | None = "open",
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ReconciliationException]:
    """The exceptions queue (finance, analysts and auditors read it)."""
    if actor is not None:
        actor.require(Permission.READ_REVENUE)
    if state not in (None, "open", "resolved"):
        raise ValidationFailed("state is 'open' or 'resolved'", field="state")
    if kind is not None and kind not in {o.value for o in EXCEPTIONS}:
        raise ValidationFailed(f"unknown exception kind {kind!r}", field="kind")
    return uow.reconciliation.exceptions(state=state, kind=kind, limit=limit, offset=offset)


@dataclass(frozen=True)
class Summary:
    """How reconciliation stands: outcomes of credit entries and the open queue."""

    outcomes: dict[str, int]
    open_exceptions: int
    needing_officer: int
    held_iqd: Decimal

    @property
    def credits(self) -> int:
        """Credits reconciled (a bank's repeat listing of a booking is not a credit)."""
        return sum(v for k, v in self.outcomes.items() if k != Outcome.REPEAT.value)

    @property
    def auto_match_rate(self) -> float:
        """Share of credits that needed no finance officer (a split payment whose balance
        arrived later closes its own exception, so it counts as automatic)."""
        return 1 - self.needing_officer / self.credits if self.credits else 1.0


def summary(*, uow: UnitOfWork, actor: User | None) -> Summary:
    """Outcome counts and what is still open."""
    if actor is not None:
        actor.require(Permission.READ_REVENUE)
    return Summary(
        uow.reconciliation.outcome_counts(),
        uow.reconciliation.open_count(),
        uow.reconciliation.officer_count(),
        uow.reconciliation.held_total(),
    )
