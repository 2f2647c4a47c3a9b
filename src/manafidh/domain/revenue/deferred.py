"""Deferred-payment accounts: approved traders pay orders on credit backed by a bank guarantee,
and settle a monthly statement by bank transfer.

A charge is refused (and nothing changes) when the account is suspended, outside the
guarantee's validity, or when it would take what is owed beyond the guaranteed limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from manafidh.domain.errors import DomainError, ValidationFailed
from manafidh.domain.payments.orders import creditor_reference
from manafidh.domain.validity import applies_on

ZERO = Decimal("0.000")
CHANNEL = "deferred_account"  # the payment channel of an order paid from an account


class DeferredPaymentRefused(DomainError):
    """A charge the account may not take: over the limit, suspended or out of validity."""

    code = "deferred_payment_refused"
    kind = "conflict"


class AccountState(StrEnum):
    """Whether the account may take charges."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class AccountAction(StrEnum):
    """What happened to an account (each with who, when and why)."""

    APPROVED = "approved"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"


def account_number(trader_tax_id: str) -> str:
    """The account's number: one account per trader, named after its tax id (``DPAIQ100200300``)."""
    body = "".join(c for c in trader_tax_id.upper() if c.isalnum())
    if not body or len(body) > 14:
        raise ValidationFailed(
            "the trader's tax id must have 1 to 14 letters or digits", field="trader_tax_id"
        )
    return f"DPA{body}"


def statement_reference(number: str, month: str) -> str:
    """The ISO 11649 reference a trader quotes to settle one month's statement."""
    return creditor_reference(f"{number}{month.replace('-', '')}")


@dataclass
class DeferredAccount:
    """A trader's deferred-payment account, approved against a bank guarantee."""

    number: str
    trader_tax_id: str
    trader_name: str
    guarantee_reference: str
    guarantee_bank: str
    limit_iqd: Decimal
    valid_from: date
    valid_to: date
    state: AccountState
    approved_by: str
    approved_at: datetime
    reason: str

    def __post_init__(self) -> None:
        if not self.guarantee_reference.strip():
            raise ValidationFailed("the guarantee's reference is required", field="guarantee")
        if not self.guarantee_bank.strip():
            raise ValidationFailed("the guaranteeing bank is required", field="guarantee_bank")
        if not self.trader_name.strip():
            raise ValidationFailed("the trader's name is required", field="trader_name")
        if not self.reason.strip():
            raise ValidationFailed("an approval needs a reason", field="reason")
        if self.limit_iqd <= 0 or self.limit_iqd != self.limit_iqd.quantize(ZERO):
            raise ValidationFailed("the limit must be a positive amount in fils", field="limit")
        if self.valid_to < self.valid_from:
            raise ValidationFailed("the guarantee ends before it starts", field="valid_to")

    def check_charge(self, *, balance: Decimal, amount: Decimal, day: date) -> None:
        """Raise ``DeferredPaymentRefused`` unless ``amount`` may be charged on ``day``."""
        if self.state is not AccountState.ACTIVE:
            raise DeferredPaymentRefused(
                "the deferred-payment account is suspended", account=self.number
            )
        if not applies_on(self, day):
            raise DeferredPaymentRefused(
                f"the guarantee is valid from {self.valid_from} to {self.valid_to}, not on {day}",
                account=self.number,
            )
        if balance + amount > self.limit_iqd:
            raise DeferredPaymentRefused(
                f"the charge of {amount} IQD would take the balance to {balance + amount} IQD,"
                f" beyond the guaranteed limit of {self.limit_iqd} IQD",
                account=self.number,
                balance_iqd=str(balance),
                limit_iqd=str(self.limit_iqd),
            )


@dataclass(frozen=True)
class DeferredCharge:
    """One payment order paid from an account."""

    account: str
    order_reference: str
    declaration_reference: str
    crossing_code: str
    amount_iqd: Decimal
    charged_at: datetime
    charged_by: str
    statement_month: str | None = None


@dataclass
class MonthlyStatement:
    """What an account was charged in one month, and what bank transfers settled of it."""

    account: str
    month: str  # YYYY-MM, Iraq's calendar
    reference: str
    amount_iqd: Decimal
    settled_iqd: Decimal
    issued_at: datetime
    issued_by: str

    @property
    def outstanding_iqd(self) -> Decimal:
        """What is still to be transferred."""
        return max(self.amount_iqd - self.settled_iqd, ZERO)

    @property
    def settled(self) -> bool:
        """True once transfers cover the whole statement."""
        return self.settled_iqd >= self.amount_iqd
