"""Duty of a goods line: components, conversion, MIN/MAX, seasons, refusals; never negative."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from manafidh.domain.errors import NoRateInForce, ValidationFailed
from manafidh.domain.money import IQD_MINOR_UNITS, round_money
from manafidh.domain.tariff.duty import (
    DutyNotComputable,
    compute_duty,
    required_quantities,
)
from manafidh.domain.tariff.expressions import (
    QUALIFIERS,
    UNITS,
    AdValorem,
    Compound,
    DutyExpression,
    Maximum,
    Minimum,
    Specific,
    parse,
)

D = Decimal
CASES = yaml.safe_load((Path(__file__).parents[1] / "cases" / "duty_expressions.yaml").read_text())
RATES = {code: D(rate) for code, rate in CASES["rates"].items()}


def at_rates(amount: Decimal, currency: str) -> Decimal:
    return amount * RATES[currency]


def duty_of(text: str, value: str = "1000.000", on: date | None = None, **quantities: str):
    return compute_duty(
        parse(text),
        customs_value=D(value),
        quantities={unit.replace("_", " "): D(q) for unit, q in quantities.items()},
        convert=at_rates,
        on=on,
    )


def _decimal(text: Any) -> Decimal:
    assert isinstance(text, str), f"write {text!r} in quotes so YAML does not read a float"
    return D(text)


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
def test_declared_case(case: dict[str, Any]):
    duty = compute_duty(
        parse(case["expression"]),
        customs_value=_decimal(case["customs_value"]),
        quantities={unit: _decimal(q) for unit, q in case.get("quantities", {}).items()},
        convert=at_rates,
        on=date.fromisoformat(case["date"]) if "date" in case else None,
    )
    assert duty.amount == _decimal(case["expected"])
    assert duty.amount.as_tuple().exponent == -IQD_MINOR_UNITS


# --------------------------------------------------------------------------------------------
# Behaviour
# --------------------------------------------------------------------------------------------


def test_a_foreign_specific_amount_is_converted_once_for_the_whole_quantity():
    calls: list[tuple[Decimal, str]] = []

    def convert(amount: Decimal, currency: str) -> Decimal:
        calls.append((amount, currency))
        return amount * RATES[currency]

    duty = compute_duty(
        parse("10.00% + 77.00 GBP / 100 kg"),
        customs_value=D("2000000.000"),
        quantities={"kg": D("1250")},
        convert=convert,
    )
    assert calls == [(D("962.5"), "GBP")]
    assert duty.amount == D("1788125.000")


def test_the_exact_duty_is_kept_beside_the_amount_rounded_to_the_fils():
    duty = duty_of("12.5%", value="0.012")
    assert duty.exact == D("0.0015")
    assert duty.amount == round_money(duty.exact, IQD_MINOR_UNITS) == D("0.002")


def test_the_explanation_shows_each_component_and_whether_a_bound_applies():
    duty = duty_of("12.00% MIN 0.40 EUR / 100 kg", value="1000.000", kg="10000")
    assert duty.explanation == (
        "12.00% of the customs value 1000.000 IQD = 120.000 IQD",
        "0.40 EUR / 100 kg on 10000 kg = 40.00 EUR = 56800.00 IQD",
        "minimum 0.40 EUR / 100 kg = 56800.00 IQD applies",
        "duty 56800.00 IQD, rounded to the fils (half up): 56800.000 IQD",
    )
    not_binding = duty_of("12.00% MIN 0.40 EUR / 100 kg", value="1000000.000", kg="10000")
    assert "is below 120000.000 IQD and does not apply" in not_binding.explanation[2]


def test_a_missing_quantity_is_refused_naming_its_unit():
    with pytest.raises(ValidationFailed, match="'kg lactic matter'") as caught:
        duty_of("1.19 EUR / kg / lactic matter + 27.50 EUR / 100 kg", kg="100")
    assert caught.value.details["unit"] == "kg lactic matter"
    with pytest.raises(ValidationFailed, match="'l'"):
        duty_of("32.00 EUR / hl", kg="100")
    with pytest.raises(ValidationFailed, match="'% vol'"):
        duty_of("1.75 EUR / % vol / hl", l="100")
    with pytest.raises(ValidationFailed, match="'kg gross'"):
        duty_of("3.80% MIN 0.60 EUR / 100 kg / gross", kg="100")


def test_the_quantities_an_expression_needs_are_listed():
    assert required_quantities(parse("10.00% + 77.00 GBP / 100 kg")) == {"kg"}
    assert required_quantities(parse("0.90 EUR / % vol / hl + 6.40 EUR / hl")) == {"% vol", "l"}
    assert required_quantities(parse("7.80 GBP/100kg eda MAX 1.00 GBP / tonne")) == {
        "kg net drained wt",
        "kg",
    }
    assert required_quantities(parse("0.30 GBP/100kg/net/%sacchar.")) == {"kg", "% sacchar."}
    assert required_quantities(parse("12%")) == frozenset()


def test_a_seasonal_duty_needs_the_date_and_a_season_covering_it():
    seasonal = "9.60% (01 JAN-15 MAY), 13.40% (16 MAY-30 JUNE)"
    with pytest.raises(ValidationFailed, match="needs the date"):
        duty_of(seasonal)
    with pytest.raises(NoRateInForce, match="no rate on 01 JUL"):
        duty_of(seasonal, on=date(2026, 7, 1))
    assert duty_of(seasonal, on=date(2026, 5, 16)).amount == D("134.000")
    rest = "9.60% MIN 1.1 EUR/100 kg/net (01 JAN-14 APR, 1 DEC-31 DEC), 13.60% MIN 1.6€/100kg/net"
    assert duty_of(rest, value="100000.000", kg="1", on=date(2026, 8, 1)).amount == D("13600.000")


def test_agricultural_components_and_entry_prices_parse_but_cannot_be_computed():
    with pytest.raises(DutyNotComputable, match="agricultural-component table") as caught:
        duty_of("9.00% +  EA MAX 18.70%  + ADSZ")
    assert caught.value.code == "duty_not_computable"
    assert caught.value.details["component"] == "EA"
    with pytest.raises(DutyNotComputable, match="entry-price table"):
        duty_of("Entry Price")


@pytest.mark.parametrize(
    "inputs",
    [
        {"customs_value": 1000.0},
        {"customs_value": 1000},
        {"quantities": {"kg": 1.5}},
        {"quantities": {"l": 2.0}},  # refused even when the expression does not use it
        {"convert": lambda amount, currency: float(amount) * 1420.0},
        {"on": "2026-01-01"},
    ],
)
def test_floats_never_reach_the_computation(inputs: dict[str, Any]):
    arguments: dict[str, Any] = {
        "customs_value": D("1000.000"),
        "quantities": {"kg": D(10)},
        "convert": at_rates,
        "on": None,
    } | inputs
    with pytest.raises(TypeError):
        compute_duty(parse("10% + 2 EUR / kg"), **arguments)


@pytest.mark.parametrize(
    "inputs",
    [
        {"customs_value": D("-1")},
        {"customs_value": D("NaN")},
        {"quantities": {"kg": D("-0.001")}},
        {"quantities": {"kg": D("Infinity")}},
        {"convert": lambda amount, currency: -amount},
    ],
)
def test_negative_or_infinite_inputs_are_refused(inputs: dict[str, Any]):
    arguments: dict[str, Any] = {
        "customs_value": D("1000.000"),
        "quantities": {"kg": D(10)},
        "convert": at_rates,
    } | inputs
    with pytest.raises(ValidationFailed):
        compute_duty(parse("10% + 2 EUR / kg"), **arguments)


def test_negative_zero_inputs_give_a_plain_zero():
    duty = compute_duty(
        parse("2 EUR / kg"),
        customs_value=D("-0"),
        quantities={"kg": D("-0")},
        convert=at_rates,
    )
    assert str(duty.amount) == "0.000"


# --------------------------------------------------------------------------------------------
# Properties over generated expressions and goods lines
# --------------------------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False)
currencies = st.sampled_from(["EUR", "GBP", "USD", "IQD"])
terms = st.one_of(
    st.builds(AdValorem, amounts.map(abs)),
    st.builds(
        Specific,
        amounts.map(abs),
        currencies,
        st.sampled_from([D(1), D(100), D(1000)]),
        st.sampled_from(sorted(UNITS)),
        st.one_of(st.none(), st.sampled_from(sorted(QUALIFIERS))),
    ),
)
sums = st.one_of(terms, st.lists(terms, min_size=2, max_size=4).map(tuple).map(Compound))
minimums = st.builds(Minimum, sums, sums)
rates = st.one_of(sums, minimums, st.builds(Maximum, st.one_of(sums, minimums), sums))
fx = st.fixed_dictionaries(
    {c: st.decimals(min_value=0, max_value=10**4, places=4).map(abs) for c in ("EUR", "GBP", "USD")}
)


def _line(expression: DutyExpression, data: st.DataObject) -> dict[str, Any]:
    quantities = {code: data.draw(amounts.map(abs)) for code in required_quantities(expression)}
    table = data.draw(fx)

    def convert(amount: Decimal, currency: str) -> Decimal:
        return amount * table[currency]

    return {
        "customs_value": data.draw(amounts.map(abs)),
        "quantities": quantities,
        "convert": convert,
    }


def _exact(expression: DutyExpression, line: dict[str, Any]) -> Decimal:
    return compute_duty(expression, **line).exact


@given(rates, st.data())
def test_a_duty_is_never_negative_and_is_its_exact_value_rounded_to_the_fils(expression, data):
    duty = compute_duty(expression, **_line(expression, data))
    assert duty.exact >= 0
    assert duty.amount >= 0
    assert not duty.amount.is_signed()
    assert duty.amount == round_money(duty.exact, IQD_MINOR_UNITS)


@given(st.lists(terms, min_size=2, max_size=4), st.data())
def test_a_compound_duty_is_the_sum_of_its_components(components, data):
    expression = Compound(tuple(components))
    line = _line(expression, data)
    # Sum at the computation's own precision (60 digits), not the default context's 28.
    with localcontext() as ctx:
        ctx.prec = 60
        expected = sum(_exact(c, line) for c in components)
    assert _exact(expression, line) == expected


@given(sums, sums, st.data())
def test_min_is_at_least_the_floor_and_max_at_most_the_ceiling(base, bound, data):
    line = _line(Compound((*_terms(base), *_terms(bound))), data)
    base_value, bound_value = _exact(base, line), _exact(bound, line)
    assert _exact(Minimum(base, bound), line) == max(base_value, bound_value)
    assert _exact(Maximum(base, bound), line) == min(base_value, bound_value)


def _terms(expression: DutyExpression) -> tuple[Any, ...]:
    return expression.components if isinstance(expression, Compound) else (expression,)
