"""The revenue ledger through the real use cases, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.factories import content, item

from manafidh.adapters.db import tables as t
from manafidh.adapters.statements import digest, read_statement_file
from manafidh.domain.clock import local_date
from manafidh.domain.declarations.model import Item
from manafidh.domain.errors import Forbidden
from manafidh.domain.revenue.deferred import CHANNEL
from manafidh.domain.revenue.ledger import Account
from manafidh.services import declarations, deferred_accounts, ledger, payments, reconciliation
from manafidh.simulation.statements import Credit, csv_statement


def _submit(container, trader, values: list[Decimal]):
    items: list[Item] = [item(n, invoice_value=v) for n, v in enumerate(values, start=1)]
    with container.uow() as uow:
        return declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=items),
            rng=random.Random(1),
        )


def _pay(container, decl, amount: Decimal | None = None, tx: str | None = None):
    with container.uow() as uow:
        order = uow.payments.orders_for(decl.id)[-1]
    with container.uow() as uow:
        return payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                bank_transaction_id=tx or f"TX-{order.reference}",
                payment_reference=order.reference,
                amount_iqd=amount if amount is not None else order.amount_iqd,
                paid_at=container.clock.now(),
            ),
        )


def _raw_totals(container) -> dict[str, Decimal]:
    """Totals recomputed from the raw orders and payments tables (not from the ledger)."""
    o, p = t.payment_orders.c, t.payments.c
    with container.engine.connect() as conn:
        orders = conn.execute(select(o.id, o.state, o.amount_iqd)).all()
        paid: dict[str, Decimal] = {}
        for oid, amount in conn.execute(select(p.order_id, p.amount_iqd)):
            paid[oid] = paid.get(oid, Decimal(0)) + amount
        received = conn.execute(
            select(func.sum(p.amount_iqd)).where(p.channel != CHANNEL)
        ).scalar() or Decimal(0)
        charged = conn.execute(
            select(func.sum(p.amount_iqd)).where(p.channel == CHANNEL)
        ).scalar() or Decimal(0)
        transferred = conn.execute(
            select(func.sum(t.deferred_statements.c.settled_iqd))
        ).scalar() or Decimal(0)
        a = t.assessments.c
        latest: dict[str, tuple[int, Decimal]] = {}
        for did, version, due in conn.execute(
            select(a.declaration_id, a.version_number, a.total_due_iqd)
        ):
            if did not in latest or latest[did][0] < version:
                latest[did] = (version, due)
    z = Decimal(0)
    return {
        "outstanding": sum((max(a - paid.get(i, z), z) for i, s, a in orders if s == "open"), z),
        "revenue": sum((a for i, s, a in orders if s != "superseded"), z)
        + sum((min(paid.get(i, z), a) for i, s, a in orders if s == "superseded"), z),
        "received": received,
        "deferred_owed": charged - transferred,
        "transferred": transferred,
        "overpaid": sum((max(paid.get(i, z) - a, z) for i, s, a in orders), z),
        # What the latest assessment of every declaration asks for (no refund is due in
        # these scenarios: nothing is amended downwards after being paid).
        "assessed_latest": sum((due for _, due in latest.values()), z),
    }


def test_an_issued_order_is_receivable_and_its_payment_collects_it(container, make_user):
    trader = make_user("trader")
    decl = _submit(container, trader, [Decimal("1500.00")])
    with container.uow() as uow:
        order = uow.payments.orders_for(decl.id)[0]
        tb = ledger.trial_balance(uow=uow, actor=None)
    assert tb.balances[Account.RECEIVABLE] == order.amount_iqd
    assert tb.revenue == order.amount_iqd
    _pay(container, decl)
    with container.uow() as uow:
        tb = ledger.trial_balance(uow=uow, actor=None)
        kinds = [p.kind.value for p in uow.ledger.postings(declaration_id=decl.id)]
    assert tb.balanced
    assert tb.balances[Account.RECEIVABLE] == 0
    assert tb.balances[Account.BANK_UNRECONCILED] == order.amount_iqd
    assert kinds == ["assessed", "collected"]


def test_a_repeated_bank_callback_is_not_collected_twice(container, make_user):
    trader = make_user("trader")
    decl = _submit(container, trader, [Decimal("1500.00")])
    _pay(container, decl, tx="TX-1")
    assert _pay(container, decl, tx="TX-1").duplicate
    with container.uow() as uow:
        assert len(uow.ledger.postings(declaration_id=decl.id)) == 2


def test_traders_and_officers_may_not_read_the_books(container, make_user):
    for user in (make_user("trader"), make_user("officer", crossings=["SHL"])):
        with container.uow() as uow, pytest.raises(Forbidden):
            ledger.trial_balance(uow=uow, actor=user)
    finance = make_user("finance")
    with container.uow() as uow:
        assert ledger.trial_balance(uow=uow, actor=finance).balanced


values = st.lists(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("90000"), places=2),
    min_size=1,
    max_size=3,
)
actions = st.lists(
    st.tuples(
        values,
        st.sampled_from(
            ["none", "full", "part", "over", "amend_up", "amend_down", "part_amend", "deferred"]
        ),
        st.decimals(min_value=Decimal("0.1"), max_value=Decimal("0.9"), places=2),
    ),
    min_size=1,
    max_size=4,
)


DEFERRED = "DPAIQ100200300"  # the account of the factories' importer


def _deferred_account(container) -> None:
    """The importer's deferred-payment account (once: examples share the database)."""
    with container.uow() as uow:
        if uow.deferred.get(DEFERRED) is not None:
            return
    with container.uow() as uow:
        deferred_accounts.approve(
            uow=uow, actor=None, trader_tax_id="IQ-100200300", trader_name="Importer",
            guarantee_reference="LG-1", guarantee_bank="Rafidain Bank",
            limit_iqd=Decimal("1e12"), valid_from=date(2020, 1, 1), valid_to=date(2040, 1, 1),
            reason="property test",
        )  # fmt: skip


