"""Reading camt.053 and CSV statements, finding references, and deciding what a credit is."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from manafidh.adapters.statements import read_statement_file
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.payments.orders import OrderState, creditor_reference
from manafidh.domain.revenue.statements import (
    EarlierPayment,
    OrderView,
    Outcome,
    StatementEntry,
    decide,
    find_reference,
)
from manafidh.simulation.statements import (
    Credit,
    OrderToPay,
    bank_credits,
    camt053,
    csv_statement,
)

REF = creditor_reference("SHL2026000123P01")
DAY = date(2026, 3, 15)


def entries() -> list[Credit]:
    return [
        Credit("NBIQ1", Decimal("1500000.000"), DAY, REF, structured=True),
        Credit("NBIQ2", Decimal("99.500"), DAY, f"duty {REF[:4]} {REF[4:8]} {REF[8:]}", False),
        Credit("NBIQ3", Decimal("2500.000"), DAY, "account fee", False, credit=False),
    ]


def test_a_camt053_statement_reads_into_entries_with_their_references():
    [st] = read_statement_file(camt053("STMT-1", DAY, entries()))
    assert st.statement_id == "STMT-1"
    assert st.format == "camt.053"
    assert [e.entry_ref for e in st.entries] == ["NBIQ1", "NBIQ2", "NBIQ3"]
    assert st.entries[0].amount_iqd == Decimal("1500000.000")
    assert [find_reference(e.remittance) for e in st.entries] == [REF, REF, None]
    assert [e.credit for e in st.entries] == [True, True, False]


def test_the_csv_layout_reads_the_same_entries():
    [st] = read_statement_file(csv_statement("STMT-1", entries()))
    [xml] = read_statement_file(camt053("STMT-1", DAY, entries()))
    assert st.entries == xml.entries
    assert st.format == "csv"


def test_a_mistyped_reference_is_not_taken_for_another():
    wrong = REF[:-1] + str((int(REF[-1]) + 1) % 10)
    assert find_reference(f"payment {wrong}") is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"<Document><broken>", "not well-formed"),
        (b"<Document xmlns='urn:other'/>", "not a camt.053"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            b'"&lol;&lol;&lol;&lol;">]><Document>&lol2;</Document>',
            "safe XML",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<Document>&x;</Document>",
            "safe XML",
        ),
        (b"statement_id,account\nS,IQ\n", "lacks columns"),
    ],
    ids=["truncated", "other-message", "billion-laughs", "external-entity", "csv-columns"],
)
def test_a_malformed_or_hostile_statement_is_refused_with_a_reason(raw, message):
    with pytest.raises(ValidationFailed, match=message):
        read_statement_file(raw)


def test_an_entry_in_another_currency_or_without_a_bank_reference_is_refused():
    xml = camt053("S", DAY, entries()).replace(b'Ccy="IQD">1500000', b'Ccy="USD">1500000')
    with pytest.raises(ValidationFailed, match="only IQD"):
        read_statement_file(xml)
    xml = camt053("S", DAY, entries()).replace(b"NBIQ1", b"")
    with pytest.raises(ValidationFailed, match="reference"):
        read_statement_file(xml)


def _entry(amount: str, credit: bool = True) -> StatementEntry:
    return StatementEntry("E1", Decimal(amount), credit, DAY, DAY, REF)


OPEN_100 = OrderView(OrderState.OPEN, Decimal("100"))


@pytest.mark.parametrize(
    ("amount", "order", "outcome", "applied", "held"),
    [
        ("100", OPEN_100, Outcome.MATCHED, "100", "0"),
        ("40", OPEN_100, Outcome.PARTIAL, "40", "0"),
        ("130", OPEN_100, Outcome.OVERPAID, "100", "30"),
        ("100", OrderView(OrderState.PAID, Decimal(0)), Outcome.DUPLICATE, "0", "100"),
        ("100", OrderView(OrderState.SUPERSEDED, Decimal(0)), Outcome.SUPERSEDED, "0", "100"),
        ("100", None, Outcome.UNKNOWN_REFERENCE, "0", "100"),
    ],
)
def test_a_credit_is_matched_by_reference_and_amount(amount, order, outcome, applied, held):
    d = decide(_entry(amount), reference=REF, order=order, earlier=None, seen_before=False)
    assert (d.outcome, d.applied_iqd, d.held_iqd) == (outcome, Decimal(applied), Decimal(held))


def test_a_credit_the_callback_announced_is_reconciled_and_a_listing_again_counts_nothing():
    announced = EarlierPayment(Decimal("100"), REF, announced_only=True)
    d = decide(_entry("100"), reference=REF, order=OPEN_100, earlier=announced, seen_before=False)
    assert d.outcome is Outcome.RECONCILED
    d = decide(_entry("90"), reference=REF, order=OPEN_100, earlier=announced, seen_before=False)
    assert d.outcome is Outcome.CALLBACK_MISMATCH
    d = decide(_entry("100"), reference=REF, order=OPEN_100, earlier=None, seen_before=True)
    assert d.outcome is Outcome.REPEAT
    d = decide(_entry("100"), reference=None, order=None, earlier=None, seen_before=False)
    assert (d.outcome, d.held_iqd) == (Outcome.UNMATCHED, Decimal("100"))


def test_the_generator_makes_the_noise_it_promises():
    orders = [
        OrderToPay(creditor_reference(f"SHL2026{n:06d}P01"), Decimal("1000.000"), DAY)
        for n in range(1000)
    ]
    credits, truth = bank_credits(orders, rng=random.Random(3))
    paid = [c for c in credits if c.credit]
    assert len(paid) == truth.credits == 1000 + 20 + 2  # splits add 20, payers-twice 2
    assert truth.exceptions == {"unmatched": 5, "duplicate": 2}
    assert sum(1 for c in paid if find_reference(c.remittance) is None) == 5
