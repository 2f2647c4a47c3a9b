"""Refunds: only of what a reduced assessment no longer asks for, and only with two people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from manafidh.domain.errors import Conflict, Forbidden, ValidationFailed


def refundable(*, applied_iqd: Decimal, due_iqd: Decimal, refunded_iqd: Decimal) -> Decimal:
    """What may still be refunded: paid against the assessment beyond what it now asks for."""
    return max(applied_iqd - due_iqd - refunded_iqd, Decimal(0))


@dataclass
class Refund:
    """A refund proposed by one finance officer and approved by another (who, when, why)."""

    id: str
    declaration_id: str
    crossing_code: str
    amount_iqd: Decimal
    proposed_by: str
    proposed_at: datetime
    proposal_reason: str
    state: str = "proposed"  # proposed | approved
    approved_by: str | None = None
    approved_at: datetime | None = None
    approval_reason: str | None = None

    def approve(self, *, by: str, at: datetime, reason: str) -> None:
        """Approve: a second person, with a reason, once."""
        if self.state != "proposed":
            raise Conflict("this refund is already approved", refund_id=self.id)
        if by == self.proposed_by:
            raise Forbidden(
                "a refund needs a second person: the proposer may not approve it",
                refund_id=self.id,
            )
        if not reason.strip():
            raise ValidationFailed("an approval needs a reason", field="reason")
        self.state = "approved"
        self.approved_by = by
        self.approved_at = at
        self.approval_reason = reason.strip()
