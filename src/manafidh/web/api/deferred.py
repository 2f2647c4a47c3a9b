"""Deferred-payment accounts under /api/v1/revenue/deferred-accounts.

Finance approves, suspends and reinstates accounts and issues monthly statements; the account's
holder (a user with the trader's tax id) or finance pays orders from it; finance, analysts,
auditors and the holder read it. Settlement is a bank transfer quoting the statement's
reference, matched when the bank statement is imported (``/api/v1/revenue/statements``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from manafidh.domain.revenue.deferred import DeferredAccount, DeferredCharge, MonthlyStatement
from manafidh.services import deferred_accounts
from manafidh.web.deps import UowDep, UserDep
from manafidh.web.errors import ERROR_RESPONSES

router = APIRouter(
    prefix="/api/v1/revenue/deferred-accounts", tags=["revenue"], responses=ERROR_RESPONSES
)
Number = Annotated[str, Path(min_length=4, max_length=20, pattern=r"^[A-Z0-9]+$")]
Month = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$")]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class ApproveIn(BaseModel):
    """Approve a trader's account against a bank guarantee."""

    trader_tax_id: Annotated[str, Field(min_length=1, max_length=40)]
    trader_name: Annotated[str, Field(min_length=1, max_length=200)]
    guarantee_reference: Annotated[str, Field(min_length=1, max_length=64)]
    guarantee_bank: Annotated[str, Field(min_length=1, max_length=200)]
    limit_iqd: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=3)]
    valid_from: date
    valid_to: date
    reason: Reason


class ReasonIn(BaseModel):
    """Why the account changes."""

    reason: Reason


class PayIn(BaseModel):
    """The payment order to pay from the account."""

    payment_reference: Annotated[str, Field(min_length=5, max_length=40)]


class StatementIn(BaseModel):
    """The month (over) to state."""

    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]


class AccountOut(BaseModel):
    """An account, what its trader owes and may still charge."""

    number: str
    trader_tax_id: str
    trader_name: str
    guarantee_reference: str
    guarantee_bank: str
    limit_iqd: Decimal
    valid_from: date
    valid_to: date
    state: str
    approved_by: str
    approved_at: datetime
    reason: str
    balance_iqd: Decimal | None = None
    available_iqd: Decimal | None = None
    events: list[dict[str, str | datetime]] = []

    @classmethod
    def of(cls, a: DeferredAccount, **more: object) -> AccountOut:
        """From the domain object."""
        return cls.model_validate({**vars(a), "state": a.state.value, **more})


class ChargeOut(BaseModel):
    """An order paid from the account."""

    order_reference: str
    declaration_reference: str
    crossing_code: str
    amount_iqd: Decimal
    charged_at: datetime
    charged_by: str

    @classmethod
    def of(cls, c: DeferredCharge) -> ChargeOut:
        """From the domain object."""
        return cls.model_validate(vars(c), from_attributes=False)


class StatementOut(BaseModel):
    """A monthly statement: the reference to quote on the transfer, what is still due."""

    account: str
    month: str
    reference: str
    amount_iqd: Decimal
    settled_iqd: Decimal
    outstanding_iqd: Decimal
    settled: bool
    issued_at: datetime
    issued_by: str
    charges: list[ChargeOut] = []

    @classmethod
    def of(cls, s: MonthlyStatement, charges: list[DeferredCharge] | None = None) -> StatementOut:
        """From the domain object."""
        return cls(
            **vars(s),
            outstanding_iqd=s.outstanding_iqd,
            settled=s.settled,
            charges=[ChargeOut.of(c) for c in charges or []],
        )


@router.post("", status_code=201)
def approve(body: ApproveIn, user: UserDep, uow: UowDep) -> AccountOut:
    """Approve a trader's deferred-payment account against a guarantee (finance)."""
    a = deferred_accounts.approve(uow=uow, actor=user, **body.model_dump())
    return AccountOut.of(a)


@router.get("")
def list_accounts(user: UserDep, uow: UowDep) -> list[AccountOut]:
    """Every account with its balance."""
    return [
        AccountOut.of(a, balance_iqd=b, available_iqd=max(a.limit_iqd - b, Decimal(0)))
        for a, b in deferred_accounts.accounts(uow=uow, actor=user)
    ]


@router.get("/{number}")
def get_account(number: Number, user: UserDep, uow: UowDep) -> AccountOut:
    """One account: balance, what it may still take, and its recorded changes."""
    v = deferred_accounts.account(uow=uow, actor=user, number=number)
    return AccountOut.of(
        v.account,
        balance_iqd=v.balance_iqd,
        available_iqd=v.available_iqd,
        events=[{k: val if isinstance(val, datetime) else str(val) for k, val in e.items()}
                for e in v.events],
    )  # fmt: skip


@router.post("/{number}/suspend")
def suspend(number: Number, body: ReasonIn, user: UserDep, uow: UowDep) -> AccountOut:
    """Suspend the account: it takes no charge until reinstated (finance)."""
    return AccountOut.of(
        deferred_accounts.suspend(uow=uow, actor=user, number=number, reason=body.reason)
    )


@router.post("/{number}/reinstate")
def reinstate(number: Number, body: ReasonIn, user: UserDep, uow: UowDep) -> AccountOut:
    """Reinstate a suspended account (finance)."""
    return AccountOut.of(
        deferred_accounts.reinstate(uow=uow, actor=user, number=number, reason=body.reason)
    )


@router.post("/{number}/payments", status_code=201)
def pay(number: Number, body: PayIn, user: UserDep, uow: UowDep) -> ChargeOut:
    """Pay a payment order from the account (409 beyond the limit, suspended or expired)."""
    c = deferred_accounts.pay_order(
        uow=uow, actor=user, number=number, payment_reference=body.payment_reference
    )
    return ChargeOut.of(c)


@router.post("/{number}/statements")
def issue_statement(number: Number, body: StatementIn, user: UserDep, uow: UowDep) -> StatementOut:
    """Issue a finished month's statement (again: the same statement)."""
    v = deferred_accounts.issue_statement(uow=uow, actor=user, number=number, month=body.month)
    return StatementOut.of(v.statement, v.charges)


@router.get("/{number}/statements/{month}")
def get_statement(number: Number, month: Month, user: UserDep, uow: UowDep) -> StatementOut:
    """One month's statement with its charges."""
    v = deferred_accounts.statement(uow=uow, actor=user, number=number, month=month)
    return StatementOut.of(v.statement, v.charges)
