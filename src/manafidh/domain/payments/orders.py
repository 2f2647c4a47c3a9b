"""Payment orders with ISO 11649 structured creditor references, and bank payments."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from manafidh.domain.errors import Conflict, ValidationFailed

_ALNUM = string.digits + string.ascii_uppercase


def _mod97(text: str) -> int:
    digits = "".join(str(_ALNUM.index(c)) for c in text)
    return int(digits) % 97


def creditor_reference(body: str) -> str:
    """Build an ISO 11649 'RF' reference: RF + two check digits + the body (<= 21 chars)."""
    body = body.upper()
    if not body or len(body) > 21 or any(c not in _ALNUM for c in body):
        raise ValueError(f"bad reference body {body!r}")
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def is_valid_reference(reference: str) -> bool:
    """True when ``reference`` is a well-formed ISO 11649 reference (mistypes are caught)."""
    ref = reference.replace(" ", "").upper()
    if len(ref) < 5 or len(ref) > 25 or not ref.startswith("RF"):
        return False
    if any(c not in _ALNUM for c in ref):
        return False
    return _mod97(ref[4:] + ref[:4]) == 1


class OrderState(StrEnum):
    """Where a payment order stands."""

    OPEN = "open"
    PAID = "paid"
    SUPERSEDED = "superseded"


@dataclass
class Payment:
    """Money received from a bank against an order; the bank's transaction id is unique."""

    bank_transaction_id: str
    amount_iqd: Decimal
    paid_at: datetime
    received_at: datetime
    channel: str = "bank_transfer"


@dataclass
class PaymentOrder:
    """What a declarant must pay, under a reference the bank quotes back."""

    id: str
    reference: str
    declaration_id: str
    amount_iqd: Decimal
    created_at: datetime
    state: OrderState = OrderState.OPEN
    payments: list[Payment] = field(default_factory=list)

    @property
    def paid_iqd(self) -> Decimal:
        """Sum of the payments received."""
        return sum((p.amount_iqd for p in self.payments), Decimal(0))

    @property
    def outstanding_iqd(self) -> Decimal:
        """What is still to pay (never below zero)."""
        return max(self.amount_iqd - self.paid_iqd, Decimal(0))

    def receive(self, payment: Payment) -> bool:
        """Apply a bank payment; return True when this payment settles the order."""
        if payment.amount_iqd <= 0:
            raise ValidationFailed("a payment must be positive", field="amount")
        if self.state is OrderState.SUPERSEDED:
            raise Conflict(
                "this payment order was replaced by a newer one", reference=self.reference
            )
        if self.state is OrderState.PAID:
            raise Conflict("this payment order is already paid", reference=self.reference)
        self.payments.append(payment)
        if self.paid_iqd >= self.amount_iqd:
            self.state = OrderState.PAID
            return True
        return False
