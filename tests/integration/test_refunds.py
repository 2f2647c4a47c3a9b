"""A refund only through a reduced assessment, proposed by one person and approved by another."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from tests.factories import content, item

from manafidh.domain.declarations.model import Lane
from manafidh.domain.errors import Conflict, Forbidden, ValidationFailed
from manafidh.domain.revenue.ledger import Account
from manafidh.services import declarations, ledger, payments, refunds


def _paid_then_reduced(container, make_user):
    """A controlled (not green) declaration, paid in full, then amended to a lower value."""
    trader = make_user("trader")
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=random.Random(31)
        )
    assert decl.lane is not Lane.GREEN  # still amendable after payment: checks not done
    with container.uow() as uow:
        order = uow.payments.orders_for(decl.id)[0]
        payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                "TX-R1", order.reference, order.amount_iqd, container.clock.now()
            ),
        )
    with container.uow() as uow:
        declarations.amend(
            uow=uow,
            actor=trader,
            declaration_id=decl.id,
            content=content(items=[item(1, invoice_value=Decimal("500.00"))]),
            reason="invoice corrected downwards",
            rng=random.Random(2),
        )
    with container.uow() as uow:
        due = uow.declarations.latest_assessment(decl.id).total_due_iqd
    return decl, order.amount_iqd, due


def test_a_refund_is_posted_only_when_a_second_person_approves_it(container, make_user):
    decl, paid, due = _paid_then_reduced(container, make_user)
    first, second = make_user("finance"), make_user("finance")
    with container.uow() as uow:
        refund = refunds.propose(
            uow=uow, actor=first, declaration_ref=decl.reference, reason="reduced assessment"
        )
    assert refund.amount_iqd == paid - due
    with container.uow() as uow:
        assert ledger.trial_balance(uow=uow, actor=None).revenue == paid  # not yet
    with container.uow() as uow, pytest.raises(Forbidden, match="second person"):
        refunds.approve(uow=uow, actor=first, refund_id=refund.id, reason="ok")
    with container.uow() as uow, pytest.raises(ValidationFailed):
        refunds.propose(uow=uow, actor=first, declaration_ref=decl.reference, reason="again")
    with container.uow() as uow:
        refunds.approve(uow=uow, actor=second, refund_id=refund.id, reason="checked the invoice")
    with container.uow() as uow:
        tb = ledger.trial_balance(uow=uow, actor=None)
    assert tb.balanced
    assert tb.revenue == due
    assert tb.balances[Account.REFUNDS_PAYABLE] == -(paid - due)
    third = make_user("finance")
    with container.uow() as uow, pytest.raises(Conflict):
        refunds.approve(uow=uow, actor=third, refund_id=refund.id, reason="x")


def test_no_refund_without_a_reduced_assessment_or_by_a_trader(container, make_user):
    trader = make_user("trader")
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=random.Random(1)
        )
    finance = make_user("finance")
    with container.uow() as uow, pytest.raises(ValidationFailed, match="nothing to refund"):
        refunds.propose(uow=uow, actor=finance, declaration_ref=decl.reference, reason="x")
    with container.uow() as uow, pytest.raises(Forbidden):
        refunds.propose(uow=uow, actor=trader, declaration_ref=decl.reference, reason="x")
