"""Assessing a declaration under tariff measures, with the ad-valorem schedule as fallback.

Per line: the import-duty measure that applies (most specific code, then narrowest origin)
gives the duty; an "other taxes and levies" measure adds its amount; a prohibition refuses the
line; a licence requirement is noted. A line with no import-duty measure is assessed at the
schedule's ad-valorem rate (ADR 0007). Specific amounts in a foreign currency are converted at
the exchange rate in force on the acceptance date; each measure's amount is rounded once, to the
fils (half up), and a line's duty is the sum of those rounded amounts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from manafidh.domain.declarations.model import Content, Item
from manafidh.domain.reference import ExchangeRate
from manafidh.domain.tariff.assessment import (
    HUNDRED,
    Assessment,
    AssessmentLine,
    customs_values,
    schedule_line,
    total,
    valuation_text,
)
from manafidh.domain.tariff.duty import compute_duty
from manafidh.domain.tariff.expressions import AdValorem
from manafidh.domain.tariff.measures import (
    Applicable,
    GoodsProhibited,
    Measure,
    MeasureIndex,
    MeasureType,
)
from manafidh.domain.tariff.rates import TariffSchedule

# UN/ECE Recommendation 20 unit codes that declarations use, and the duty-expression unit each
# one measures. Mass comes from the line's net and gross masses, never from its quantity.
DECLARED_UNITS = {
    "NAR": "item",
    "C62": "item",
    "H87": "item",
    "LTR": "l",
    "PR": "pair",
    "MTR": "m",
    "MTK": "m2",
    "MTQ": "m3",
}
EFFECTIVE_RATE_PLACES = Decimal("0.0001")

RateLookup = Callable[[str], ExchangeRate]
"""The exchange rate of a currency on the acceptance date."""


@dataclass(frozen=True)
class MeasureUse:
    """One measure applied to one line: what it charged and how (stored with the assessment)."""

    line_no: int
    measure: Measure
    duty_iqd: Decimal
    exact_iqd: Decimal
    explanation: str


@dataclass
class MeasuredAssessment:
    """An assessment and the exact measures it used, so that it can be reproduced."""

    assessment: Assessment
    uses: list[MeasureUse] = field(default_factory=list)


def quantities(item: Item) -> dict[str, Decimal]:
    """The quantities a specific duty may be charged on, by duty-expression unit code."""
    found = {"kg": item.net_mass_kg, "kg gross": item.gross_mass_kg}
    unit = DECLARED_UNITS.get(item.unit)
    if unit is not None:
        found[unit] = item.quantity
    return found


def _converter(
    rates: RateLookup, used: dict[str, ExchangeRate]
) -> Callable[[Decimal, str], Decimal]:
    def convert(amount: Decimal, currency: str) -> Decimal:
        rate = used.get(currency) or rates(currency)
        used[currency] = rate
        return amount * rate.iqd_per_unit

    return convert


def _charge(
    item: Item, value: Decimal, measure: Measure, day: date, rates: RateLookup
) -> MeasureUse:
    used: dict[str, ExchangeRate] = {}
    duty = compute_duty(
        measure.duty,
        customs_value=value,
        quantities=quantities(item),
        convert=_converter(rates, used),
        on=day,
    )
    fx = "".join(
        f"; {c} at {r.iqd_per_unit} IQD ({r.source}, from {r.valid_from.isoformat()})"
        for c, r in sorted(used.items())
    )
    text = f"{measure.describe()}: " + "; ".join(duty.explanation) + fx
    return MeasureUse(item.line_no, measure, duty.amount, duty.exact, text)


def _measured_line(
    item: Item,
    value: Decimal,
    valuation: str,
    applicable: Applicable,
    rates: RateLookup,
) -> tuple[AssessmentLine, list[MeasureUse]]:
    duty_measure = applicable.duty
    assert duty_measure is not None
    uses = [_charge(item, value, duty_measure, applicable.day, rates)]
    levy = applicable.chosen.get(MeasureType.OTHER_TAX)
    if levy is not None:
        uses.append(_charge(item, value, levy, applicable.day, rates))
    licence = applicable.chosen.get(MeasureType.LICENCE)
    if licence is not None:
        uses.append(MeasureUse(item.line_no, licence, Decimal(0), Decimal(0), licence.describe()))
    duty = sum((u.duty_iqd for u in uses), Decimal(0))
    if isinstance(duty_measure.duty, AdValorem):
        percent = duty_measure.duty.percent
    elif value > 0:  # the ad-valorem equivalent, for reports; the measures are stored apart
        percent = (uses[0].duty_iqd * HUNDRED / value).quantize(EFFECTIVE_RATE_PLACES)
    else:
        percent = Decimal(0)
    explanation = "; ".join([valuation, *(u.explanation for u in uses), f"= {duty} IQD"])
    line = AssessmentLine(
        line_no=item.line_no,
        hs_code=item.hs_code,
        invoice_value=item.invoice_value,
        customs_value_iqd=value,
        rate_id=duty_measure.id,
        rate_percent=percent,
        rate_valid_from=duty_measure.valid_from,
        rate_valid_to=duty_measure.valid_to,
        legal_reference=duty_measure.legal_reference,
        duty_iqd=duty,
        explanation=explanation,
    )
    return line, uses


def assess_with_measures(
    *,
    assessment_id: str,
    declaration_id: str,
    version_number: int,
    content: Content,
    acceptance_date: date,
    exchange_rate: ExchangeRate,
    schedule: TariffSchedule,
    measures: MeasureIndex,
    rates: RateLookup,
    at: datetime,
) -> MeasuredAssessment:
    """Assess every line under the measures in force, falling back to the schedule."""
    fx = exchange_rate.iqd_per_unit
    currency = content.invoice_currency
    lines: list[AssessmentLine] = []
    uses: list[MeasureUse] = []
    for item, value, share in customs_values(content, fx):
        applicable = measures.applicable(item.hs_code, item.origin_country, acceptance_date)
        banned = applicable.chosen.get(MeasureType.PROHIBITION)
        if banned is not None:
            raise GoodsProhibited(
                f"line {item.line_no}: {item.hs_code} from {item.origin_country} is prohibited:"
                f" {banned.describe()}",
                line_no=item.line_no,
                measure_id=banned.id,
                legal_reference=banned.legal_reference,
            )
        if applicable.duty is None:
            line = schedule_line(item, value, currency, fx, share, schedule, acceptance_date)
            levy = applicable.chosen.get(MeasureType.OTHER_TAX)
            if levy is not None:
                use = _charge(item, value, levy, acceptance_date, rates)
                uses.append(use)
                line.duty_iqd += use.duty_iqd
                line.explanation += f"; {use.explanation}; = {line.duty_iqd} IQD"
            lines.append(line)
            continue
        valuation = valuation_text(item, currency, fx, share, value)
        line, line_uses = _measured_line(item, value, valuation, applicable, rates)
        lines.append(line)
        uses.extend(line_uses)
    assessment = total(
        lines,
        assessment_id=assessment_id,
        declaration_id=declaration_id,
        version_number=version_number,
        acceptance_date=acceptance_date,
        currency=currency,
        exchange_rate=exchange_rate,
        at=at,
    )
    return MeasuredAssessment(assessment, uses)
