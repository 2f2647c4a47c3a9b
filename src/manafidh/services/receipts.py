"""Receipts: issued with every payment, read by their holder, verified by anyone."""

from __future__ import annotations

from manafidh.domain.declarations.model import Declaration
from manafidh.domain.errors import NotFound
from manafidh.domain.payments.orders import Payment, PaymentOrder
from manafidh.domain.revenue.receipts import Receipt, is_receipt_number, receipt_number
from manafidh.services.ports import UnitOfWork


def issue(uow: UnitOfWork, decl: Declaration, order: PaymentOrder, payment: Payment) -> Receipt:
    """Issue the receipt of a payment, inside the transaction that records the payment."""
    receipt = Receipt(
        number=receipt_number(decl.crossing_code, payment.received_at),
        bank_transaction_id=payment.bank_transaction_id,
        order_reference=order.reference,
        declaration_reference=decl.reference,
        crossing_code=decl.crossing_code,
        amount_iqd=payment.amount_iqd,
        paid_at=payment.paid_at,
        issued_at=payment.received_at,
    )
    uow.receipts.add(receipt)
    return receipt


def get(*, uow: UnitOfWork, number: str) -> Receipt:
    """A receipt by its number (the number itself is the right to see it: it is random)."""
    number = number.strip().upper()
    found = uow.receipts.get(number) if is_receipt_number(number) else None
    if found is None:
        raise NotFound("no receipt with this number", number=number)
    return found
