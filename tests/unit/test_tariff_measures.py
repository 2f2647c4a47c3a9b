"""Which measure applies: most specific code, then narrowest origin, on the day; imports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from tests.factories import content, item

from manafidh.domain.errors import ValidationFailed
from manafidh.domain.reference import ExchangeRate
from manafidh.domain.tariff.imports import read_rows
from manafidh.domain.tariff.measured import assess_with_measures
from manafidh.domain.tariff.measures import (
    GoodsProhibited,
    Measure,
    MeasureIndex,
    MeasureType,
)
from manafidh.domain.tariff.rates import TariffRate, TariffSchedule

DUTY = MeasureType.IMPORT_DUTY
D = date(2026, 3, 15)
USD = ExchangeRate("USD", date(2026, 1, 1), None, Decimal("1310"), "CBI (test)")
EUR = ExchangeRate("EUR", date(2026, 1, 1), None, Decimal("1500"), "CBI (test)")
SCHEDULE = TariffSchedule(
    [TariffRate(1, "69", Decimal("20"), date(2019, 1, 1), None, "Schedule (test)")]
)


def m(id_, code, expr="5%", *, origin="ALL", start=date(2026, 1, 1), end=None, kind=DUTY):
    return Measure(id_, code, kind, origin, start, end, f"Decision {id_} (test)", expr)


def test_the_most_specific_code_wins_whatever_the_order():
    index = MeasureIndex([m(1, "69", "10%"), m(2, "690721", "7%"), m(3, "6907", "8%")])
    chosen = index.applicable("69072100", "IR", D).duty
    assert chosen is not None
    assert chosen.id == 2


def test_a_country_beats_a_group_which_beats_every_origin_on_the_same_code():
    groups = {"GAFTA": frozenset({"JO", "SA"})}
    index = MeasureIndex(
        [m(1, "6907", "10%"), m(2, "6907", "4%", origin="GAFTA"), m(3, "6907", "2%", origin="JO")],
        groups,
    )
    assert index.applicable("690721", "JO", D).duty.id == 3
    assert index.applicable("690721", "SA", D).duty.id == 2
    assert index.applicable("690721", "IR", D).duty.id == 1


def test_a_longer_code_for_every_origin_beats_a_country_measure_higher_up():
    index = MeasureIndex([m(1, "69", "0%", origin="IR"), m(2, "690721", "9%")])
    assert index.applicable("690721", "IR", D).duty.id == 2


def test_a_measure_applies_on_its_first_and_last_day_and_not_after():
    index = MeasureIndex([m(1, "6907", start=date(2026, 3, 1), end=date(2026, 3, 31))])
    assert index.applicable("690721", "IR", date(2026, 3, 1)).duty is not None
    assert index.applicable("690721", "IR", date(2026, 3, 31)).duty is not None
    assert index.applicable("690721", "IR", date(2026, 4, 1)).duty is None
    assert index.applicable("690721", "IR", date(2026, 2, 28)).duty is None


def test_the_explanation_names_what_applies_and_what_was_set_aside():
    index = MeasureIndex([m(1, "69", "10%"), m(2, "690721", "7%")])
    reasons = index.applicable("690721", "IR", D).reasons
    assert reasons[0].startswith("applies: import_duty 7% on 690721")
    assert "import_duty 10% on 69" in reasons[1]
    assert "set aside" in reasons[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code": "6907211"}, "bad commodity code"),
        ({"expression": "10 %% +"}, "duty expression"),
        ({"legal_reference": " "}, "legal reference"),
        ({"valid_to": date(2025, 1, 1)}, "ends before it starts"),
    ],
)
def test_a_bad_measure_is_refused_with_its_reason(kwargs, message):
    values = {
        "id": 1,
        "code": "690721",
        "measure_type": DUTY,
        "origin": "ALL",
        "valid_from": date(2026, 1, 1),
        "valid_to": None,
        "legal_reference": "Decision (test)",
        "expression": "5%",
    } | kwargs
    with pytest.raises(ValidationFailed, match=message):
        Measure(**values)


def _assess(index, items, **over):
    return assess_with_measures(
        assessment_id="a",
        declaration_id="d",
        version_number=1,
        content=content(items=items, freight=Decimal(0), insurance=Decimal(0), **over),
        acceptance_date=D,
        exchange_rate=USD,
        schedule=SCHEDULE,
        measures=index,
        rates={"USD": USD, "EUR": EUR}.__getitem__,
        at=datetime(2026, 3, 15, 6, tzinfo=UTC),
    )


def test_a_specific_duty_in_a_foreign_currency_is_converted_at_the_dated_rate():
    # 1000 USD = 1,310,000 IQD; 10% = 131,000; 2 EUR/100 kg on 30,000 kg = 600 EUR = 900,000 IQD.
    index = MeasureIndex([m(1, "690721", "10% + 2 EUR / 100 kg")])
    result = _assess(index, [item(1, invoice_value=Decimal("1000.00"))])
    line = result.assessment.lines[0]
    assert line.duty_iqd == Decimal("1031000")
    assert result.uses[0].measure.id == 1
    assert "EUR at 1500 IQD" in line.explanation


def test_min_and_max_bound_the_duty():
    index = MeasureIndex([m(1, "690721", "1% MIN 1 USD / 100 kg MAX 3%")])
    # 1% of 1,310,000 = 13,100 IQD; floor 300 USD = 393,000 IQD; ceiling 3% = 39,300 IQD.
    line = _assess(index, [item(1, invoice_value=Decimal("1000.00"))]).assessment.lines[0]
    assert line.duty_iqd == Decimal("39300")


def test_a_line_without_a_duty_measure_falls_back_to_the_schedule_and_a_levy_adds_on():
    index = MeasureIndex([m(1, "69", "1%", kind=MeasureType.OTHER_TAX)])
    result = _assess(index, [item(1, invoice_value=Decimal("1000.00"))])
    line = result.assessment.lines[0]
    assert line.rate_percent == Decimal("20")  # the schedule
    assert line.duty_iqd == Decimal("262000") + Decimal("13100")
    assert [u.measure.measure_type for u in result.uses] == [MeasureType.OTHER_TAX]


def test_prohibited_goods_are_refused_with_the_legal_reference():
    index = MeasureIndex([m(1, "6907", "", origin="IR", kind=MeasureType.PROHIBITION)])
    with pytest.raises(GoodsProhibited, match="Decision 1"):
        _assess(index, [item(1)])
    # Not from Iran: no prohibition.
    assert _assess(index, [item(1, origin_country="TR")]).assessment.duty_iqd > 0


def _row(**over):
    return {
        "code": "690721",
        "measure_type": "import_duty",
        "origin": "ALL",
        "valid_from": "2026-01-01",
        "valid_to": "",
        "legal_reference": "Decision (test)",
        "expression": "5%",
    } | over


def test_an_import_names_every_bad_row_with_its_line_and_reason():
    rows = [
        (2, _row()),
        (3, _row(code="999999")),
        (4, _row(expression="5 %% x")),
        (5, _row(valid_from="2026-13-01")),
        (6, _row(origin="XX")),
        (7, _row(valid_from="2026-06-01")),  # overlaps line 2 (same key, open end)
        (8, _row(measure_type="quota")),
    ]
    _, rejections = read_rows(
        rows,
        known_code=lambda c: c != "999999",
        known_origin=lambda o: o != "XX",
        stored=[],
    )
    by_line = {r.line: r.reason for r in rejections}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8]
    assert "unknown commodity code 999999" in by_line[3]
    assert "duty expression" in by_line[4]
    assert "not a date" in by_line[5]
    assert "unknown origin XX" in by_line[6]
    assert "overlaps" in by_line[7]
    assert "line 2" in by_line[7]
    assert "unknown measure type" in by_line[8]


def test_an_import_row_overlapping_a_stored_measure_is_rejected():
    stored = [m(9, "690721", end=date(2026, 12, 31))]
    _, rejections = read_rows(
        [(2, _row(valid_from="2026-12-31"))],
        known_code=lambda c: True,
        known_origin=lambda o: True,
        stored=stored,
    )
    assert [r.line for r in rejections] == [2]
    assert "stored measure 9" in rejections[0].reason
    ok, none = read_rows(
        [(2, _row(valid_from="2027-01-01"))],
        known_code=lambda c: True,
        known_origin=lambda o: True,
        stored=stored,
    )
    assert none == []
    assert len(ok) == 1
