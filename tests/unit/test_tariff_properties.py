"""Properties of the tariff engine where rules meet dates, money and quotas (Hypothesis)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.factories import content, item

from manafidh.domain.reference import ExchangeRate
from manafidh.domain.tariff.exemptions import (
    BeneficiaryKind,
    Exemption,
    ExemptionUse,
    apply_reliefs,
)
from manafidh.domain.tariff.measured import assess_with_measures
from manafidh.domain.tariff.measures import Measure, MeasureIndex, MeasureType
from manafidh.domain.tariff.rates import TariffRate, TariffSchedule

D = date(2026, 3, 15)
USD = ExchangeRate("USD", date(2023, 1, 1), None, Decimal("1310"), "test")
EUR = ExchangeRate("EUR", date(2023, 1, 1), None, Decimal("1420"), "test")
SCHEDULE = TariffSchedule(
    [TariffRate(1, code, Decimal("20"), date(2019, 1, 1), None, "test") for code in ("69", "72")]
)
CODES = ["69", "6907", "690721", "69072100", "72", "7213", "721310"]

amounts = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False)
percents = st.decimals(min_value=0, max_value=200, places=2, allow_nan=False)
per = st.sampled_from(["kg", "100 kg", "tonne", "item"])
currency = st.sampled_from(["USD", "EUR", "IQD"])


@st.composite
def expressions(draw):
    ad = f"{draw(percents)}%"
    specific = f"{draw(amounts)} {draw(currency)} / {draw(per)}"
    shape = draw(st.sampled_from(["ad", "specific", "compound", "min", "max"]))
    return {
        "ad": ad,
        "specific": specific,
        "compound": f"{ad} + {specific}",
        "min": f"{ad} MIN {specific}",
        "max": f"{ad} MAX {specific}",
    }[shape]


@st.composite
def measures(draw, *, start=date(2020, 1, 1), end=D, first_id=1):
    found = []
    used = set()
    for n in range(draw(st.integers(0, 6))):
        code = draw(st.sampled_from(CODES))
        origin = draw(st.sampled_from(["ALL", "IR", "TR"]))
        if (code, origin) in used:
            continue
        used.add((code, origin))
        valid_from = draw(st.dates(min_value=start, max_value=end))
        found.append(
            Measure(
                first_id + n,
                code,
                MeasureType.IMPORT_DUTY,
                origin,
                valid_from,
                None,
                "test",
                draw(expressions()),
            )
        )
    return found


@st.composite
def declarations(draw):
    items = [
        item(
            n,
            hs_code=draw(st.sampled_from(["690721", "72131000"])),
            origin_country=draw(st.sampled_from(["IR", "TR", "CN"])),
            invoice_value=draw(amounts),
            net_mass_kg=draw(st.decimals(min_value=1, max_value=40_000, places=3)),
            gross_mass_kg=Decimal(40_001),
            quantity=draw(st.decimals(min_value=1, max_value=1000, places=0)),
            unit="NAR",
        )
        for n in range(1, draw(st.integers(1, 5)) + 1)
    ]
    return content(items=items, freight=draw(amounts), insurance=Decimal(0))


def _assess(index, declared, day=D):
    return assess_with_measures(
        assessment_id="a",
        declaration_id="d",
        version_number=1,
        content=declared,
        acceptance_date=day,
        exchange_rate=USD,
        schedule=SCHEDULE,
        measures=index,
        rates={"USD": USD, "EUR": EUR}.__getitem__,
        at=datetime(2026, 3, 15, 6, tzinfo=UTC),
    )


@settings(max_examples=150, deadline=None)
@given(
    declared=declarations(),
    before=measures(),
    later=measures(start=D + timedelta(days=1), end=date(2030, 1, 1), first_id=100),
)
def test_an_assessment_never_changes_when_the_tariff_changes_after_its_date(
    declared, before, later
):
    # Measures that start after the acceptance date, even on the same codes, change nothing.
    clash = {(m.code, m.origin) for m in before}
    later = [m for m in later if (m.code, m.origin) not in clash]
    first = _assess(MeasureIndex(before), declared)
    again = _assess(MeasureIndex([*before, *later]), declared)
    assert asdict(again.assessment) == asdict(first.assessment)
    assert again.uses == first.uses


@settings(max_examples=150, deadline=None)
@given(declared=declarations(), tariff=measures(), relief=percents, on=st.booleans())
def test_a_duty_is_never_negative_and_money_is_never_float(declared, tariff, relief, on):
    result = _assess(MeasureIndex(tariff), declared)
    a = result.assessment
    if on and relief > 0:
        e = Exemption(
            1,
            "EX",
            BeneficiaryKind.IMPORTER,
            "x",
            "IQ-1",
            "law",
            date(2020, 1, 1),
            None,
            min(relief, Decimal(100)),
        )
        uses = [
            ExemptionUse(
                line.line_no,
                e,
                None,
                Decimal(1),
                line.customs_value_iqd,
                line.duty_iqd,
                e.relief(line.duty_iqd),
            )
            for line in a.lines
        ]
        apply_reliefs(a, uses, {})
    for line in a.lines:
        assert line.duty_iqd >= 0
        for value in (line.duty_iqd, line.customs_value_iqd, line.rate_percent):
            assert type(value) is Decimal
    for value in (a.duty_iqd, a.total_due_iqd, a.customs_value_iqd):
        assert type(value) is Decimal
        assert value >= 0
    assert a.total_due_iqd == sum((line.duty_iqd for line in a.lines), Decimal(0))
    for use in result.uses:
        assert type(use.duty_iqd) is Decimal
        assert type(use.exact_iqd) is Decimal
