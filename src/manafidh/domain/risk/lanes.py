"""Lane selection: configurable rules (data, not code) plus a random control sample."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from manafidh.domain.declarations.model import Content, Lane
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.validity import applies_on

LANE_ORDER = {Lane.GREEN: 0, Lane.YELLOW: 1, Lane.RED: 2}


@dataclass(frozen=True)
class LaneRule:
    """If every set condition holds, the declaration gets at least ``lane``."""

    id: int
    name: str
    lane: Lane
    valid_from: date
    valid_to: date | None
    hs_prefix: str | None = None
    origin_country: str | None = None
    crossing_code: str | None = None
    importer_tax_id: str | None = None
    min_customs_value_iqd: Decimal | None = None

    def __post_init__(self) -> None:
        conditions = (
            self.hs_prefix,
            self.origin_country,
            self.crossing_code,
            self.importer_tax_id,
            self.min_customs_value_iqd,
        )
        if all(c is None for c in conditions):
            raise ValidationFailed(f"lane rule {self.name!r} has no condition", rule=self.name)

    def matches(self, content: Content, crossing_code: str, customs_value_iqd: Decimal) -> bool:
        """True when every condition the rule sets holds for the declaration."""
        if self.crossing_code and self.crossing_code != crossing_code:
            return False
        if self.importer_tax_id and self.importer_tax_id != content.importer_tax_id:
            return False
        if (
            self.min_customs_value_iqd is not None
            and customs_value_iqd < self.min_customs_value_iqd
        ):
            return False
        if self.hs_prefix and not any(i.hs_code.startswith(self.hs_prefix) for i in content.items):
            return False
        if self.origin_country and not (
            content.origin_country == self.origin_country
            or any(i.origin_country == self.origin_country for i in content.items)
        ):
            return False
        return True


@dataclass(frozen=True)
class LaneDecision:
    """The lane chosen and every reason for it, kept for audit and later evaluation."""

    lane: Lane
    reasons: list[str]
    matched_rule_ids: list[int]
    random_draw: Decimal
    random_rate: Decimal
    random_selected: bool


def select_lane(
    *,
    content: Content,
    crossing_code: str,
    customs_value_iqd: Decimal,
    day: date,
    rules: Iterable[LaneRule],
    random_rate: Decimal,
    rng: random.Random,
) -> LaneDecision:
    """Pick the strictest lane among the matching rules, then apply the random control draw.

    The draw is made for every declaration, whatever the rules say, so the control sample is an
    unbiased share of all traffic; a selected declaration goes red.
    """
    if not Decimal(0) <= random_rate <= Decimal(1):
        raise ValidationFailed("random control rate must be between 0 and 1", rate=str(random_rate))
    lane = Lane.GREEN
    reasons: list[str] = []
    matched: list[int] = []
    for rule in rules:
        if applies_on(rule, day) and rule.matches(content, crossing_code, customs_value_iqd):
            matched.append(rule.id)
            reasons.append(f"rule {rule.id} '{rule.name}' -> {rule.lane.value}")
            if LANE_ORDER[rule.lane] > LANE_ORDER[lane]:
                lane = rule.lane
    draw = Decimal(rng.randrange(1_000_000)) / Decimal(1_000_000)
    selected = draw < random_rate
    if selected:
        reasons.append(f"random control sample ({random_rate * 100}%) -> red")
        lane = Lane.RED
    if not reasons:
        reasons.append("no rule matched -> green")
    return LaneDecision(lane, reasons, matched, draw, random_rate, selected)
