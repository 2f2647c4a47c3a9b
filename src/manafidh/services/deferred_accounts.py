"""Deferred-payment accounts: approve against a guarantee, pay orders from the account, state
each month, and settle the statement by bank transfer (matched by the reconciliation).

Money moves only by postings (ADR 0008): paying an order from an account collects it into
``assets:deferred`` (what approved traders owe, secured by their guarantees), as the bank's
callback collects into ``assets:bank_unreconciled``; the transfer that settles a statement
moves the amount from ``assets:deferred`` to ``assets:bank``. The guarantee itself is not
money received, so approving an account posts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from manafidh.domain.clock import local_date
from manafidh.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.payments.orders import OrderState, Payment, is_valid_reference
from manafidh.domain.revenue import ledger as L
from manafidh.domain.revenue.deferred import (
    CHANNEL,
    ZERO,
    AccountAction,
    AccountState,
    DeferredAccount,
    DeferredCharge,
    MonthlyStatement,
    account_number,
    statement_reference,
)
from manafidh.domain.revenue.ledger import Account, Kind, Posting
from manafidh.domain.revenue.statements import Outcome, ReconciliationException, StatementEntry
from manafidh.services import journal, ledger, payments, receipts
from manafidh.services.ports import UnitOfWork

HEADQUARTERS = "HQ"  # settlements are received centrally, not at a crossing


@dataclass(frozen=True)
class AccountView:
    """An account with what its trader owes, its recorded changes and its statements."""

    account: DeferredAccount
    balance_iqd: Decimal
    available_iqd: Decimal
    events: list[dict[str, Any]]
    statements: list[MonthlyStatement]


@dataclass(frozen=True)
class StatementView:
    """A monthly statement with the charges it lists."""

    statement: MonthlyStatement
    charges: list[DeferredCharge]


def _subject(number: str) -> str:
    return f"deferred_account:{number}"


def _account(uow: UnitOfWork, number: str) -> DeferredAccount:
    account = uow.deferred.get(number)
    if account is None:
        raise NotFound("no such deferred-payment account", account=number)
    return account


def _holder_or(actor: User | None, account: DeferredAccount, permission: Permission) -> None:
    """The account's own trader, or someone with ``permission`` (the operator: anything)."""
    if actor is None or (actor.tax_id is not None and actor.tax_id == account.trader_tax_id):
        return
    actor.require(permission)


def _month(text: str) -> str:
    try:
        date.fromisoformat(text + "-01")
    except ValueError:
        raise ValidationFailed("month must be YYYY-MM", field="month") from None
    return text


def approve(
    *,
    uow: UnitOfWork,
    actor: User | None,
    trader_tax_id: str,
    trader_name: str,
    guarantee_reference: str,
    guarantee_bank: str,
    limit_iqd: Decimal,
    valid_from: date,
    valid_to: date,
    reason: str,
) -> DeferredAccount:
    """Approve a trader's deferred-payment account against a bank guarantee (finance)."""
    if actor is not None:
        actor.require(Permission.RECONCILE)
    who = journal.by(actor)
    now = uow.clock.now()
    account = DeferredAccount(
        number=account_number(trader_tax_id),
        trader_tax_id=trader_tax_id.strip(),
        trader_name=trader_name.strip(),
        guarantee_reference=guarantee_reference.strip(),
        guarantee_bank=guarantee_bank.strip(),
        limit_iqd=limit_iqd,
        valid_from=valid_from,
        valid_to=valid_to,
        state=AccountState.ACTIVE,
        approved_by=who[0],
        approved_at=now,
        reason=reason.strip(),
    )
    if uow.deferred.get(account.number) is not None:
        raise Conflict("this trader already has a deferred-payment account", account=account.number)
    uow.deferred.add(account)
    uow.deferred.add_event(
        account.number, AccountAction.APPROVED, at=now, actor=who[0], reason=account.reason
    )
    journal.record(
        uow,
        who=who,
        crossing="",
        action="deferred_account.approved",
        subject=_subject(account.number),
        payload={
            "trader_tax_id": account.trader_tax_id,
            "guarantee_reference": account.guarantee_reference,
            "guarantee_bank": account.guarantee_bank,
            "limit_iqd": str(account.limit_iqd),
            "valid_from": account.valid_from.isoformat(),
            "valid_to": account.valid_to.isoformat(),
            "reason": account.reason,
        },
    )
    uow.commit()
    return account


