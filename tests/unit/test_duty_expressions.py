"""Duty expressions: every rate of the UK Global Tariff parses; canonical text parses back."""

from __future__ import annotations

import csv
import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.shared_data import shared_file

from manafidh.domain.errors import ValidationFailed
from manafidh.domain.tariff import expressions
from manafidh.domain.tariff.expressions import (
    AGRICULTURAL_CODES,
    QUALIFIERS,
    UNITS,
    AdValorem,
    AgriculturalComponent,
    Compound,
    DutyExpression,
    EntryPrice,
    Maximum,
    Minimum,
    Season,
    Seasonal,
    SeasonalRate,
    Specific,
    parse,
)

D = Decimal

# --------------------------------------------------------------------------------------------
# The corpus: both rate columns of the UK Global Tariff (shared data, SOURCES.md section 3)
# --------------------------------------------------------------------------------------------

_CORPUS_NAME = Path("data/uk-global-tariff/global-uk-tariff.csv")
CORPUS = shared_file(str(_CORPUS_NAME))
COLUMNS = ("cet_duty_rate", "ukgt_duty_rate")
MIN_SUCCESS = 0.999

# Rates the parser refuses on purpose, by (commodity, column): errors in the source itself.
KNOWN_UNPARSEABLE = {
    ("08101000", "cet_duty_rate"): "day 31 does not exist in APR",  # "01 JAN-31 APR"
}

needs_corpus = pytest.mark.skipif(
    CORPUS is None and not os.environ.get("CI"),
    reason=f"the shared data set ../shared/{_CORPUS_NAME} is not present",
)


def _corpus() -> list[tuple[int, str, str, str]]:
    """(first line of the record, commodity, column, expression) for every non-empty rate."""
    assert CORPUS is not None
    rows: list[tuple[int, str, str, str]] = []
    with CORPUS.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        last_line = reader.line_num
        for record in reader:
            # Descriptions hold line breaks, so a record starts after the previous one ended.
            first_line, last_line = last_line + 1, reader.line_num
            for column in COLUMNS:
                if record[column].strip():
                    rows.append((first_line, record["commodity"], column, record[column]))
    return rows


@needs_corpus
def test_every_duty_rate_of_the_uk_global_tariff_parses():
    rows = _corpus()
    assert len({commodity for _, commodity, _, _ in rows}) == 11_830
    failures: dict[str, list[str]] = {column: [] for column in COLUMNS}
    refused: set[tuple[str, str]] = set()
    for line, commodity, column, text in rows:
        try:
            parse(text)
        except ValidationFailed as exc:
            failures[column].append(f"line {line} ({commodity}, {column}): {exc}")
            refused.add((commodity, column))
    for column in COLUMNS:
        total = sum(1 for _, _, c, _ in rows if c == column)
        rate = (total - len(failures[column])) / total
        assert rate >= MIN_SUCCESS, (
            f"{column}: {rate:.4%} of {total} parse, below {MIN_SUCCESS:.1%}; failures:\n"
            + "\n".join(failures[column])
        )
    unexpected = refused - KNOWN_UNPARSEABLE.keys()
    assert not unexpected, "newly refused rates:\n" + "\n".join(
        f for column in COLUMNS for f in failures[column]
    )


@needs_corpus
def test_the_canonical_text_of_every_corpus_rate_parses_to_the_same_tree():
    for line, _, column, text in _corpus():
        try:
            tree = parse(text)
        except ValidationFailed:
            continue
        canonical = expressions.format(tree)
        assert parse(canonical) == tree, f"line {line} {column}: {text!r} -> {canonical!r}"
        assert expressions.format(parse(canonical)) == canonical


@needs_corpus
def test_the_refused_corpus_rates_are_refused_for_the_documented_reason():
    rows = {(commodity, column): text for _, commodity, column, text in _corpus()}
    for key, reason in KNOWN_UNPARSEABLE.items():
        with pytest.raises(ValidationFailed, match=reason):
            parse(rows[key])


# --------------------------------------------------------------------------------------------
# Examples from the corpus
# --------------------------------------------------------------------------------------------


