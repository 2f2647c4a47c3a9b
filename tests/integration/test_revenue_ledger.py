"""The revenue ledger through the real use cases, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.factories import content, item

from manafidh.adapters.db import tables as t
from manafidh.domain.declarations.model import Item
from manafidh.domain.errors import Forbidden
from manafidh.domain.revenue.ledger import Account
from manafidh.services import declarations, ledger, payments


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
        received = conn.execute(select(func.sum(p.amount_iqd))).scalar() or Decimal(0)
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
        st.sampled_from(["none", "full", "part", "over", "amend_up", "amend_down", "part_amend"]),
        st.decimals(min_value=Decimal("0.1"), max_value=Decimal("0.9"), places=2),
    ),
    min_size=1,
    max_size=4,
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
    for vals, what, share in steps:
        container.clock.advance(timedelta(minutes=7))
        decl = _submit(container, trader, vals)
        with container.uow() as uow:
            order = uow.payments.orders_for(decl.id)[-1]
        due = order.amount_iqd
        if what == "full":
            _pay(container, decl)
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
    with container.uow() as uow:
        tb = ledger.trial_balance(uow=uow, actor=None)
    raw = _raw_totals(container)
    b = tb.balances
    assert tb.balanced
    assert b.get(Account.RECEIVABLE, Decimal(0)) == raw["outstanding"]
    assert tb.revenue == raw["revenue"] == raw["assessed_latest"]
    assert b.get(Account.BANK_UNRECONCILED, Decimal(0)) == raw["received"]
    assert -b.get(Account.OVERPAYMENTS, Decimal(0)) == raw["overpaid"]
