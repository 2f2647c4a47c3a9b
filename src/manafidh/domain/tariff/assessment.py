"""Assessment: customs value in IQD and ad-valorem duty, with a stored explanation per line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from manafidh.domain.declarations.model import Content, Item
from manafidh.domain.money import IQD_MINOR_UNITS, allocate, round_money
from manafidh.domain.reference import ExchangeRate
from manafidh.domain.tariff.rates import TariffSchedule

HUNDRED = Decimal(100)


@dataclass
class AssessmentLine:
    """One item's customs value and duty, with the rate that produced it and why."""

    line_no: int
    hs_code: str
    invoice_value: Decimal
    customs_value_iqd: Decimal
    rate_id: int
    rate_percent: Decimal
    rate_valid_from: date
    rate_valid_to: date | None
    legal_reference: str
    duty_iqd: Decimal
    explanation: str


@dataclass
class Assessment:
    """The duties of one declaration version, reproducible from what it stores."""

    id: str
    declaration_id: str
    version_number: int
    assessed_at: datetime
    acceptance_date: date
    invoice_currency: str
    exchange_rate: Decimal
    exchange_rate_source: str
    exchange_rate_valid_from: date
    customs_value_iqd: Decimal
    duty_iqd: Decimal
    total_due_iqd: Decimal
    lines: list[AssessmentLine] = field(default_factory=list)


def iqd(amount: Decimal) -> Decimal:
    """Round an IQD amount to the fils."""
    return round_money(amount, IQD_MINOR_UNITS)


def assess_content(
    *,
    assessment_id: str,
    declaration_id: str,
    version_number: int,
    content: Content,
    acceptance_date: date,
    exchange_rate: ExchangeRate,
    schedule: TariffSchedule,
    at: datetime,
) -> Assessment:
    """Compute customs value (CIF in IQD) and ad-valorem duty for every item.

    Customs value = invoice value + a share of freight and insurance (allocated by invoice value
    so the shares add up to the fils), converted at the rate in force on the acceptance date.
    Each line's duty is rounded to the fils; the total is the sum of the rounded lines.
    """
    fx = exchange_rate.iqd_per_unit
    lines = [
        schedule_line(item, value, content.invoice_currency, fx, share, schedule, acceptance_date)
        for item, value, share in customs_values(content, fx)
    ]
    return total(
        lines,
        assessment_id=assessment_id,
        declaration_id=declaration_id,
        version_number=version_number,
        acceptance_date=acceptance_date,
        currency=content.invoice_currency,
        exchange_rate=exchange_rate,
        at=at,
    )


def customs_values(content: Content, fx: Decimal) -> list[tuple[Item, Decimal, Decimal]]:
    """Each item with its customs value in IQD and the freight/insurance share it includes."""
    item_values = [iqd(item.invoice_value * fx) for item in content.items]
    costs = iqd((content.freight + content.insurance) * fx)
    cost_shares = allocate(costs, [i.invoice_value for i in content.items], IQD_MINOR_UNITS)
    return [
        (item, value + share, share)
        for item, value, share in zip(content.items, item_values, cost_shares, strict=True)
    ]


def valuation_text(item: Item, currency: str, fx: Decimal, share: Decimal, value: Decimal) -> str:
    """How the customs value of a line was reached."""
    return (
        f"{item.invoice_value} {currency} x {fx} IQD + {share} IQD freight/insurance = {value} IQD"
    )


def schedule_line(
    item: Item,
    customs_value: Decimal,
    currency: str,
    fx: Decimal,
    share: Decimal,
    schedule: TariffSchedule,
    day: date,
) -> AssessmentLine:
    """A line assessed at the ad-valorem rate of the schedule (most specific HS prefix)."""
    rate = schedule.rate_for(item.hs_code, day)
    duty = iqd(customs_value * rate.rate_percent / HUNDRED)
    until = rate.valid_to.isoformat() if rate.valid_to else "open"
    explanation = (
        f"{valuation_text(item, currency, fx, share, customs_value)};"
        f" {rate.rate_percent}% (HS {rate.code_prefix}, valid {rate.valid_from.isoformat()}"
        f" to {until}, {rate.legal_reference}) = {duty} IQD"
    )
    return AssessmentLine(
        line_no=item.line_no,
        hs_code=item.hs_code,
        invoice_value=item.invoice_value,
        customs_value_iqd=customs_value,
        rate_id=rate.id,
        rate_percent=rate.rate_percent,
        rate_valid_from=rate.valid_from,
        rate_valid_to=rate.valid_to,
        legal_reference=rate.legal_reference,
        duty_iqd=duty,
        explanation=explanation,
    )


def total(
    lines: list[AssessmentLine],
    *,
    assessment_id: str,
    declaration_id: str,
    version_number: int,
    acceptance_date: date,
    currency: str,
    exchange_rate: ExchangeRate,
    at: datetime,
) -> Assessment:
    """The assessment of ``lines``: totals are sums of the lines rounded to the fils."""
    customs_total = sum((line.customs_value_iqd for line in lines), Decimal(0))
    duty_total = sum((line.duty_iqd for line in lines), Decimal(0))
    return Assessment(
        id=assessment_id,
        declaration_id=declaration_id,
        version_number=version_number,
        assessed_at=at,
        acceptance_date=acceptance_date,
        invoice_currency=currency,
        exchange_rate=exchange_rate.iqd_per_unit,
        exchange_rate_source=exchange_rate.source,
        exchange_rate_valid_from=exchange_rate.valid_from,
        customs_value_iqd=customs_total,
        duty_iqd=duty_total,
        total_due_iqd=duty_total,
        lines=lines,
    )
