"""Ad-valorem tariff rates by HS code prefix, effective-dated, each with its legal reference.

The foundation schedule is by HS chapter; a rate keyed on a longer prefix (heading,
subheading, national line) is more specific and wins. The full measure model (specific and
compound duties, origins, quotas) deepens this module.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from manafidh.domain.errors import NoRateInForce, ValidationFailed
from manafidh.domain.validity import applies_on, find_overlap


@dataclass(frozen=True)
class TariffRate:
    """An ad-valorem rate for every HS code starting with ``code_prefix``."""

    id: int
    code_prefix: str
    rate_percent: Decimal
    valid_from: date
    valid_to: date | None
    legal_reference: str

    def __post_init__(self) -> None:
        if not self.code_prefix.isdigit() or len(self.code_prefix) not in (2, 4, 6, 8, 10):
            raise ValidationFailed(f"bad tariff code {self.code_prefix!r}", field="code_prefix")
        if self.rate_percent < 0:
            raise ValidationFailed("a tariff rate cannot be negative", field="rate_percent")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValidationFailed("a tariff rate ends before it starts", field="valid_to")


class TariffSchedule:
    """Rates indexed by code prefix; answers which rate applies to a code on a date."""

    def __init__(self, rates: Iterable[TariffRate]) -> None:
        self._by_prefix: dict[str, list[TariffRate]] = defaultdict(list)
        for rate in rates:
            self._by_prefix[rate.code_prefix].append(rate)
        for prefix, same in self._by_prefix.items():
            clash = find_overlap(same)
            if clash:
                raise ValidationFailed(
                    f"overlapping validity for tariff code {prefix}",
                    code_prefix=prefix,
                    ids=[clash[0].id, clash[1].id],
                )

    def rate_for(self, hs_code: str, day: date) -> TariffRate:
        """The most specific rate in force for ``hs_code`` on ``day``."""
        for length in (10, 8, 6, 4, 2):
            if len(hs_code) < length:
                continue
            for rate in self._by_prefix.get(hs_code[:length], ()):
                if applies_on(rate, day):
                    return rate
        raise NoRateInForce(
            f"no tariff rate in force for {hs_code} on {day.isoformat()}",
            hs_code=hs_code,
            date=day.isoformat(),
        )

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_prefix.values())
