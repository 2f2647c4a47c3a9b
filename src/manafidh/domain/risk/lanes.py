"""Lane selection: configurable rules (data, not code) plus a random control sample.

A rule's conditions look at the declaration's content and at :class:`RuleFacts`, what the
system knew when it laned the declaration (its valuation flags, a weighing of the truck, an
exemption claimed, the hour, how many declarations the importer lodged before). Its action is a
lane (yellow or red) or a score weight added to the learned risk score (in log-odds).
"""

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
class RuleFacts:
    """What the system knew of a declaration, beyond its content, when it chose the lane.

    ``None`` means not known (e.g. no weighing yet): a condition on an unknown fact never holds.
    """

    declarant_id: str | None = None
    valuation_flagged: bool | None = None  # a line declared far below its reference value
    weight_mismatch: bool | None = None  # the weighbridge disagrees with the declared mass
    exemption_used: bool | None = None
    local_hour: int | None = None  # hour of lodging at the crossing (Iraq time), 0-23
    importer_prior_declarations: int | None = None  # lodged by the importer before this one


# The conditions on facts, by the rule field that sets each (also the facts a service computes).
FACT_CONDITIONS = (
    "declarant_id",
    "valuation_flag",
    "weight_mismatch",
    "exemption_use",
    "hour_from",
    "first_declarations",
)
MAX_SCORE_WEIGHT = Decimal(10)  # in log-odds: +10 is certain red, beyond is a typing error


@dataclass(frozen=True)
class LaneRule:
    """If every set condition holds, the declaration gets at least ``lane`` (or a score weight).

    ``hour_from``/``hour_to`` select lodgings from hour_from:00 up to hour_to:00 (Iraq time),
    across midnight when hour_to < hour_from; ``first_declarations`` N selects an importer's
    first N declarations. A rule whose action is a score weight has the green lane (no floor).
    """

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
    declarant_id: str | None = None
    valuation_flag: bool | None = None
    weight_mismatch: bool | None = None
    exemption_use: bool | None = None
    hour_from: int | None = None
    hour_to: int | None = None
    first_declarations: int | None = None
    score_weight: Decimal | None = None

    def __post_init__(self) -> None:
        conditions = (
            self.hs_prefix,
            self.origin_country,
            self.crossing_code,
            self.importer_tax_id,
            self.min_customs_value_iqd,
            self.declarant_id,
            self.valuation_flag or None,
            self.weight_mismatch or None,
            self.exemption_use or None,
            self.hour_from,
            self.first_declarations,
        )
        if all(c is None for c in conditions):
            raise ValidationFailed(f"lane rule {self.name!r} has no condition", rule=self.name)
        if (self.hour_from is None) != (self.hour_to is None):
            raise ValidationFailed(
                "a time of day needs both hour_from and hour_to", field="hour_to"
            )
        if self.hour_from is not None and self.hour_to is not None:
            if not (0 <= self.hour_from <= 23 and 0 <= self.hour_to <= 24):
                raise ValidationFailed("hours are 0 to 24", field="hour_from")
            if self.hour_from == self.hour_to:
                raise ValidationFailed("hour_from and hour_to are equal", field="hour_to")
        if self.first_declarations is not None and not 1 <= self.first_declarations <= 1000:
            raise ValidationFailed("first_declarations is 1 to 1000", field="first_declarations")
        if self.score_weight is None:
            if self.lane is Lane.GREEN:
                raise ValidationFailed(
                    "a rule sends to yellow or red, or adds a score weight", field="lane"
                )
        else:
            if self.lane is not Lane.GREEN:
                raise ValidationFailed(
                    "a rule either sets a lane or adds a score weight, not both",
                    field="score_weight",
                )
            if self.score_weight == 0 or abs(self.score_weight) > MAX_SCORE_WEIGHT:
                raise ValidationFailed(
                    f"score weight must be non-zero and at most {MAX_SCORE_WEIGHT} either way",
                    field="score_weight",
                )

    @property
    def conditions(self) -> dict[str, object]:
        """The conditions the rule sets, by field name (for lists and the audit log)."""
        actions = ("id", "name", "lane", "valid_from", "valid_to", "score_weight")
        return {k: v for k, v in vars(self).items() if k not in actions and v is not None}

    def uses(self) -> set[str]:
        """The facts (names in FACT_CONDITIONS) this rule needs to be evaluated."""
        return {name for name in FACT_CONDITIONS if getattr(self, name) not in (None, False)}

    def action(self) -> str:
        """The rule's action in words: its lane, or its score weight."""
        if self.score_weight is not None:
            return f"score weight {self.score_weight:+}"
        return self.lane.value

    def matches(
        self,
        content: Content,
        crossing_code: str,
        customs_value_iqd: Decimal,
        facts: RuleFacts | None = None,
    ) -> bool:
        """True when every condition the rule sets holds for the declaration."""
        if not self._facts_hold(facts or RuleFacts()):
            return False
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

    def _facts_hold(self, f: RuleFacts) -> bool:
        if self.declarant_id and self.declarant_id != f.declarant_id:
            return False
        if self.valuation_flag and not f.valuation_flagged:
            return False
        if self.weight_mismatch and not f.weight_mismatch:
            return False
        if self.exemption_use and not f.exemption_used:
            return False
        if (
            self.hour_from is not None
            and self.hour_to is not None
            and (f.local_hour is None or not in_hours(f.local_hour, self.hour_from, self.hour_to))
        ):
            return False
        if self.first_declarations is not None:
            prior = f.importer_prior_declarations
            if prior is None or prior >= self.first_declarations:
                return False
        return True


def in_hours(hour: int, hour_from: int, hour_to: int) -> bool:
    """True when ``hour`` falls from ``hour_from`` up to ``hour_to`` (across midnight if needed)."""
    if hour_from < hour_to:
        return hour_from <= hour < hour_to
    return hour >= hour_from or hour < hour_to


@dataclass(frozen=True)
class LaneDecision:
    """The lane chosen and every reason for it, kept for audit and later evaluation."""

    lane: Lane
    reasons: list[str]
    matched_rule_ids: list[int]
    random_draw: Decimal
    random_rate: Decimal
    random_selected: bool
    # (rule id, weight) of the matching score-weight rules, added to the risk score later.
    score_weights: tuple[tuple[int, Decimal], ...] = ()

    @property
    def score_weight(self) -> Decimal:
        """The sum of the matching rules' score weights (log-odds)."""
        return sum((w for _, w in self.score_weights), Decimal(0))


def select_lane(
    *,
    content: Content,
    crossing_code: str,
    customs_value_iqd: Decimal,
    day: date,
    rules: Iterable[LaneRule],
    random_rate: Decimal,
    rng: random.Random,
    facts: RuleFacts | None = None,
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
    weights: list[tuple[int, Decimal]] = []
    for rule in rules:
        if applies_on(rule, day) and rule.matches(content, crossing_code, customs_value_iqd, facts):
            matched.append(rule.id)
            reasons.append(f"rule {rule.id} '{rule.name}' -> {rule.action()}")
            if rule.score_weight is not None:
                weights.append((rule.id, rule.score_weight))
            elif LANE_ORDER[rule.lane] > LANE_ORDER[lane]:
                lane = rule.lane
    draw = Decimal(rng.randrange(1_000_000)) / Decimal(1_000_000)
    selected = draw < random_rate
    if selected:
        reasons.append(f"random control sample ({random_rate * 100}%) -> red")
        lane = Lane.RED
    if not reasons:
        reasons.append("no rule matched -> green")
    return LaneDecision(lane, reasons, matched, draw, random_rate, selected, tuple(weights))