def _change(
    uow: UnitOfWork, actor: User | None, number: str, reason: str, to: AccountState
) -> DeferredAccount:
    if actor is not None:
        actor.require(Permission.RECONCILE)
    if not reason.strip():
        raise ValidationFailed("a change of the account needs a reason", field="reason")
    account = _account(uow, number)
    if account.state is to:
        raise Conflict(f"the account is already {to.value}", account=number)
    who = journal.by(actor)
    action = AccountAction.SUSPENDED if to is AccountState.SUSPENDED else AccountAction.REINSTATED
    account.state = to
    uow.deferred.save_state(number, to)
    uow.deferred.add_event(number, action, at=uow.clock.now(), actor=who[0], reason=reason.strip())
    journal.record(
        uow,
        who=who,
        crossing="",
        action=f"deferred_account.{action.value}",
        subject=_subject(number),
        payload={"reason": reason.strip()},
    )
    uow.commit()
    return account


def suspend(*, uow: UnitOfWork, actor: User | None, number: str, reason: str) -> DeferredAccount:
    """Suspend an account: it takes no charge until reinstated (finance, with a reason)."""
    return _change(uow, actor, number, reason, AccountState.SUSPENDED)


def reinstate(*, uow: UnitOfWork, actor: User | None, number: str, reason: str) -> DeferredAccount:
    """Reinstate a suspended account (finance, with a reason)."""
    return _change(uow, actor, number, reason, AccountState.ACTIVE)


def pay_order(
    *, uow: UnitOfWork, actor: User | None, number: str, payment_reference: str
) -> DeferredCharge:
    """Pay what is outstanding on an order from the importer's account (its holder or
    finance); refused (nothing changes) beyond the limit, when suspended or outside the
    guarantee's validity."""
    ref = payment_reference.replace(" ", "").upper()
    if not is_valid_reference(ref):
        raise ValidationFailed(
            "payment reference fails its ISO 11649 check digits", field="payment_reference"
        )
    account = _account(uow, number)  # locked: two charges at once cannot both pass the limit
    order = uow.payments.order_by_reference(ref)
    if order is None:
        raise NotFound("no payment order with this reference", reference=ref)
    decl = uow.declarations.get(order.declaration_id)
    assert decl is not None
    # Only the holder or finance: the importer named in a declaration is what its declarant
    # says, so being the declarant must not be enough to charge someone's account.
    _holder_or(actor, account, Permission.RECONCILE)
    if decl.content.importer_tax_id != account.trader_tax_id:
        raise Forbidden(
            "the declaration's importer does not hold this account",
            account=number,
            declaration=decl.reference,
        )
    if order.state is not OrderState.OPEN:
        raise Conflict(f"this payment order is {order.state.value}", reference=ref)
    now = uow.clock.now()
    amount = order.outstanding_iqd
    account.check_charge(balance=uow.deferred.balance(number), amount=amount, day=local_date(now))
    who = journal.by(actor)
    payment = Payment(f"{number}-{order.reference}", amount, now, now, CHANNEL)
    settled = order.receive(payment)
    uow.payments.save_order(order, decl.crossing_code)
    ledger.payment_collected(
        uow,
        crossing_code=decl.crossing_code,
        order=order,
        payment=payment,
        outstanding_before=amount,
        into=Account.DEFERRED,
        actor=who[0],
    )
    charge = DeferredCharge(
        account=number,
        order_reference=order.reference,
        declaration_reference=decl.reference,
        crossing_code=decl.crossing_code,
        amount_iqd=amount,
        charged_at=now,
        charged_by=who[0],
    )
    uow.deferred.add_charge(charge, local_date(now).strftime("%Y-%m"))
    receipt = receipts.issue(uow, decl, order, payment)
    journal.record(
        uow,
        who=who,
        crossing=decl.crossing_code,
        action="deferred_account.charged",
        subject=_subject(number),
        payload={
            "order": order.reference,
            "declaration": decl.reference,
            "amount_iqd": str(amount),
            "receipt": receipt.number,
        },
    )
    if settled:
        payments.settle(uow, decl, at=now, actor=who[0])
    uow.commit()
    return charge


def account(*, uow: UnitOfWork, actor: User | None, number: str) -> AccountView:
    """An account, its balance and what it may still take, its changes and statements."""
    a = _account(uow, number)
    _holder_or(actor, a, Permission.READ_REVENUE)
    balance = uow.deferred.balance(number)
    return AccountView(
        account=a,
        balance_iqd=balance,
        available_iqd=max(a.limit_iqd - balance, ZERO),
        events=uow.deferred.events(number),
        statements=uow.deferred.statements(number),
    )


