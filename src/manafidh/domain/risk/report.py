"""Risk reports: hit rate per lane and per rule, revenue recovered per inspection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from manafidh.domain.money import IQD_MINOR_UNITS, round_money


@dataclass(frozen=True)
class ControlOutcome:
    """One laned declaration: why it got its lane, and what its control found."""

    declaration_id: str
    crossing_code: str
    month: str  # YYYY-MM of the lane decision, in Iraq
    lane: str
    matched_rule_ids: list[int]
    random_selected: bool
    checked: bool
    found: bool
    extra_duty_iqd: Decimal = Decimal(0)


@dataclass
class Rate:
    """Controls done and irregularities found among some declarations."""

    declarations: int = 0
    checked: int = 0
    found: int = 0
    extra_duty_iqd: Decimal = Decimal(0)

    def add(self, o: ControlOutcome) -> None:
        """Count one declaration."""
        self.declarations += 1
        self.checked += o.checked
        self.found += o.found
        self.extra_duty_iqd += o.extra_duty_iqd

    def as_json(self) -> dict[str, object]:
        """Counts, the hit rate and the revenue recovered per control (IQD, 3 decimals)."""
        hit = Decimal(self.found) / self.checked if self.checked else Decimal(0)
        per = self.extra_duty_iqd / self.checked if self.checked else Decimal(0)
        return {
            "declarations": self.declarations,
            "checked": self.checked,
            "found": self.found,
            "hit_rate": hit.quantize(Decimal("0.0001")),
            "extra_duty_iqd": self.extra_duty_iqd,
            "extra_duty_per_check_iqd": round_money(per, IQD_MINOR_UNITS),
        }


@dataclass
class RiskReport:
    """Hit rates by lane, by rule and for the random control; revenue by crossing and month."""

    by_lane: dict[str, Rate] = field(default_factory=lambda: defaultdict(Rate))
    by_rule: dict[int, Rate] = field(default_factory=lambda: defaultdict(Rate))
    random_control: Rate = field(default_factory=Rate)
    by_crossing_month: dict[tuple[str, str], Rate] = field(
        default_factory=lambda: defaultdict(Rate)
    )

    def as_json(self) -> dict[str, object]:
        """The report as plain data."""
        return {
            "by_lane": {k: v.as_json() for k, v in sorted(self.by_lane.items())},
            "by_rule": {str(k): v.as_json() for k, v in sorted(self.by_rule.items())},
            "random_control": self.random_control.as_json(),
            "by_crossing_month": [
                {"crossing": c, "month": m, **v.as_json()}
                for (c, m), v in sorted(self.by_crossing_month.items())
            ],
        }


def risk_report(outcomes: Iterable[ControlOutcome]) -> RiskReport:
    """Aggregate control outcomes into the risk report."""
    report = RiskReport()
    for o in outcomes:
        report.by_lane[o.lane].add(o)
        for rule_id in o.matched_rule_ids:
            report.by_rule[rule_id].add(o)
        if o.random_selected:
            report.random_control.add(o)
        report.by_crossing_month[(o.crossing_code, o.month)].add(o)
    return report
