"""Valuation control: reference values from cleared history raise flags, never change values."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from tests.factories import content, item

from manafidh.domain.errors import Forbidden
from manafidh.services import clearance, declarations, payments, valuation


def _cleared(container, trader, officer, value, origin="IR"):
    """Lodge, pay and release a one-line declaration of 30,000 kg of tiles worth ``value`` USD."""
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=[item(1, invoice_value=Decimal(value), origin_country=origin)]),
            rng=random.Random(1),
        )
    with container.uow() as uow:
        order = uow.payments.orders_for(decl.id)[-1]
    with container.uow() as uow:
        payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                f"TX-{decl.reference}", order.reference, order.amount_iqd, container.clock.now()
            ),
        )
    with container.uow() as uow:
        if uow.declarations.get(decl.id).state.value == "paid":
            clearance.release(uow=uow, actor=officer, declaration_id=decl.id)
    return decl


def test_a_line_far_below_the_cleared_median_is_flagged_and_its_value_kept(container, make_user):
    trader = make_user("trader")
    officer = make_user("officer", crossings=["SHL"])
    released = [
        _cleared(container, trader, officer, v)
        for v in ("1400.00", "1500.00", "1500.00", "1600.00", "1550.00", "1450.00")
    ]
    with container.uow() as uow:
        cleared = [uow.declarations.get(d.id).state.value for d in released]
        count = valuation.refresh_reference_values(uow=uow, actor=None)
    green = cleared.count("released")
    assert green >= 5, cleared  # the reference needs 5 cleared lines (valuation.min_sample)
    assert count == 1
    with container.uow() as uow:
        low = declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=[item(1, invoice_value=Decimal("500.00"))]),
            rng=random.Random(1),
        )
        fair = declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=[item(1, invoice_value=Decimal("1450.00"))]),
            rng=random.Random(1),
        )
    with container.uow() as uow:
        (flag,) = uow.valuation.flags_of(low.id)
        assert uow.valuation.flags_of(fair.id) == []
        a = uow.declarations.latest_assessment(low.id)
    assert flag["ratio"] < Decimal("0.5")
    assert "reference median" in flag["explanation"]
    # The declared value stands: 500 USD x 1310 plus its share of costs.
    assert a.lines[0].invoice_value == Decimal("500.00")
    assert a.customs_value_iqd == Decimal("500.00") * 1310 + Decimal("215.00") * 1310


def test_another_origin_has_no_reference_and_raises_no_flag(container, make_user):
    trader = make_user("trader")
    officer = make_user("officer", crossings=["SHL"])
    for v in ("1400.00", "1500.00", "1500.00", "1600.00", "1550.00", "1450.00"):
        _cleared(container, trader, officer, v)
    with container.uow() as uow:
        valuation.refresh_reference_values(uow=uow, actor=None)
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=[item(1, invoice_value=Decimal("100.00"), origin_country="TR")]),
            rng=random.Random(1),
        )
    with container.uow() as uow:
        assert uow.valuation.flags_of(decl.id) == []


def test_only_reference_managers_refresh_reference_values(container, make_user):
    analyst = make_user("analyst")
    with container.uow() as uow, pytest.raises(Forbidden):
        valuation.refresh_reference_values(uow=uow, actor=analyst)