def _settle_the_month(container) -> None:
    """State this month's charges once it is over and settle them by bank transfer."""
    month = f"{local_date(container.clock.now()):%Y-%m}"
    container.clock.advance(timedelta(days=32))
    with container.uow() as uow:
        if not uow.deferred.charges(DEFERRED, month):
            return
    with container.uow() as uow:
        st = deferred_accounts.issue_statement(
            uow=uow, actor=None, number=DEFERRED, month=month
        ).statement
    day = local_date(container.clock.now())
    raw = csv_statement(
        f"S-{uuid.uuid4().hex[:12]}",
        [Credit(f"BK-{uuid.uuid4().hex[:12]}", st.amount_iqd, day, st.reference, True)],
    )
    with container.uow() as uow:
        reconciliation.import_statements(
            uow=uow, actor=None, statements=read_statement_file(raw), digest=digest(raw)
        )


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions)
def test_the_books_always_balance_and_agree_with_raw_declarations_and_payments(
    container, make_user, steps
):
    trader = make_user("trader")
    _deferred_account(container)
    for vals, what, share in steps:
        container.clock.advance(timedelta(minutes=7))
        decl = _submit(container, trader, vals)
        with container.uow() as uow:
            order = uow.payments.orders_for(decl.id)[-1]
        due = order.amount_iqd
        if what == "full":
            _pay(container, decl)
        elif what == "deferred":  # paid from the importer's guaranteed account
            with container.uow() as uow:
                deferred_accounts.pay_order(
                    uow=uow, actor=None, number=DEFERRED, payment_reference=order.reference
                )
        elif what == "part" or what == "part_amend":
            _pay(container, decl, (due * share).quantize(Decimal("0.001")) or Decimal("0.001"))
        elif what == "over":
            _pay(container, decl, due + Decimal("1000"))
        if what in ("amend_up", "amend_down", "part_amend"):
            factor = Decimal("1.5") if what != "amend_down" else Decimal("0.5")
            new = content(
                items=[
                    item(n, invoice_value=(v * factor).quantize(Decimal("0.01")))
                    for n, v in enumerate(vals, 1)
                ]
            )
            with container.uow() as uow:
                declarations.amend(
                    uow=uow,
                    actor=trader,
                    declaration_id=decl.id,
                    content=new,
                    reason="corrected invoice",
                    rng=random.Random(2),
                )
    _settle_the_month(container)
    with container.uow() as uow:
        tb = ledger.trial_balance(uow=uow, actor=None)
    raw = _raw_totals(container)
    b = tb.balances
    assert tb.balanced
    assert b.get(Account.DEFERRED, Decimal(0)) == raw["deferred_owed"] == 0
    assert b.get(Account.BANK, Decimal(0)) == raw["transferred"]
    assert b.get(Account.RECEIVABLE, Decimal(0)) == raw["outstanding"]
    assert tb.revenue == raw["revenue"] == raw["assessed_latest"]
    assert b.get(Account.BANK_UNRECONCILED, Decimal(0)) == raw["received"]
    assert -b.get(Account.OVERPAYMENTS, Decimal(0)) == raw["overpaid"]


