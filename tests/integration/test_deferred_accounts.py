"""Deferred-payment accounts: approved against a guarantee, charged, stated monthly, settled by
bank transfer through the reconciliation; refusals change nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tests.factories import content, item

from manafidh.adapters.db import tables as t
from manafidh.adapters.statements import digest, read_statement_file
from manafidh.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from manafidh.domain.identity import Role
from manafidh.domain.revenue.deferred import DeferredPaymentRefused
from manafidh.domain.revenue.ledger import Account
from manafidh.services import (
    declarations,
    deferred_accounts,
    identity,
    ledger,
    reconciliation,
    revenue_reports,
)
from manafidh.simulation.statements import Credit, csv_statement

HOLDER = "IQ-100200300"  # the factories' importer
NUMBER = "DPAIQ100200300"


def _holder(container):
    """A trader user carrying the account holder's tax id."""
    with container.uow() as uow:
        return identity.create_user(
            uow=uow, hasher=container.hasher, actor=None, username="holder",
            full_name="Holder", role=Role.TRADER, password="correct horse battery",
            crossings=[], tax_id=HOLDER,
        )  # fmt: skip


def _approve(container, finance, *, limit="100000000", valid_to=date(2026, 12, 31), **over):
    args = {
        "trader_tax_id": HOLDER,
        "trader_name": "Basra Building Supplies",
        "guarantee_reference": "LG-2026-0042",
        "guarantee_bank": "Rafidain Bank",
        "limit_iqd": Decimal(limit),
        "valid_from": date(2026, 1, 1),
        "valid_to": valid_to,
        "reason": "approved trader; guarantee verified with the issuing bank",
    } | over
    with container.uow() as uow:
        return deferred_accounts.approve(uow=uow, actor=finance, **args)


def _order(container, trader, value="1500.00", tax_id=HOLDER):
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", rng=random.Random(1),
            content=content(items=[item(1, invoice_value=Decimal(value))], importer_tax_id=tax_id),
        )  # fmt: skip
        return decl, uow.payments.orders_for(decl.id)[-1]


def _pay(container, actor, order, number=NUMBER):
    with container.uow() as uow:
        return deferred_accounts.pay_order(
            uow=uow, actor=actor, number=number, payment_reference=order.reference
        )


def _snapshot(container) -> dict[str, int]:
    tables = (t.payments, t.ledger_postings, t.ledger_lines, t.deferred_charges, t.receipts,
              t.audit_entries, t.deferred_statements, t.deferred_account_events)  # fmt: skip
    with container.engine.connect() as conn:
        counts = {
            x.name: conn.execute(select(func.count()).select_from(x)).scalar_one() for x in tables
        }
        counts["paid_orders"] = conn.execute(
            select(func.count()).where(t.payment_orders.c.state == "paid")
        ).scalar_one()
    return counts


def _books(container):
    with container.uow() as uow:
        return ledger.trial_balance(uow=uow, actor=None)


def test_an_order_paid_from_the_account_is_collected_and_the_truck_may_go(container, make_user):
    finance, trader = make_user("finance"), _holder(container)
    account = _approve(container, finance)
    assert account.number == NUMBER
    decl, order = _order(container, trader)
    charge = _pay(container, trader, order)
    assert charge.amount_iqd == order.amount_iqd
    with container.uow() as uow:
        after = uow.payments.order_by_reference(order.reference)
        assert after.state.value == "paid"
        assert uow.declarations.get(decl.id).settled
        assert uow.receipts.of_payment(f"{NUMBER}-{order.reference}") is not None
        view = deferred_accounts.account(uow=uow, actor=finance, number=NUMBER)
    assert view.balance_iqd == order.amount_iqd
    assert view.available_iqd == Decimal(100_000_000) - order.amount_iqd
    assert [(e["action"], e["actor"], e["reason"]) for e in view.events] == [
        ("approved", finance.id, "approved trader; guarantee verified with the issuing bank")
    ]
    tb = _books(container)
    assert tb.balanced
    assert tb.balances[Account.DEFERRED] == order.amount_iqd
    assert tb.balances.get(Account.RECEIVABLE, Decimal(0)) == 0
    with container.uow() as uow:  # collected at the crossing, as a bank payment would be
        r = revenue_reports.by_crossing_and_month(uow=uow, actor=None, year=2026)
    assert r.rows[0][3] == order.amount_iqd


def test_charges_beyond_the_limit_or_on_a_suspended_or_expired_account_change_nothing(
    container, make_user
):
    finance, trader = make_user("finance"), _holder(container)
    _, first = _order(container, trader, "1000.00")
    _, second = _order(container, trader, "1000.00")
    _approve(container, finance, limit=str(first.amount_iqd + second.amount_iqd - 1))
    _pay(container, trader, first)
    before = _snapshot(container)
    with pytest.raises(DeferredPaymentRefused, match="beyond the guaranteed limit"):
        _pay(container, trader, second)
    assert _snapshot(container) == before
    with container.uow() as uow:
        deferred_accounts.suspend(
            uow=uow, actor=finance, number=NUMBER, reason="guarantee under review by the bank"
        )
    with container.uow() as uow:  # the limit is raised by a new approval only: here, reinstate
        deferred_accounts.reinstate(uow=uow, actor=finance, number=NUMBER, reason="review done")
    with container.uow() as uow:
        deferred_accounts.suspend(uow=uow, actor=finance, number=NUMBER, reason="unpaid statement")
    _, third = _order(container, trader, "10.00")
    before = _snapshot(container)
    with pytest.raises(DeferredPaymentRefused, match="suspended"):
        _pay(container, trader, third)
    assert _snapshot(container) == before
    with container.uow() as uow:
        view = deferred_accounts.account(uow=uow, actor=finance, number=NUMBER)
    assert [e["action"] for e in view.events] == [
        "approved",
        "suspended",
        "reinstated",
        "suspended",
    ]


