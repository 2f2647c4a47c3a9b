"""Refunds: proposed by a finance officer when a reduced assessment leaves money overpaid,
posted to the ledger only once a second finance officer approves."""

from __future__ import annotations

import uuid
from decimal import Decimal

from manafidh.domain.errors import NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.revenue import ledger as L
from manafidh.domain.revenue.ledger import Account, Kind, Posting
from manafidh.domain.revenue.refunds import Refund, refundable
from manafidh.services import journal, ledger
from manafidh.services.ports import UnitOfWork


def propose(*, uow: UnitOfWork, actor: User, declaration_ref: str, reason: str) -> Refund:
    """Propose refunding what the latest (reduced) assessment no longer asks for."""
    actor.require(Permission.RECONCILE)
    if not reason.strip():
        raise ValidationFailed("a refund needs a reason", field="reason")
    decl = uow.declarations.get_by_reference(declaration_ref) or uow.declarations.get(
        declaration_ref
    )
    if decl is None:
        raise NotFound("no such declaration", declaration=declaration_ref)
    assessment = uow.declarations.latest_assessment(decl.id)
    if assessment is None:
        raise ValidationFailed("the declaration was never assessed", declaration=decl.reference)
    applied = sum(
        (min(o.paid_iqd, o.amount_iqd) for o in uow.payments.orders_for(decl.id)), Decimal(0)
    )
    refunded = sum((r.amount_iqd for r in uow.refunds.of_declaration(decl.id)), Decimal(0))
    amount = refundable(
        applied_iqd=applied, due_iqd=assessment.total_due_iqd, refunded_iqd=refunded
    )
    if amount <= 0:
        raise ValidationFailed(
            "nothing to refund: what was paid does not exceed the latest assessment",
            declaration=decl.reference,
        )
    refund = Refund(
        id=uuid.uuid4().hex,
        declaration_id=decl.id,
        crossing_code=decl.crossing_code,
        amount_iqd=amount,
        proposed_by=actor.id,
        proposed_at=uow.clock.now(),
        proposal_reason=reason.strip(),
    )
    uow.refunds.add(refund)
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=decl.crossing_code,
        action="refund.proposed",
        subject=f"refund:{refund.id}",
        payload={"declaration": decl.reference, "amount_iqd": str(amount), "reason": reason},
    )
    uow.commit()
    return refund


def approve(*, uow: UnitOfWork, actor: User, refund_id: str, reason: str) -> Refund:
    """Approve a proposed refund (not by its proposer): revenue is reduced, the refund owed."""
    actor.require(Permission.RECONCILE)
    refund = uow.refunds.get(refund_id)
    if refund is None:
        raise NotFound("no such refund", refund_id=refund_id)
    now = uow.clock.now()
    refund.approve(by=actor.id, at=now, reason=reason)
    uow.refunds.save(refund)
    ledger.post(
        uow,
        Posting(
            key=f"refund:{refund.id}:approved",
            kind=Kind.REVERSED,
            at=now,
            crossing_code=refund.crossing_code,
            actor=actor.id,
            lines=(
                L.Line(Account.REFUNDS, refund.amount_iqd),
                L.Line(Account.REFUNDS_PAYABLE, -refund.amount_iqd),
            ),
            declaration_id=refund.declaration_id,
            memo=refund.approval_reason or "",
        ),
    )
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=refund.crossing_code,
        action="refund.approved",
        subject=f"refund:{refund.id}",
        payload={"amount_iqd": str(refund.amount_iqd), "reason": refund.approval_reason},
    )
    uow.commit()
    return refund