def test_a_posting_with_two_lines_on_one_account_moves_its_day_once_by_their_sum(container):
    # Guards the queued daily upsert: sent as one multi-row INSERT ... ON CONFLICT, two rows
    # for one account would fail on PostgreSQL ("cannot affect row a second time").
    from datetime import UTC, datetime

    from manafidh.domain.revenue.ledger import Kind, Line, Posting

    at = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
    posting = Posting(
        key="test:two-lines-one-account",
        kind=Kind.COLLECTED,
        at=at,
        crossing_code="SHL",
        actor="finance",
        lines=(
            Line(Account.BANK, Decimal("100.000")),
            Line(Account.BANK, Decimal("50.000")),
            Line(Account.RECEIVABLE, Decimal("-150.000")),
        ),
    )
    with container.uow() as uow:
        uow.ledger.add(posting)
        uow.commit()
    with container.uow(readonly=True) as uow:
        day = local_date(at)
        moved = {r[0]: r[4] for r in uow.ledger.daily(since=day, until=day, crossing_code="SHL")}
    assert moved == {Account.BANK: Decimal("150.000"), Account.RECEIVABLE: Decimal("-150.000")}


def test_a_posting_key_already_in_the_books_adds_no_lines_and_moves_no_day(container):
    # The lines and the day's movements go with the posting in queued statements that read no
    # answer: they must be written for a new key only, whether the key came earlier in the same
    # transaction or in another one.
    from datetime import UTC, datetime

    from manafidh.domain.revenue.ledger import Kind, Line, Posting

    at = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)

    def posting(amount: str) -> Posting:
        return Posting(
            key="test:once",
            kind=Kind.COLLECTED,
            at=at,
            crossing_code="SHL",
            actor="finance",
            lines=(
                Line(Account.BANK, Decimal(amount)),
                Line(Account.RECEIVABLE, -Decimal(amount)),
            ),
        )

    with container.uow() as uow:
        uow.ledger.add(posting("100.000"))
        uow.ledger.add(posting("7.000"))  # same key, same transaction
        uow.commit()
    with container.uow() as uow:
        uow.ledger.add(posting("9.000"))  # same key, later transaction
        uow.commit()
    with container.uow(readonly=True) as uow:
        (kept,) = uow.ledger.postings()
        day = local_date(at)
        moved = {r[0]: r[4] for r in uow.ledger.daily(since=day, until=day, crossing_code="SHL")}
        balances = uow.ledger.balances()
    assert [line.amount for line in kept.lines] == [Decimal("100.000"), Decimal("-100.000")]
    assert moved == {Account.BANK: Decimal("100.000"), Account.RECEIVABLE: Decimal("-100.000")}
    assert balances == {Account.BANK: Decimal("100.000"), Account.RECEIVABLE: Decimal("-100.000")}