def test_a_compound_rate_is_an_ad_valorem_and_a_specific_component_with_exact_decimals():
    tree = parse("10.00% + 77.00 GBP / 100 kg")
    assert tree == Compound((AdValorem(D("10.00")), Specific(D("77.00"), "GBP", D(100), "kg")))
    assert isinstance(tree, Compound)
    ad_valorem, specific = tree.components
    assert isinstance(ad_valorem, AdValorem)
    assert isinstance(specific, Specific)
    assert str(ad_valorem.percent) == "10.00"  # the written digits are kept, not a float
    assert str(specific.amount) == "77.00"
    assert specific.qualifier is None
    assert parse("10.00% + 77.00 GBP/100kg") == tree


def test_zero_percent_and_free_are_both_zero_ad_valorem():
    assert parse("0.00%") == AdValorem(D("0.00"))
    assert parse("0.0%") == AdValorem(D(0))
    for text in ("Free", "free", "FREE"):
        assert parse(text) == AdValorem(D(0))


def test_a_bare_number_is_a_percentage_as_in_the_combined_nomenclature():
    assert parse("6.4 + 24.6 EUR/100 kg") == Compound(
        (AdValorem(D("6.4")), Specific(D("24.6"), "EUR", D(100), "kg"))
    )
    assert parse("7.2 MIN 0.36 EUR/100 kg") == Minimum(
        AdValorem(D("7.2")), Specific(D("0.36"), "EUR", D(100), "kg")
    )


def test_min_and_max_bound_the_duty_in_that_order():
    floor = Specific(D("1.60"), "EUR", D(100), "kg")
    ceiling = Specific(D("2.40"), "EUR", D(100), "kg")
    assert parse("12.80% MIN 1.60 EUR / 100 kg MAX 2.40 EUR / 100 kg") == Maximum(
        Minimum(AdValorem(D("12.80")), floor), ceiling
    )
    assert parse("0.50 EUR / item MIN 2.70% MAX 4.60%") == Maximum(
        Minimum(Specific(D("0.50"), "EUR", D(1), "item"), AdValorem(D("2.70"))),
        AdValorem(D("4.60")),
    )


def test_a_ceiling_after_max_takes_every_component_that_follows():
    assert parse("9.10% + 45.10 EUR / 100 kg MAX 18.90% + 16.50 EUR / 100 kg") == Maximum(
        Compound((AdValorem(D("9.10")), Specific(D("45.10"), "EUR", D(100), "kg"))),
        Compound((AdValorem(D("18.90")), Specific(D("16.50"), "EUR", D(100), "kg"))),
    )


def test_agricultural_components_parse_as_codes():
    ea, adsz = AgriculturalComponent("EA"), AgriculturalComponent("ADSZ")
    assert parse("9.00% +  EA MAX 18.70%  + ADSZ") == Maximum(
        Compound((AdValorem(D("9.00")), ea)), Compound((AdValorem(D("18.70")), adsz))
    )
    assert parse("9.00% +  EA") == Compound((AdValorem(D("9.00")), ea))
    assert parse("9.00% + EA MAX 20.70% + ADFM").ceiling == Compound(  # type: ignore[union-attr]
        (AdValorem(D("20.70")), AgriculturalComponent("ADFM"))
    )


