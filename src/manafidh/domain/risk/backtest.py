"""Try a lane rule against history before enabling it: how many it hits, how many were frauds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from manafidh.domain.declarations.model import Content
from manafidh.domain.risk.lanes import LaneRule, RuleFacts


@dataclass(frozen=True)
class PastCase:
    """A past declaration as lodged, and what its inspection (if any) found."""

    declaration_id: str
    content: Content
    crossing_code: str
    customs_value_iqd: Decimal
    day: date
    inspected: bool
    found: bool
    facts: RuleFacts | None = None


@dataclass(frozen=True)
class BacktestResult:
    """What a rule would have hit, and the finding rate among the hits that were inspected."""

    declarations: int
    hits: int
    hits_inspected: int
    hits_found: int
    inspected: int
    found: int

    @property
    def hit_share(self) -> Decimal:
        """Share of all declarations the rule would have sent to its lane."""
        return _share(self.hits, self.declarations)

    @property
    def hit_fraud_share(self) -> Decimal:
        """Share of the inspected hits where fraud was found."""
        return _share(self.hits_found, self.hits_inspected)

    @property
    def base_fraud_share(self) -> Decimal:
        """Share of all inspected declarations where fraud was found (to compare against)."""
        return _share(self.found, self.inspected)

    def as_json(self) -> dict[str, object]:
        """Counts and shares (4 decimals) for the API, the CLI and the audit log."""
        return {
            "declarations": self.declarations,
            "hits": self.hits,
            "hits_inspected": self.hits_inspected,
            "hits_found": self.hits_found,
            "inspected": self.inspected,
            "found": self.found,
            "hit_share": self.hit_share,
            "hit_fraud_share": self.hit_fraud_share,
            "base_fraud_share": self.base_fraud_share,
        }


def _share(part: int, whole: int) -> Decimal:
    if whole == 0:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def backtest(rule: LaneRule, cases: Iterable[PastCase]) -> BacktestResult:
    """Count the past declarations ``rule`` matches, ignoring its validity dates (a what-if)."""
    n = hits = hits_inspected = hits_found = inspected = found = 0
    for case in cases:
        n += 1
        inspected += case.inspected
        found += case.found
        if rule.matches(case.content, case.crossing_code, case.customs_value_iqd, case.facts):
            hits += 1
            hits_inspected += case.inspected
            hits_found += case.found
    return BacktestResult(n, hits, hits_inspected, hits_found, inspected, found)
