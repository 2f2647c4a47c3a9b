"""Valuation control: reference unit values per HS subheading and origin, and flags.

Reference values (IQD per kg net) are robust statistics of cleared history - the median and the
25th and 10th percentiles - or an official table. A line declared far below the reference
(under ``valuation.low_value_ratio`` x the median, a dated parameter) raises a flag for risk and
for an officer's uplift decision, with the reference shown. The declared value is never replaced:
the WTO Valuation Agreement and the WCO forbid a valuation database that sets minimum values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

LOW_VALUE_RATIO = "valuation.low_value_ratio"
MIN_SAMPLE = "valuation.min_sample"
PER_KG_PLACES = Decimal("0.001")


@dataclass(frozen=True)
class Observation:
    """One cleared line: subheading, origin, net mass and customs value in IQD."""

    hs6: str
    origin: str
    net_kg: Decimal
    value_iqd: Decimal


@dataclass(frozen=True)
class ReferenceValue:
    """The reference unit value of a subheading from an origin, with how it was reached."""

    hs6: str
    origin: str
    median_per_kg: Decimal
    p25_per_kg: Decimal
    p10_per_kg: Decimal
    sample_size: int
    source: str  # "history" or the official table's reference


@dataclass(frozen=True)
class ValuationFlag:
    """A line declared far below its reference value (the declared value stands)."""

    line_no: int
    hs6: str
    origin: str
    declared_per_kg: Decimal
    reference: ReferenceValue
    ratio: Decimal
    threshold: Decimal

    def explanation(self) -> str:
        """Why the line is flagged, with the reference shown."""
        r = self.reference
        return (
            f"line {self.line_no}: {self.declared_per_kg} IQD/kg declared for {self.hs6} from"
            f" {self.origin} is {self.ratio} of the reference median {r.median_per_kg} IQD/kg"
            f" (25th percentile {r.p25_per_kg}, {r.sample_size} cleared lines, {r.source});"
            f" flagged below {self.threshold}"
        )


def percentile(ordered: list[Decimal], q: Decimal) -> Decimal:
    """The ``q`` quantile (0..1) of sorted values, interpolated linearly, in Decimal."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def reference_values(
    observations: Iterable[Observation], *, min_sample: int
) -> list[ReferenceValue]:
    """Reference unit values of every subheading x origin with at least ``min_sample`` lines."""
    groups: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for o in observations:
        if o.net_kg > 0:
            groups[(o.hs6, o.origin)].append(o.value_iqd / o.net_kg)
    found = []
    for (hs6, origin), values in sorted(groups.items()):
        if len(values) < min_sample:
            continue
        values.sort()

        def q(p: str, values: list[Decimal] = values) -> Decimal:
            return percentile(values, Decimal(p)).quantize(PER_KG_PLACES)

        found.append(
            ReferenceValue(hs6, origin, q("0.5"), q("0.25"), q("0.1"), len(values), "history")
        )
    return found


def flag_line(
    line_no: int,
    observation: Observation,
    reference: ReferenceValue | None,
    threshold: Decimal,
) -> ValuationFlag | None:
    """A flag when the line's unit value is below ``threshold`` x the reference median."""
    if reference is None or reference.median_per_kg <= 0 or observation.net_kg <= 0:
        return None
    per_kg = (observation.value_iqd / observation.net_kg).quantize(PER_KG_PLACES)
    ratio = (per_kg / reference.median_per_kg).quantize(Decimal("0.0001"))
    if ratio >= threshold:
        return None
    return ValuationFlag(
        line_no, observation.hs6, observation.origin, per_kg, reference, ratio, threshold
    )