@pytest.mark.parametrize(
    ("text", "unit", "per", "qualifier"),
    [
        ("32.00 EUR / hl", "hl", 1, None),
        ("114.00 EUR / tonne", "tonne", 1, None),
        ("52.00 EUR / 1,000 items", "item", 1000, None),
        ("43.00 GBP/1000 items", "item", 1000, None),
        ("0.20 GBP/ item", "item", 1, None),
        ("6.50% MAX 5.00 EUR / 100 m", "m", 100, None),
        ("8.00% MAX 2.80 EUR / m2", "m2", 1, None),
        ("1.75 EUR / % vol / hl", "% vol/hl", 1, None),
        ("1.00 GBP/%vol/hl", "% vol/hl", 1, None),
        ("1.19 EUR / kg / lactic matter", "kg", 1, "lactic matter"),
        ("1.00 GBP/kg/lactic matter", "kg", 1, "lactic matter"),
        ("0.07 EUR / kg / dry lactic matter", "kg", 1, "dry lactic matter"),
        ("1.62 EUR / kg / tot alc", "kg", 1, "tot alc"),
        ("33.90 EUR / 100 kg / std qual", "kg", 100, "std qual"),
        ("28.00 GBP/100kg std qual", "kg", 100, "std qual"),
        ("9.40 EUR / 100 kg / net drained wt", "kg", 100, "net drained wt"),
        ("7.80 GBP/100kg eda", "kg", 100, "net drained wt"),  # the CN's abbreviation
        ("3.8 EUR/100 kg eda", "kg", 100, "net drained wt"),
        ("50.70 EUR / 100 kg / net dry", "kg", 100, "net dry"),
        ("42.00 GBP/100kg mas", "kg", 100, "net dry"),  # matière sèche
        ("0.60 EUR / 100 kg / gross", "kg", 100, "gross"),
        ("1.3€/100kg/br", "kg", 100, "gross"),  # brutto
        ("1.1\xa0€/100\xa0kg/net", "kg", 100, "net"),
        ("0.40 EUR / 100 kg /net/ % sacchar.", "kg", 100, "net/% sacchar."),
        ("0.30 GBP/100kg/net/%sacchar.", "kg", 100, "net/% sacchar."),
        ("2 EUR / 10 p/st", "item", 10, None),
    ],
)
def test_units_and_qualifiers_are_read_into_canonical_codes(text, unit, per, qualifier):
    tree = parse(text)
    specific = tree.ceiling if isinstance(tree, Maximum) else tree
    assert isinstance(specific, Specific)
    assert (specific.unit, specific.per_quantity, specific.qualifier) == (unit, D(per), qualifier)


def test_arabic_indic_digits_are_read_as_numbers():
    assert parse("١٢.٥%") == AdValorem(D("12.5"))


def test_the_euro_sign_and_thousands_separators_are_read():
    assert parse("1,024.00 EUR / tonne") == Specific(D("1024.00"), "EUR", D(1), "tonne")
    assert parse("2€/100kg") == Specific(D(2), "EUR", D(100), "kg")


def test_seasonal_rates_read_day_ranges_that_may_wrap_past_the_new_year():
    assert parse("14.00% (01 JUL - 31 JAN), 0.00% (01 FEB - 30 JUN)") == Seasonal(
        (
            SeasonalRate(AdValorem(D("14.00")), (Season(1, 7, 31, 1),)),
            SeasonalRate(AdValorem(D("0.00")), (Season(1, 2, 30, 6),)),
        )
    )
    tree = parse("15.00% (01 JAN-14 FEB, 16 JUN-31 DEC), 0.00% (15 FEB-15 JUN)")
    assert isinstance(tree, Seasonal)
    assert tree.rates[0].seasons == (Season(1, 1, 14, 2), Season(16, 6, 31, 12))


def test_a_season_may_omit_its_start_month_and_spell_months_in_full():
    tree = parse("4.00% (01 JAN-31 MAR, 01-31 DEC), 5.10% (01 JUN-30 NOV)")
    assert isinstance(tree, Seasonal)
    assert tree.rates[0].seasons[1] == Season(1, 12, 31, 12)
    tree = parse("9.60% (01 JAN-15 MAY), 13.40% (16 MAY-30 JUNE)")
    assert isinstance(tree, Seasonal)
    assert tree.rates[1].seasons == (Season(16, 5, 30, 6),)


def test_the_last_seasonal_rate_may_cover_the_rest_of_the_year():
    tree = parse(
        "9.60% MIN 1.1\xa0€/100\xa0kg/net (01 JAN-14 APR, 1 DEC-31 DEC), 13.60% MIN 1.6€/100kg/net"
    )
    assert isinstance(tree, Seasonal)
    assert tree.rates[1].seasons == ()
    assert tree.rate_on(6, 1) == Minimum(
        AdValorem(D("13.60")), Specific(D("1.6"), "EUR", D(100), "kg", "net")
    )


