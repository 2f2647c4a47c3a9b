"""E-payment: a gateway's signed notice confirms a payment the way the bank's callback does."""

from __future__ import annotations

from manafidh.services import payments
from manafidh.services.ports import PaymentGateway, UnitOfWork


def receive_notice(
    *, uow: UnitOfWork, gateway: PaymentGateway, body: bytes, signature: str | None
) -> payments.ConfirmationResult | None:
    """Apply a captured payment once (None for a declined or pending one: nothing changes)."""
    notice = gateway.read_notice(body, signature)
    if notice.status != "captured":
        return None
    # The same rules, ledger postings, receipt and journal as a bank confirmation: the
    # acquirer settles under the same transaction id, and the statement reconciles it.
    return payments.confirm_bank_payment(
        uow=uow,
        confirmation=payments.Confirmation(
            bank_transaction_id=notice.transaction_id,
            payment_reference=notice.reference,
            amount_iqd=notice.amount_iqd,
            paid_at=notice.paid_at,
        ),
    )