def accounts(*, uow: UnitOfWork, actor: User | None) -> list[tuple[DeferredAccount, Decimal]]:
    """Every account with its balance (finance, analysts, auditors)."""
    if actor is not None:
        actor.require(Permission.READ_REVENUE)
    return [(a, uow.deferred.balance(a.number)) for a in uow.deferred.all()]


def issue_statement(
    *, uow: UnitOfWork, actor: User | None, number: str, month: str
) -> StatementView:
    """Issue the statement of a month that is over: its charges, total and the reference to
    quote when settling; issuing it again changes nothing."""
    if actor is not None:
        actor.require(Permission.RECONCILE)
    _month(month)
    _account(uow, number)
    existing = uow.deferred.statement(number, month)
    if existing is not None:
        return StatementView(existing, uow.deferred.charges(number, month))
    now = uow.clock.now()
    if month >= local_date(now).strftime("%Y-%m"):
        raise ValidationFailed("a month's statement is issued once the month is over", month=month)
    charges = uow.deferred.charges(number, month)
    if not charges:
        raise ValidationFailed("nothing was charged to the account that month", month=month)
    who = journal.by(actor)
    statement = MonthlyStatement(
        account=number,
        month=month,
        reference=statement_reference(number, month),
        amount_iqd=sum((c.amount_iqd for c in charges), ZERO),
        settled_iqd=ZERO,
        issued_at=now,
        issued_by=who[0],
    )
    uow.deferred.add_statement(statement)
    journal.record(
        uow,
        who=who,
        crossing="",
        action="deferred_account.statement_issued",
        subject=_subject(number),
        payload={
            "month": month,
            "reference": statement.reference,
            "amount_iqd": str(statement.amount_iqd),
            "charges": len(charges),
        },
    )
    uow.commit()
    return StatementView(
        statement, [DeferredCharge(**{**vars(c), "statement_month": month}) for c in charges]
    )


def statement(*, uow: UnitOfWork, actor: User | None, number: str, month: str) -> StatementView:
    """One month's statement with its charges."""
    a = _account(uow, number)
    _holder_or(actor, a, Permission.READ_REVENUE)
    s = uow.deferred.statement(number, _month(month))
    if s is None:
        raise NotFound("no statement for this month", account=number, month=month)
    return StatementView(s, uow.deferred.charges(number, month))


def settle_from_bank(
    uow: UnitOfWork,
    who: tuple[str, str],
    *,
    statement_pk: int,
    bank_account: str,
    entry: StatementEntry,
    reference: str,
    now: datetime,
) -> Outcome | None:
    """A bank credit quoting a deferred statement's reference settles it (no commit: the
    import's transaction); None when the reference is not a statement's. Anything beyond
    what the statement still asks for is held for the payer, as an exception."""
    st = uow.deferred.statement_by_reference(reference)
    if st is None:
        return None
    applied = min(entry.amount_iqd, st.outstanding_iqd)
    excess = entry.amount_iqd - applied
    outcome = (
        Outcome.MATCHED if not excess else (Outcome.OVERPAID if applied else Outcome.DUPLICATE)
    )
    entry_id = uow.reconciliation.add_entry(
        statement_pk, bank_account, entry, reference=reference, outcome=outcome, order_id=None
    )
    ledger.post(
        uow,
        Posting(
            key=f"statement:{bank_account}:{entry.entry_ref}",
            kind=Kind.SETTLED,
            at=now,
            crossing_code=HEADQUARTERS,
            actor=who[0],
            lines=L.settled(amount=entry.amount_iqd, outstanding=st.outstanding_iqd),
            memo=f"{st.account} {st.month} {reference}",
        ),
    )
    st.settled_iqd += applied
    uow.deferred.save_settled(st)
    if excess:
        uow.reconciliation.open_exception(
            ReconciliationException(
                id=0,
                entry_id=entry_id,
                entry_ref=entry.entry_ref,
                kind=outcome,
                amount_iqd=entry.amount_iqd,
                held_iqd=excess,
                reference=reference,
                order_id=None,
                crossing_code=HEADQUARTERS,
                opened_at=now,
            )
        )
    journal.record(
        uow,
        who=who,
        crossing="",
        action="deferred_account.settled",
        subject=_subject(st.account),
        payload={
            "month": st.month,
            "reference": reference,
            "entry_ref": entry.entry_ref,
            "amount_iqd": str(entry.amount_iqd),
            "applied_iqd": str(applied),
            "settled": st.settled,
        },
    )
    return outcome
