"""Bank confirmations: the only way money is recorded (there is no cash path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from manafidh.domain.audit.payloads import payment_payload
from manafidh.domain.declarations.model import Declaration
from manafidh.domain.errors import Conflict, NotFound, ValidationFailed
from manafidh.domain.payments.orders import Payment, PaymentOrder, is_valid_reference
from manafidh.domain.revenue.ledger import Account
from manafidh.services import journal, ledger, receipts
from manafidh.services.ports import UnitOfWork

BANK = "bank"


@dataclass(frozen=True)
class Confirmation:
    """What the bank tells us: a credit of ``amount_iqd`` quoting ``payment_reference``."""

    bank_transaction_id: str
    payment_reference: str
    amount_iqd: Decimal
    paid_at: datetime


@dataclass(frozen=True)
class ConfirmationResult:
    """The order after the confirmation, and whether this call changed anything."""

    order: PaymentOrder
    declaration_reference: str
    duplicate: bool


def confirm_bank_payment(*, uow: UnitOfWork, confirmation: Confirmation) -> ConfirmationResult:
    """Apply a bank confirmation once; the same confirmation again changes nothing."""
    c = confirmation
    if not c.bank_transaction_id.strip():
        raise ValidationFailed("bank transaction id is required", field="bank_transaction_id")
    if c.amount_iqd <= 0:
        raise ValidationFailed("amount must be positive", field="amount_iqd")
    if c.amount_iqd != c.amount_iqd.quantize(Decimal("0.001")):
        raise ValidationFailed("amount has more decimals than fils", field="amount_iqd")
    if c.paid_at.tzinfo is None:
        raise ValidationFailed("the payment time must carry its time zone", field="paid_at")
    if not is_valid_reference(c.payment_reference):
        raise ValidationFailed(
            "payment reference fails its ISO 11649 check digits", field="payment_reference"
        )
    earlier = uow.payments.order_of_transaction(c.bank_transaction_id)
    if earlier is not None:
        same = next(p for p in earlier.payments if p.bank_transaction_id == c.bank_transaction_id)
        if earlier.reference != c.payment_reference or same.amount_iqd != c.amount_iqd:
            raise Conflict(
                "this bank transaction id was already used for a different payment",
                bank_transaction_id=c.bank_transaction_id,
            )
        decl = uow.declarations.get(earlier.declaration_id)
        assert decl is not None
        return ConfirmationResult(earlier, decl.reference, duplicate=True)
    order = uow.payments.order_by_reference(c.payment_reference.replace(" ", "").upper())
    if order is None:
        raise NotFound("no payment order with this reference", reference=c.payment_reference)
    decl = uow.declarations.get(order.declaration_id)
    assert decl is not None
    now = uow.clock.now()
    payment = Payment(c.bank_transaction_id, c.amount_iqd, c.paid_at, now)
    outstanding = order.outstanding_iqd
    settled = order.receive(payment)
    uow.payments.save_order(order, decl.crossing_code)
    # The callback is the bank's signed notice: the money is collected against the order at once
    # but sits in 'bank_unreconciled' until the bank statement shows it (ADR 0008).
    ledger.payment_collected(
        uow,
        crossing_code=decl.crossing_code,
        order=order,
        payment=payment,
        outstanding_before=outstanding,
        into=Account.BANK_UNRECONCILED,
        actor=BANK,
    )
    receipts.issue(uow, decl, order, payment)
    journal.record(
        uow,
        who=(BANK, BANK),
        crossing=decl.crossing_code,
        action="payment.received",
        subject=f"payment:{c.bank_transaction_id}",
        payload={
            "reference": decl.reference,
            "order_state": order.state.value,
            **payment_payload(order.reference, decl.id, payment),
        },
    )
    if settled:
        settle(uow, decl, at=now, actor=BANK)
    uow.commit()
    return ConfirmationResult(order, decl.reference, duplicate=False)


def settle(uow: UnitOfWork, decl: Declaration, *, at: datetime, actor: str) -> None:
    """Move a declaration whose orders are paid in full to settled, journaled (no commit)."""
    since = len(decl.transitions)
    decl.record_settlement(at=at, actor=actor)
    uow.declarations.save(decl)
    journal.steps(uow, decl, since=since)
