"""Bank reconciliation through the use cases, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tests.factories import content, item

from manafidh.adapters.db import tables as t
from manafidh.adapters.statements import digest, read_statement_file
from manafidh.domain.clock import local_date
from manafidh.domain.declarations.states import State
from manafidh.domain.errors import Forbidden, NotFound, ValidationFailed
from manafidh.domain.revenue.ledger import Account
from manafidh.domain.revenue.statements import Resolution
from manafidh.services import declarations, ledger, payments, reconciliation
from manafidh.simulation.statements import (
    Credit,
    Noise,
    OrderToPay,
    camt053,
    csv_statement,
    month_of_statements,
)


@pytest.fixture
def finance(make_user):
    return make_user("finance")


def _order(container, trader, value: str = "1500.00"):
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=[item(1, invoice_value=Decimal(value))]),
            rng=random.Random(1),
        )
    with container.uow() as uow:
        return decl, uow.payments.orders_for(decl.id)[-1]


def _import(container, actor, raw: bytes):
    with container.uow() as uow:
        return reconciliation.import_statements(
            uow=uow, actor=actor, statements=read_statement_file(raw), digest=digest(raw)
        )


def _books(container):
    with container.uow() as uow:
        return ledger.trial_balance(uow=uow, actor=None)


def _day(container):
    return local_date(container.clock.now())


def _counts(container) -> tuple[int, ...]:
    with container.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(tb)).scalar_one()
            for tb in (
                t.bank_statements,
                t.statement_entries,
                t.reconciliation_exceptions,
                t.ledger_postings,
                t.payments,
                t.audit_entries,
            )
        )


def test_a_matched_credit_collects_the_order_and_settles_the_declaration(
    container, make_user, finance
):
    decl, order = _order(container, make_user("trader"))
    raw = camt053(
        "S1",
        _day(container),
        [Credit("B1", order.amount_iqd, _day(container), order.reference, True)],
    )
    result = _import(container, finance, raw)
    assert dict(result.outcomes) == {"matched": 1}
    with container.uow() as uow:
        assert uow.declarations.get(decl.id).state is State.PAID
    books = _books(container)
    assert books.balanced
    assert books.balances[Account.BANK] == order.amount_iqd
    assert books.balances[Account.RECEIVABLE] == 0


def test_reimporting_a_statement_changes_nothing(container, make_user, finance):
    _, order = _order(container, make_user("trader"))
    day = _day(container)
    raw = camt053("S1", day, [Credit("B1", order.amount_iqd, day, order.reference, True)])
    _import(container, finance, raw)
    before = _counts(container)
    again = _import(container, finance, raw)
    assert not again.changed
    assert again.known_entries == 1
    # The same statement as CSV: same statement id and bank references, so nothing new either.
    assert not _import(container, finance, csv_statement("S1", read_credits(raw))).changed
    assert _counts(container) == before


def read_credits(raw: bytes) -> list[Credit]:
    [st] = read_statement_file(raw)
    return [
        Credit(e.entry_ref, e.amount_iqd, e.booking_date, e.remittance, False, e.credit)
        for e in st.entries
    ]


def test_a_callback_payment_is_reconciled_when_the_statement_lists_it(
    container, make_user, finance
):
    _, order = _order(container, make_user("trader"))
    with container.uow() as uow:
        payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                "B77", order.reference, order.amount_iqd, container.clock.now()
            ),
        )
    assert _books(container).balances[Account.BANK_UNRECONCILED] == order.amount_iqd
    day = _day(container)
    result = _import(
        container,
        finance,
        camt053("S1", day, [Credit("B77", order.amount_iqd, day, order.reference, True)]),
    )
    assert dict(result.outcomes) == {"reconciled": 1}
    books = _books(container)
    assert books.balances[Account.BANK_UNRECONCILED] == 0
    assert books.balances[Account.BANK] == order.amount_iqd
    assert books.revenue == order.amount_iqd  # collected once, not twice


def test_a_split_payment_opens_a_partial_exception_that_the_balance_closes(
    container, make_user, finance
):
    decl, order = _order(container, make_user("trader"))
    day = _day(container)
    first = (order.amount_iqd / 3).quantize(Decimal("0.001"))
    _import(
        container, finance, camt053("S1", day, [Credit("B1", first, day, order.reference, True)])
    )
    with container.uow() as uow:
        [x] = reconciliation.exceptions(uow=uow, actor=finance)
        assert x.kind.value == "partial"
        assert uow.declarations.get(decl.id).state is State.LANE_SELECTED
    rest = order.amount_iqd - first
    _import(
        container, finance, camt053("S2", day, [Credit("B2", rest, day, order.reference, True)])
    )
    with container.uow() as uow:
        assert reconciliation.exceptions(uow=uow, actor=finance) == []
        [x] = reconciliation.exceptions(uow=uow, actor=finance, state="resolved")
        assert x.resolution is Resolution.SETTLED
        assert uow.declarations.get(decl.id).state is State.PAID
        assert reconciliation.summary(uow=uow, actor=finance).auto_match_rate == 1.0


def test_an_unidentified_credit_waits_in_suspense_until_an_officer_allocates_it(
    container, make_user, finance
):
    decl, order = _order(container, make_user("trader"))
    day = _day(container)
    mistyped = order.reference[:-1] + str((int(order.reference[-1]) + 3) % 10)
    _import(
        container,
        finance,
        camt053("S1", day, [Credit("B1", order.amount_iqd, day, f"duty {mistyped}", False)]),
    )
    assert _books(container).balances[Account.SUSPENSE] == -order.amount_iqd
    with container.uow() as uow:
        [x] = reconciliation.exceptions(uow=uow, actor=finance)
    assert x.kind.value == "unmatched"
    before = _counts(container)
    for bad in (
        {"resolution": Resolution.ALLOCATE, "reason": " ", "order_reference": order.reference},
        {"resolution": Resolution.ALLOCATE, "reason": "called payer", "order_reference": mistyped},
        {"resolution": Resolution.SETTLED, "reason": "x"},
    ):
        with container.uow() as uow, pytest.raises(ValidationFailed):
            reconciliation.resolve_exception(uow=uow, actor=finance, exception_id=x.id, **bad)
    with container.uow() as uow, pytest.raises(NotFound):
        reconciliation.resolve_exception(
            uow=uow, actor=finance, exception_id=999, resolution=Resolution.ACCEPT, reason="x"
        )
    analyst = make_user("analyst")
    with container.uow() as uow, pytest.raises(Forbidden):
        reconciliation.resolve_exception(
            uow=uow,
            actor=analyst,
            exception_id=x.id,
            resolution=Resolution.ACCEPT,
            reason="x",
        )
    assert _counts(container)[:5] == before[:5]
    with container.uow() as uow:
        done = reconciliation.resolve_exception(
            uow=uow,
            actor=finance,
            exception_id=x.id,
            resolution=Resolution.ALLOCATE,
            reason="payer's bank confirmed the reference by phone",
            order_reference=order.reference,
        )
    assert (done.resolved_by, done.resolution) == (finance.id, Resolution.ALLOCATE)
    books = _books(container)
    assert books.balances[Account.SUSPENSE] == 0
    assert books.balances[Account.RECEIVABLE] == 0
    with container.uow() as uow:
        assert uow.declarations.get(decl.id).state is State.PAID
        entries = uow.audit.entries(
            subject=f"reconciliation_exception:{x.id}",
            actor=None,
            action=None,
            since=None,
            until=None,
            limit=5,
            offset=0,
        )
    assert [json.loads(e.payload)["reason"] for e in entries] == [
        "payer's bank confirmed the reference by phone"
    ]


def test_a_second_payment_of_a_paid_order_is_held_and_can_be_returned(
    container, make_user, finance
):
    _, order = _order(container, make_user("trader"))
    day = _day(container)
    twice = [
        Credit("B1", order.amount_iqd, day, order.reference, True),
        Credit("B2", order.amount_iqd, day, order.reference, True),
    ]
    result = _import(container, finance, camt053("S1", day, twice))
    assert dict(result.outcomes) == {"matched": 1, "duplicate": 1}
    books = _books(container)
    assert books.revenue == order.amount_iqd
    assert books.balances[Account.OVERPAYMENTS] == -order.amount_iqd
    with container.uow() as uow:
        [x] = reconciliation.exceptions(uow=uow, actor=finance)
        reconciliation.resolve_exception(
            uow=uow,
            actor=finance,
            exception_id=x.id,
            resolution=Resolution.RETURN,
            reason="paid twice by the broker; returned to the paying account",
        )
    books = _books(container)
    assert books.balances[Account.OVERPAYMENTS] == 0
    assert books.balances[Account.BANK] == order.amount_iqd


def test_a_trader_may_not_import_statements_and_a_bad_file_changes_nothing(
    container, make_user, finance
):
    trader = make_user("trader")
    _, order = _order(container, trader)
    day = _day(container)
    raw = camt053("S1", day, [Credit("B1", order.amount_iqd, day, order.reference, True)])
    before = _counts(container)
    with pytest.raises(Forbidden):
        _import(container, trader, raw)
    with pytest.raises(ValidationFailed):
        _import(container, finance, raw.replace(b"</Document>", b""))
    assert _counts(container) == before


def test_a_simulated_month_of_statements_reconciles_automatically_and_counts_nothing_twice(
    container, make_user, finance
):
    trader = make_user("trader")
    rng = random.Random(11)
    orders: list[OrderToPay] = []
    start = container.clock.now()
    for n in range(240):
        container.clock.set(start + timedelta(hours=3 * n))
        _, order = _order(container, trader, f"{rng.randint(200, 9000)}.00")
        tx = None
        if n % 5 == 0:  # a fifth of payers' banks announce the payment by callback first
            tx = f"NBIQCB{n:06d}"
            with container.uow() as uow:
                payments.confirm_bank_payment(
                    uow=uow,
                    confirmation=payments.Confirmation(
                        tx, order.reference, order.amount_iqd, container.clock.now()
                    ),
                )
        orders.append(OrderToPay(order.reference, order.amount_iqd, _day(container), tx))
    noise = Noise(
        missing_reference=0.004,
        mistyped_reference=0.004,
        split=0.05,
        paid_twice=0.004,
        listed_again=0.03,
        late=0.1,
    )
    files, truth = month_of_statements(orders, rng=rng, noise=noise)
    container.clock.advance(timedelta(days=25))
    for _, raw in files:
        _import(container, finance, raw)
    with container.uow() as uow:
        s = reconciliation.summary(uow=uow, actor=finance)
        queue = reconciliation.exceptions(uow=uow, actor=finance)
    kinds: dict[str, int] = {}
    for x in queue:
        kinds[x.kind.value] = kinds.get(x.kind.value, 0) + 1
    assert kinds == truth.exceptions
    assert s.outcomes.get("repeat", 0) == truth.repeats > 0
    assert s.outcomes.get("partial", 0) == truth.splits > 0
    assert s.auto_match_rate >= 0.99
    books = _books(container)
    assert books.balanced
    # Nothing counted twice: the bank holds each distinct credit once; revenue is what the
    # orders assessed; the callback payments were all reconciled.
    assert books.balances[Account.BANK] == truth.total_credited
    assert books.balances[Account.BANK_UNRECONCILED] == 0
    assert books.revenue == sum(o.amount_iqd for o in orders)
    unmatched = sum(x.amount_iqd for x in queue if x.kind.value == "unmatched")
    assert books.balances[Account.RECEIVABLE] == unmatched
    # Importing the whole month again changes nothing.
    before = _counts(container)
    for _, raw in files:
        assert not _import(container, finance, raw).changed
    assert _counts(container) == before
