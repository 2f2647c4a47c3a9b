"""Postings to the revenue ledger, made inside the use cases that move money (no commit here).

Every function writes at most one posting under a key derived from the business event, so a
retried or repeated event never counts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from manafidh.domain.identity import Permission, User
from manafidh.domain.payments.orders import Payment, PaymentOrder
from manafidh.domain.revenue import ledger as L
from manafidh.domain.revenue.ledger import Account, Kind, Posting
from manafidh.services.ports import UnitOfWork

SYSTEM = "system"


def post(uow: UnitOfWork, posting: Posting) -> None:
    """Write ``posting`` unless its key is already in the books."""
    uow.ledger.add(posting)


def order_issued(
    uow: UnitOfWork, *, crossing_code: str, order: PaymentOrder, actor: str = SYSTEM
) -> None:
    """An issued order assesses its amount: receivable against customs duty."""
    # The assessment engine computes ad-valorem duty only so far; taxes and levies become
    # further components here when the tariff engine assesses them.
    post(
        uow,
        Posting(
            key=f"order:{order.id}:assessed",
            kind=Kind.ASSESSED,
            at=order.created_at,
            crossing_code=crossing_code,
            actor=actor,
            lines=L.assessed({Account.DUTY: order.amount_iqd}),
            declaration_id=order.declaration_id,
            order_id=order.id,
            memo=order.reference,
        ),
    )


def order_withdrawn(
    uow: UnitOfWork, *, crossing_code: str, order: PaymentOrder, actor: str = SYSTEM
) -> None:
    """A superseded order takes back what is still unpaid on it (a new order re-assesses)."""
    if order.outstanding_iqd <= 0:
        return
    post(
        uow,
        Posting(
            key=f"order:{order.id}:reversed",
            kind=Kind.REVERSED,
            at=uow.clock.now(),
            crossing_code=crossing_code,
            actor=actor,
            lines=L.reversed_({Account.DUTY: order.outstanding_iqd}),
            declaration_id=order.declaration_id,
            order_id=order.id,
            memo=order.reference,
        ),
    )


def payment_collected(
    uow: UnitOfWork,
    *,
    crossing_code: str,
    order: PaymentOrder,
    payment: Payment,
    outstanding_before: Decimal,
    into: str,
    actor: str,
) -> None:
    """Money applied to an order: into the bank (or the callback's unreconciled account)."""
    post(
        uow,
        Posting(
            key=f"payment:{payment.bank_transaction_id}",
            kind=Kind.COLLECTED,
            at=payment.received_at,
            crossing_code=crossing_code,
            actor=actor,
            lines=L.collected(into=into, amount=payment.amount_iqd, outstanding=outstanding_before),
            declaration_id=order.declaration_id,
            order_id=order.id,
            memo=order.reference,
        ),
    )


@dataclass(frozen=True)
class TrialBalance:
    """Every account's balance (debit positive) and the check that they add up to zero."""

    balances: dict[str, Decimal]
    total: Decimal
    revenue: Decimal
    postings: int

    @property
    def balanced(self) -> bool:
        """True when debits equal credits over the whole books."""
        return self.total == 0


def trial_balance(*, uow: UnitOfWork, actor: User | None) -> TrialBalance:
    """The books' balances, recomputed from every line (finance, analysts, auditors)."""
    if actor is not None:
        actor.require(Permission.READ_REVENUE)
    books = L.Ledger()
    books.balances = dict(uow.ledger.balances())
    return TrialBalance(
        balances=dict(sorted(books.balances.items())),
        total=books.total(),
        revenue=books.revenue(),
        postings=uow.ledger.count(),
    )