def test_entry_price_is_an_expression_of_its_own():
    assert parse("Entry Price") == EntryPrice()
    assert expressions.format(EntryPrice()) == "Entry Price"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("10.00% + 77.00 GBP/100kg", "10.00% + 77.00 GBP / 100 kg"),
        ("9.00% +  EA MAX 18.70%  + ADSZ", "9.00% + EA MAX 18.70% + ADSZ"),
        ("1.00 GBP/%vol/hl", "1.00 GBP / % vol/hl"),
        ("127.00 GBP/ 1000 items", "127.00 GBP / 1000 items"),
        ("4.00% + 7.80 GBP/100kg eda", "4.00% + 7.80 GBP / 100 kg / net drained wt"),
        ("6.4 + 24.6 EUR/100 kg", "6.4% + 24.6 EUR / 100 kg"),
        ("Free", "0%"),
        (
            "4.00% (01 JAN-31 MAR, 01-31 DEC), 5.10% (01 JUN-30 NOV)",
            "4.00% (01 JAN - 31 MAR, 01 DEC - 31 DEC), 5.10% (01 JUN - 30 NOV)",
        ),
    ],
)
def test_format_writes_one_canonical_text(text, canonical):
    assert expressions.format(parse(text)) == canonical


# --------------------------------------------------------------------------------------------
# Malformed input: refused with the position and what was expected
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "says"),
    [
        ("10%%", 3, "expected '+', 'MIN', 'MAX'"),
        ("GBP/100kg", 0, "expected a duty: a number"),
        ("+ 5%", 0, "expected a duty: a number"),
        ("12.5 % MAX", 10, "expected a ceiling after 'MAX'"),
        ("", 0, "found end of input"),
        ("   ", 3, "found end of input"),
        ("1e5%", 1, "found 'e5'"),
        ("NaN%", 0, "found 'NaN'"),
        ("10 % MIN", 8, "expected a floor after 'MIN'"),
        ("10% + ", 6, "expected a duty component after '+'"),
        ("10% MIN 5% MIN 3%", 11, "at most one 'MIN'"),
        ("10% MAX 5% MIN 3%", 11, "at most one 'MIN'"),
        ("10 EUR 100 kg", 7, "expected '/' after the currency EUR"),
        ("10 EUR / parsec", 9, "expected a unit"),
        ("10 EUR / 0 kg", 9, "per_quantity must be more than zero"),
        ("10 EUR / 100 kg /", 17, "expected a qualifier"),
        ("10 eur / kg", 3, "found 'eur'"),
        ("12,5%", 2, "expected a decimal point"),
        ("1,0000 EUR / kg", 1, "expected a decimal point"),
        ("10.%", 2, "unexpected character '.'"),
        ("5 # 3", 2, "unexpected character '#'"),
        ("10%, 5%", 3, "the seasons of the first rate"),
        ("10% (01 JAN 31 MAR)", 12, "expected '-'"),
        ("10% (01 JAN - 31 MAR", 20, "',' or ')'"),
        ("10% (01 JAN - 31 MARCHING)", 17, "expected a month"),
        ("11.20% (01 JAN-31 APR)", 15, "day 31 does not exist in APR"),
        ("10% (30 FEB - 31 MAR)", 5, "day 30 does not exist in FEB"),
        ("10% (01 JAN - 31 MAR), 5% (15 MAR - 31 DEC)", 0, "seasons overlap on 15 MAR"),
        ("10% (01 JAN - 31 MAR), 5%, 3% (01 MAY - 31 MAY)", 25, "end of input"),
        ("Entry Price + 5%", 12, "end of input"),
    ],
)
def test_malformed_expressions_are_refused_with_the_position(text, position, says):
    with pytest.raises(ValidationFailed) as caught:
        parse(text)
    assert caught.value.details["position"] == position
    assert f"at position {position}" in caught.value.message
    assert says in caught.value.message


