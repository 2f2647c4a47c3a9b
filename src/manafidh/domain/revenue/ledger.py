"""A double-entry revenue ledger: postings are the only way money moves, and they balance.

Sign convention: a line's amount is positive for a debit and negative for a credit, in IQD on
the fils (ADR 0003). A posting's lines add up to zero, so every balance of the books together
is zero too. Assets (receivables, bank) carry debit balances; revenue and liabilities (money
held for payers) carry credit balances.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from manafidh.domain.errors import ValidationFailed
from manafidh.domain.money import IQD_MINOR_UNITS, quantum

ZERO = Decimal("0.000")
FILS = quantum(IQD_MINOR_UNITS)


class Account(StrEnum):
    """The fixed accounts; revenue accounts per tax, levy and fee come from ``revenue()``."""

    RECEIVABLE = "assets:receivable"  # assessed and not yet paid
    BANK = "assets:bank"  # seen on a bank statement
    BANK_UNRECONCILED = "assets:bank_unreconciled"  # announced by the bank's callback only
    DUTY = "revenue:duty"
    REFUNDS = "revenue:refunds"  # contra-revenue: assessments reduced after payment
    SUSPENSE = "liabilities:suspense"  # credits on a statement not (yet) tied to an order
    OVERPAYMENTS = "liabilities:overpayments"  # paid beyond what was due, owed back or kept
    DEPOSITS = "liabilities:deposits"  # guarantee deposits of deferred-payment traders
    REFUNDS_PAYABLE = "liabilities:refunds_payable"  # approved refunds not yet paid out
    DEFERRED = "assets:deferred"  # orders paid from guaranteed deferred-payment accounts


REVENUE_KINDS = ("tax", "levy", "fee")


def revenue(kind: str, code: str) -> str:
    """The revenue account of one tax, levy or fee: ``revenue:tax:VAT``."""
    if kind not in REVENUE_KINDS:
        raise ValueError(f"revenue kind must be one of {REVENUE_KINDS}, not {kind!r}")
    if not code or not code.replace("_", "").isalnum():
        raise ValueError(f"bad revenue code {code!r}")
    return f"revenue:{kind}:{code.upper()}"


def is_account(name: str) -> bool:
    """True for a fixed account or a well-formed per-tax/levy/fee revenue account."""
    if name in {a.value for a in Account}:
        return True
    parts = name.split(":")
    return (
        len(parts) == 3
        and parts[0] == "revenue"
        and parts[1] in REVENUE_KINDS
        and parts[2].replace("_", "").isalnum()
        and parts[2] == parts[2].upper()
    )


def is_revenue(name: str) -> bool:
    """True for an account whose credit balance is revenue (duty, taxes, levies, fees)."""
    return name.startswith("revenue:") and name != Account.REFUNDS


@dataclass(frozen=True)
class Line:
    """One side of a posting: a debit (positive) or credit (negative) on one account."""

    account: str
    amount: Decimal


class Kind(StrEnum):
    """Why money moved."""

    ASSESSED = "assessed"  # a payment order issued: receivable against revenue
    REVERSED = "reversed"  # an unpaid order superseded or withdrawn: the reverse
    COLLECTED = "collected"  # a payment applied to an order
    RECONCILED = "reconciled"  # a callback payment seen on the bank statement
    UNALLOCATED = "unallocated"  # a statement credit tied to no order (yet): suspense
    ALLOCATED = "allocated"  # suspense money applied to an order by a finance officer
    RETURNED = "returned"  # money held for a payer sent back to them
    SETTLED = "settled"  # a bank transfer settling a deferred-payment account's statement


@dataclass(frozen=True)
class Posting:
    """A balanced set of lines, recorded once under a unique key (so never counted twice)."""

    key: str
    kind: Kind
    at: datetime
    crossing_code: str
    actor: str
    lines: tuple[Line, ...]
    declaration_id: str | None = None
    order_id: str | None = None
    memo: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            raise ValidationFailed("a posting needs a key", field="key")
        if self.at.tzinfo is None:
            raise ValidationFailed("a posting's time must carry its time zone", field="at")
        if len(self.lines) < 2:
            raise ValidationFailed("a posting needs at least two lines", key=self.key)
        for line in self.lines:
            if not isinstance(line.amount, Decimal):
                raise TypeError("ledger amounts must be Decimal")
            if not is_account(line.account):
                raise ValidationFailed(f"unknown account {line.account!r}", key=self.key)
            if line.amount == 0:
                raise ValidationFailed("a posting line may not be zero", key=self.key)
            if line.amount != line.amount.quantize(FILS):
                raise ValidationFailed("ledger amounts are whole fils", key=self.key)
        total = sum((line.amount for line in self.lines), ZERO)
        if total != 0:
            raise ValidationFailed(
                "a posting must balance: debits equal credits", key=self.key, off_by=str(total)
            )

    def amount_on(self, account: str) -> Decimal:
        """The net amount this posting puts on ``account``."""
        return sum((x.amount for x in self.lines if x.account == account), ZERO)


def _lines(*pairs: tuple[str, Decimal]) -> tuple[Line, ...]:
    """Lines from (account, amount) pairs, dropping zero amounts and merging repeats."""
    merged: dict[str, Decimal] = {}
    for account, amount in pairs:
        merged[account] = merged.get(account, ZERO) + amount
    return tuple(Line(a, v) for a, v in merged.items() if v != 0)


def assessed(components: Mapping[str, Decimal]) -> tuple[Line, ...]:
    """An issued payment order: debit receivable, credit each revenue account its share."""
    if not components:
        raise ValidationFailed("an assessment posting needs at least one revenue component")
    for account, amount in components.items():
        if not is_revenue(account):
            raise ValidationFailed(f"{account} is not a revenue account")
        if amount < 0:
            raise ValidationFailed("an assessed amount may not be negative", account=account)
    total = sum(components.values(), ZERO)
    return _lines((Account.RECEIVABLE, total), *((a, -v) for a, v in components.items()))


def reversed_(components: Mapping[str, Decimal]) -> tuple[Line, ...]:
    """Take back what an unpaid (part of an) order assessed: the mirror of ``assessed``."""
    return tuple(Line(x.account, -x.amount) for x in assessed(components))


def collected(*, into: str, amount: Decimal, outstanding: Decimal) -> tuple[Line, ...]:
    """Money received against an order: the receivable up to what is outstanding, the rest
    held as an overpayment (never revenue until an assessment says so)."""
    if amount <= 0:
        raise ValidationFailed("a payment must be positive", field="amount")
    applied = min(amount, max(outstanding, ZERO))
    return _lines(
        (into, amount),
        (Account.RECEIVABLE, -applied),
        (Account.OVERPAYMENTS, -(amount - applied)),
    )


def reconciled(amount: Decimal) -> tuple[Line, ...]:
    """A payment the bank announced by callback is now on its statement."""
    return _lines((Account.BANK, amount), (Account.BANK_UNRECONCILED, -amount))


def unallocated(amount: Decimal) -> tuple[Line, ...]:
    """A statement credit that no order claims yet: in the bank, owed to someone unknown."""
    return _lines((Account.BANK, amount), (Account.SUSPENSE, -amount))


def held(amount: Decimal) -> tuple[Line, ...]:
    """A credit quoting an order that is paid or replaced: in the bank, held for the payer."""
    return _lines((Account.BANK, amount), (Account.OVERPAYMENTS, -amount))


def settled(*, amount: Decimal, outstanding: Decimal) -> tuple[Line, ...]:
    """A transfer settling a deferred-payment statement: into the bank, off what the trader
    owes up to what the statement still asks for, any excess held for the payer."""
    if amount <= 0:
        raise ValidationFailed("a transfer must be positive", field="amount")
    applied = min(amount, max(outstanding, ZERO))
    return _lines(
        (Account.BANK, amount),
        (Account.DEFERRED, -applied),
        (Account.OVERPAYMENTS, -(amount - applied)),
    )


def allocated(*, amount: Decimal, outstanding: Decimal, held_in: str) -> tuple[Line, ...]:
    """Held money applied to an order by a finance officer (any excess stays held)."""
    if held_in not in (Account.SUSPENSE, Account.OVERPAYMENTS):
        raise ValidationFailed("only money held for a payer can be allocated")
    applied = min(amount, max(outstanding, ZERO))
    return _lines(
        (held_in, amount),
        (Account.RECEIVABLE, -applied),
        (Account.OVERPAYMENTS, -(amount - applied)),
    )


def returned(*, amount: Decimal, held_in: str) -> tuple[Line, ...]:
    """Money held for a payer (suspense or overpayment) paid back out of the bank."""
    if held_in not in (Account.SUSPENSE, Account.OVERPAYMENTS):
        raise ValidationFailed("only money held for a payer can be returned")
    return _lines((held_in, amount), (Account.BANK, -amount))


class Ledger:
    """Balances of a set of postings, each key counted once."""

    def __init__(self, postings: Iterable[Posting] = ()) -> None:
        self.balances: dict[str, Decimal] = {}
        self.keys: set[str] = set()
        for p in postings:
            self.post(p)

    def post(self, posting: Posting) -> bool:
        """Apply a posting; False (and nothing changes) when its key was already posted."""
        if posting.key in self.keys:
            return False
        self.keys.add(posting.key)
        for line in posting.lines:
            self.balances[line.account] = self.balances.get(line.account, ZERO) + line.amount
        return True

    def balance(self, account: str) -> Decimal:
        """Debit-positive balance of one account."""
        return self.balances.get(account, ZERO)

    def total(self) -> Decimal:
        """Sum of every balance: zero in balanced books."""
        return sum(self.balances.values(), ZERO)

    def revenue(self) -> Decimal:
        """Revenue recognised (credit balances of revenue accounts, net of refunds)."""
        gross = -sum((v for a, v in self.balances.items() if is_revenue(a)), ZERO)
        return gross - self.balance(Account.REFUNDS)