def test_an_expired_guarantee_another_importer_or_a_bad_reference_are_refused(container, make_user):
    finance, trader = make_user("finance"), _holder(container)
    _approve(container, finance, valid_to=date(2026, 3, 1))  # the clock is at 2026-03-15
    _, order = _order(container, trader)
    declarant = make_user("trader")  # names the holder as importer in its own declaration
    _, theirs = _order(container, declarant)
    before = _snapshot(container)
    with pytest.raises(DeferredPaymentRefused, match="valid from 2026-01-01 to 2026-03-01"):
        _pay(container, trader, order)
    _approve(container, finance, trader_tax_id="IQ-555000111")
    with pytest.raises(Forbidden, match="does not hold this account"):
        _pay(container, finance, order, number="DPAIQ555000111")
    with container.uow() as uow, pytest.raises(ValidationFailed):
        deferred_accounts.pay_order(
            uow=uow, actor=trader, number=NUMBER, payment_reference="RF00NOTAREFERENCE"
        )
    with pytest.raises(NotFound):
        _pay(container, trader, order, number="DPANOSUCH")
    with pytest.raises(Forbidden):  # the declarant is not the holder
        _pay(container, declarant, theirs)
    assert {k: v for k, v in _snapshot(container).items() if k != "audit_entries"} == {
        k: (v + 1 if k == "deferred_account_events" else v)
        for k, v in before.items()
        if k != "audit_entries"
    }  # only the second account's approval was recorded
    with pytest.raises(Conflict):
        _approve(container, finance)
    with pytest.raises(ValidationFailed, match="reason"):
        _approve(container, finance, trader_tax_id="IQ-1", reason=" ")
    with pytest.raises(Forbidden):
        _approve(container, trader, trader_tax_id="IQ-2")


def test_the_monthly_statement_is_settled_by_a_bank_transfer_matched_by_its_reference(
    container, make_user
):
    finance, trader = make_user("finance"), _holder(container)
    _approve(container, finance)
    orders = [_order(container, trader, v)[1] for v in ("1000.00", "2500.00")]
    for o in orders:
        _pay(container, trader, o)
    total = sum((o.amount_iqd for o in orders), Decimal(0))
    with container.uow() as uow, pytest.raises(ValidationFailed, match="month is over"):
        deferred_accounts.issue_statement(uow=uow, actor=finance, number=NUMBER, month="2026-03")
    container.clock.set(datetime(2026, 4, 2, 8, tzinfo=UTC))
    _, april = _order(container, trader, "100.00")  # April's charge is not on March's statement
    _pay(container, trader, april)
    with container.uow() as uow:
        view = deferred_accounts.issue_statement(
            uow=uow, actor=finance, number=NUMBER, month="2026-03"
        )
    st = view.statement
    assert st.amount_iqd == total
    assert sorted(c.order_reference for c in view.charges) == sorted(o.reference for o in orders)
    before = _snapshot(container)
    with container.uow() as uow:  # issued again: the same statement, nothing written
        again = deferred_accounts.issue_statement(
            uow=uow, actor=finance, number=NUMBER, month="2026-03"
        )
    assert again.statement.reference == st.reference
    assert _snapshot(container) == before
    day = date(2026, 4, 5)
    raw = csv_statement(
        "S-DPA-1", [Credit("BK-77", total + 5000, day, f"statement {st.reference}", True)]
    )
    with container.uow() as uow:
        result = reconciliation.import_statements(
            uow=uow, actor=finance, statements=read_statement_file(raw), digest=digest(raw)
        )
    assert dict(result.outcomes) == {"overpaid": 1}  # settled, and the excess held for the payer
    with container.uow() as uow:
        view = deferred_accounts.account(uow=uow, actor=finance, number=NUMBER)
        [x] = reconciliation.exceptions(uow=uow, actor=finance, state="open", kind=None)
    assert view.statements[0].settled
    assert view.balance_iqd == april.amount_iqd
    assert x.held_iqd == 5000
    tb = _books(container)
    assert tb.balanced
    assert tb.balances[Account.DEFERRED] == april.amount_iqd
    assert tb.balances[Account.BANK] == total + 5000
    assert tb.balances[Account.OVERPAYMENTS] == -5000
    before = _snapshot(container)
    with container.uow() as uow:  # re-importing the statement changes nothing
        reconciliation.import_statements(
            uow=uow, actor=finance, statements=read_statement_file(raw), digest=digest(raw)
        )
    assert _snapshot(container) == before
    officer = make_user("officer", crossings=["SHL"])
    with container.uow() as uow:
        deferred_accounts.statement(uow=uow, actor=finance, number=NUMBER, month="2026-03")
        with pytest.raises(NotFound):
            deferred_accounts.statement(uow=uow, actor=finance, number=NUMBER, month="2026-02")
        with pytest.raises(Forbidden):
            deferred_accounts.account(uow=uow, actor=officer, number=NUMBER)
