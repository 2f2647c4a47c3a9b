"""Investment projects (National Investment Commission licences) and their exemption rule.

A project's approved goods list (codes with quantities and values) within its import window is an
exemption of kind ``investment_project`` with one quota per approved line. Implementation rates
are reported over time. A project lags when, after a grace period from its approval, its latest
reported implementation rate is at or below a threshold (both dated parameters: the April 2021
decision revoked licences of projects at or below 35 %); its exemption is then suspended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from manafidh.domain.errors import ValidationFailed
from manafidh.domain.tariff.measures import check_code

SUSPENSION_THRESHOLD = "investment.suspension_threshold_percent"
GRACE_PERIOD_DAYS = "investment.grace_period_days"


@dataclass(frozen=True)
class ApprovedGoods:
    """A line of the approved goods list: codes under ``code``, up to kg and/or IQD value."""

    code: str
    max_kg: Decimal | None
    max_value_iqd: Decimal | None

    def __post_init__(self) -> None:
        check_code(self.code)
        if self.max_kg is None and self.max_value_iqd is None:
            raise ValidationFailed("an approved goods line caps a quantity, a value or both")
        for cap in (self.max_kg, self.max_value_iqd):
            if cap is not None and (not cap.is_finite() or cap < 0):
                raise ValidationFailed("an approved quantity or value must be zero or more")


@dataclass(frozen=True)
class ImplementationReport:
    """The implementation rate of a project as reported on a day."""

    reported_on: date
    rate_percent: Decimal
    source: str

    def __post_init__(self) -> None:
        if not (Decimal(0) <= self.rate_percent <= Decimal(100)):
            raise ValidationFailed("an implementation rate is between 0 and 100 %")


@dataclass(frozen=True)
class InvestmentProject:
    """A licensed investment project with its approved goods and import window."""

    licence_number: str
    name: str
    sector: str
    tax_id: str
    approved_on: date
    window_from: date
    window_to: date
    goods: tuple[ApprovedGoods, ...]
    reports: tuple[ImplementationReport, ...] = ()

    def __post_init__(self) -> None:
        if not self.licence_number.strip() or not self.tax_id.strip():
            raise ValidationFailed("a project needs its licence number and the investor's tax id")
        if self.window_to < self.window_from:
            raise ValidationFailed("the import window ends before it starts")
        if not self.goods:
            raise ValidationFailed("a project needs an approved goods list")

    def latest_rate(self, day: date) -> ImplementationReport | None:
        """The last implementation report on or before ``day``."""
        found = [r for r in self.reports if r.reported_on <= day]
        return max(found, key=lambda r: r.reported_on) if found else None

    def lags(self, day: date, *, threshold: Decimal, grace_days: int) -> bool:
        """True when, past the grace period, the latest rate is at or below ``threshold``
        (no report at all counts as 0 %)."""
        if day < self.approved_on + timedelta(days=grace_days):
            return False
        latest = self.latest_rate(day)
        return (latest.rate_percent if latest else Decimal(0)) <= threshold
