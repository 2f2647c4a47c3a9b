"""The revenue ledger's rules: every posting balances, and the books agree with the orders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manafidh.domain.errors import ValidationFailed
from manafidh.domain.payments.orders import OrderState, Payment, PaymentOrder
from manafidh.domain.revenue import ledger as L
from manafidh.domain.revenue.ledger import Account, Kind, Ledger, Line, Posting

AT = datetime(2026, 3, 15, 6, tzinfo=UTC)
fils = st.integers(min_value=1, max_value=10**12).map(lambda n: Decimal(n).scaleb(-3))


def posting(key: str, lines: tuple[Line, ...], kind: Kind = Kind.ASSESSED) -> Posting:
    return Posting(key=key, kind=kind, at=AT, crossing_code="SHL", actor="t", lines=lines)


def test_an_unbalanced_posting_is_refused():
    with pytest.raises(ValidationFailed, match="balance"):
        posting("k", (Line(Account.BANK, Decimal("10.000")), Line(Account.DUTY, Decimal("-9"))))


def test_a_posting_in_fractions_of_a_fils_or_on_an_unknown_account_is_refused():
    with pytest.raises(ValidationFailed, match="whole fils"):
        posting(
            "k", (Line(Account.BANK, Decimal("0.0005")), Line(Account.DUTY, Decimal("-0.0005")))
        )
    with pytest.raises(ValidationFailed, match="unknown account"):
        posting("k", (Line("assets:cash", Decimal(1)), Line(Account.DUTY, Decimal(-1))))


def test_each_tax_and_levy_has_its_own_revenue_account():
    lines = L.assessed({Account.DUTY: Decimal("100"), L.revenue("tax", "sales"): Decimal("20")})
    books = Ledger([posting("a", lines)])
    assert books.balance(Account.RECEIVABLE) == Decimal("120")
    assert books.balance("revenue:tax:SALES") == Decimal("-20")
    assert books.revenue() == Decimal("120")


def test_the_same_key_counts_once():
    books = Ledger()
    p = posting("order:1:assessed", L.assessed({Account.DUTY: Decimal("5")}))
    assert books.post(p) is True
    assert books.post(p) is False
    assert books.balance(Account.RECEIVABLE) == Decimal("5")


def test_an_overpayment_is_held_for_the_payer_not_taken_as_revenue():
    lines = L.collected(into=Account.BANK, amount=Decimal("150"), outstanding=Decimal("100"))
    books = Ledger([posting("a", L.assessed({Account.DUTY: Decimal("100")})), posting("p", lines)])
    assert books.balance(Account.RECEIVABLE) == 0
    assert books.balance(Account.OVERPAYMENTS) == Decimal("-50")
    assert books.revenue() == Decimal("100")


# -- the property: random traffic through orders, payments, statements --------------------------
ops = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), fils),
        st.tuples(st.just("amend"), st.integers(0, 20), fils | st.just(Decimal(0))),
        st.tuples(st.just("callback"), st.integers(0, 20), fils),
        st.tuples(st.just("statement"), st.integers(0, 20), fils),
        st.tuples(st.just("reconcile"), st.integers(0, 40), st.just(Decimal(0))),
        st.tuples(st.just("unknown"), st.integers(0, 20), fils),
        st.tuples(st.just("return"), st.integers(0, 20), st.just(Decimal(0))),
    ),
    max_size=60,
)


class Model:
    """Declarations' orders and payments, posted the way the services post them."""

    def __init__(self) -> None:
        self.books = Ledger()
        self.orders: dict[int, list[PaymentOrder]] = {}
        self.unreconciled: list[Payment] = []
        self.suspense: list[Decimal] = []
        self.received: Decimal = Decimal(0)
        self.returned: Decimal = Decimal(0)
        self.n = 0

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    def issue(self, decl: int, amount: Decimal) -> None:
        order = PaymentOrder(f"o{self.n}", f"RF{self.n}", str(decl), amount, AT)
        self.orders.setdefault(decl, []).append(order)
        self.books.post(posting(self.key(), L.assessed({Account.DUTY: amount})))

    def amend(self, decl: int, total: Decimal) -> None:
        orders = self.orders.get(decl, [])
        paid = sum((o.paid_iqd for o in orders), Decimal(0))
        for o in orders:
            if o.state is OrderState.OPEN:
                o.state = OrderState.SUPERSEDED
                if o.outstanding_iqd > 0:
                    self.books.post(
                        posting(self.key(), L.reversed_({Account.DUTY: o.outstanding_iqd}))
                    )
        if total - paid > 0:
            self.issue(decl, total - paid)

    def pay(self, decl: int, amount: Decimal, into: str) -> None:
        open_ = [o for o in self.orders.get(decl, []) if o.state is OrderState.OPEN]
        if not open_:
            return
        o = open_[-1]
        before = o.outstanding_iqd
        p = Payment(self.key(), amount, AT, AT)
        o.receive(p)
        self.received += amount
        self.books.post(
            posting(self.key(), L.collected(into=into, amount=amount, outstanding=before))
        )
        if into == Account.BANK_UNRECONCILED:
            self.unreconciled.append(p)

    def run(self, op: tuple) -> None:
        name, a, *rest = op
        b = rest[0] if rest else None
        if name == "issue":
            self.issue(len(self.orders), a)
        elif name == "amend":
            self.amend(a, b)
        elif name == "callback":
            self.pay(a, b, Account.BANK_UNRECONCILED)
        elif name == "statement":
            self.pay(a, b, Account.BANK)
        elif name == "reconcile" and self.unreconciled:
            p = self.unreconciled.pop(a % len(self.unreconciled))
            self.books.post(posting(self.key(), L.reconciled(p.amount_iqd)))
        elif name == "unknown":
            self.suspense.append(b)
            self.received += b
            self.books.post(posting(self.key(), L.unallocated(b)))
        elif name == "return" and self.suspense:
            amount = self.suspense.pop(a % len(self.suspense))
            self.returned += amount
            self.books.post(
                posting(self.key(), L.returned(amount=amount, held_in=Account.SUSPENSE))
            )


@settings(max_examples=300, deadline=None)
@given(ops)
def test_the_books_balance_and_agree_with_orders_and_payments(steps):
    m = Model()
    for op in steps:
        m.run(op)
    b = m.books
    assert b.total() == 0
    every = [o for orders in m.orders.values() for o in orders]
    # Receivables are exactly what open orders still ask for.
    outstanding = sum((o.outstanding_iqd for o in every if o.state is OrderState.OPEN), Decimal(0))
    assert b.balance(Account.RECEIVABLE) == outstanding
    # Revenue: what live orders assess, plus what was paid on orders later replaced.
    live = sum((o.amount_iqd for o in every if o.state is not OrderState.SUPERSEDED), Decimal(0))
    paid_on_replaced = sum(
        (min(o.paid_iqd, o.amount_iqd) for o in every if o.state is OrderState.SUPERSEDED),
        Decimal(0),
    )
    assert b.revenue() == live + paid_on_replaced
    # Every dinar received is in the bank (reconciled or not) unless it was sent back.
    bank = b.balance(Account.BANK) + b.balance(Account.BANK_UNRECONCILED)
    assert bank == m.received - m.returned
    # Overpayments are what orders received beyond what they asked for.
    over = sum((max(o.paid_iqd - o.amount_iqd, Decimal(0)) for o in every), Decimal(0))
    assert -b.balance(Account.OVERPAYMENTS) == over
    assert -b.balance(Account.SUSPENSE) == sum(m.suspense, Decimal(0))
