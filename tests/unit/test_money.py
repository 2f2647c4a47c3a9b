"""Exact money: rounding, minor units and allocation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manafidh.domain.money import Money, allocate, from_minor, round_money, to_minor

amounts = st.decimals(
    min_value=0, max_value=10**12, places=3, allow_nan=False, allow_infinity=False
)
weights = st.lists(
    st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=12,
)


def test_rounding_takes_halves_away_from_zero_on_the_fils():
    assert round_money(Decimal("1.0005"), 3) == Decimal("1.001")
    assert round_money(Decimal("1.0004999"), 3) == Decimal("1.000")
    assert round_money(Decimal("2.5"), 0) == Decimal("3")


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        Money("IQD", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        round_money(0.1, 3)  # type: ignore[arg-type]


def test_money_of_different_currencies_does_not_add():
    with pytest.raises(ValueError, match="cannot combine"):
        Money.iqd("1") + Money("USD", Decimal(1))


def test_minor_units_refuse_amounts_with_too_many_decimals():
    with pytest.raises(ValueError, match="decimal places"):
        to_minor(Decimal("1.0001"), 3)


@given(amounts)
def test_minor_units_round_trip(amount):
    assert from_minor(to_minor(amount, 3), 3) == amount


@given(amounts, weights)
def test_allocation_parts_always_sum_to_the_total(total, ws):
    parts = allocate(total, ws, 3)
    assert sum(parts, Decimal(0)) == round_money(total, 3)
    assert all(p >= 0 for p in parts)
    assert all(p == round_money(p, 3) for p in parts)


@given(amounts, weights)
def test_allocation_gives_each_part_its_share_within_one_fils(total, ws):
    parts = allocate(total, ws, 3)
    weight_sum = sum(ws, Decimal(0))
    for part, w in zip(parts, ws, strict=True):
        exact = total * w / weight_sum if weight_sum else total / len(ws)
        assert abs(part - exact) < Decimal("0.001")