def test_only_text_is_parsed_and_the_tree_refuses_floats():
    with pytest.raises(TypeError):
        parse(10.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AdValorem(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Specific(D(1), "EUR", 100.0, "kg")  # type: ignore[arg-type]


def test_the_tree_refuses_negative_rates_unknown_units_and_nested_compounds():
    with pytest.raises(ValidationFailed, match="negative"):
        AdValorem(D("-1"))
    with pytest.raises(ValidationFailed, match="negative"):
        AdValorem(D("-0"))
    with pytest.raises(ValidationFailed, match="finite"):
        AdValorem(D("NaN"))
    with pytest.raises(ValidationFailed, match="unknown unit"):
        Specific(D(1), "EUR", D(1), "parsec")
    with pytest.raises(ValidationFailed, match="currency"):
        Specific(D(1), "MIN", D(1), "kg")
    with pytest.raises(ValidationFailed, match="two or more"):
        Compound((AdValorem(D(1)),))
    with pytest.raises(ValidationFailed, match="tuple"):
        Compound([AdValorem(D(1)), AdValorem(D(2))])  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="two or more"):
        Compound((AdValorem(D(1)), Compound((AdValorem(D(1)), AdValorem(D(2))))))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Round trip over generated trees
# --------------------------------------------------------------------------------------------

decimals = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False),
).map(Decimal.copy_abs)
per_quantities = st.one_of(st.sampled_from([D(1), D(100), D(1000)]), decimals).filter(bool)
currencies = st.one_of(
    st.sampled_from(["EUR", "GBP", "USD", "IQD"]),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3).filter(
        lambda c: c not in {"MIN", "MAX", "EAR"}
    ),
)
terms = st.one_of(
    st.builds(AdValorem, decimals),
    st.builds(
        Specific,
        decimals,
        currencies,
        per_quantities,
        st.sampled_from(sorted(UNITS)),
        st.one_of(st.none(), st.sampled_from(sorted(QUALIFIERS))),
    ),
    st.builds(AgriculturalComponent, st.sampled_from(sorted(AGRICULTURAL_CODES))),
)
sums = st.one_of(terms, st.lists(terms, min_size=2, max_size=4).map(tuple).map(Compound))
minimums = st.builds(Minimum, sums, sums)
rates = st.one_of(sums, minimums, st.builds(Maximum, st.one_of(sums, minimums), sums))

_JAN_1 = date(2023, 1, 1)  # a common year: generated seasons never start on 29 FEB


def _season(first: int, last: int) -> Season:
    start, end = _JAN_1 + timedelta(days=first), _JAN_1 + timedelta(days=last % 365)
    return Season(start.day, start.month, end.day, end.month)


@st.composite
def seasonals(draw: st.DrawFn) -> Seasonal:
    """Seasons that tile the year from random cut days, shared out among several rates."""
    cuts = sorted(draw(st.sets(st.integers(0, 364), min_size=1, max_size=6)))
    seasons = [_season(a, b - 1) for a, b in zip(cuts, [*cuts[1:], cuts[0] + 365], strict=True)]
    rest_of_year = len(seasons) > 1 and draw(st.booleans())
    if rest_of_year:
        seasons.pop()
    n = draw(st.integers(1, len(seasons)))
    owners = list(range(n)) + draw(
        st.lists(st.integers(0, n - 1), min_size=len(seasons) - n, max_size=len(seasons) - n)
    )
    owners = draw(st.permutations(owners))
    seasonal_rates = [
        SeasonalRate(draw(rates), tuple(s for s, o in zip(seasons, owners, strict=True) if o == i))
        for i in range(n)
    ]
    if rest_of_year:
        seasonal_rates.append(SeasonalRate(draw(rates), ()))
    return Seasonal(tuple(seasonal_rates))


duty_expressions = st.one_of(rates, seasonals(), st.just(EntryPrice()))


@given(duty_expressions)
def test_the_canonical_text_parses_back_to_the_same_tree(tree: DutyExpression):
    text = expressions.format(tree)
    assert parse(text) == tree
    assert expressions.format(parse(text)) == text
