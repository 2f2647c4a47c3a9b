"""Tariff measures as data, after the UK Online Trade Tariff: which measure applies, and why.

A measure has a commodity code (an HS chapter, heading or subheading, or a national 8/10-digit
line: it covers every code below it in the tree), a measure type, an origin (every country, a
group of countries or one country), an inclusive validity period, a legal reference, and, for
duties and levies, a duty expression (``10% + 77 GBP/100 kg``). For each measure type the most
specific measure in force wins: the longest commodity code first, then the narrowest origin
(one country before a group before every country).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache

from manafidh.domain.errors import DomainError, ValidationFailed
from manafidh.domain.tariff.expressions import DutyExpression, parse
from manafidh.domain.validity import applies_on, find_overlap

ALL_ORIGINS = "ALL"  # erga omnes: every country of origin
CODE_LENGTHS = (10, 8, 6, 4, 2)


class MeasureType(StrEnum):
    """What a measure does to a goods line."""

    IMPORT_DUTY = "import_duty"  # the customs duty
    OTHER_TAX = "other_tax"  # other taxes and levies, charged on top of the duty
    PROHIBITION = "prohibition"  # the goods may not be imported
    LICENCE = "licence"  # the goods need an import licence

    @property
    def charges(self) -> bool:
        """True when the measure carries a duty expression that yields an amount."""
        return self in (MeasureType.IMPORT_DUTY, MeasureType.OTHER_TAX)


class GoodsProhibited(DomainError):
    """A goods line falls under a prohibition in force on the acceptance date."""

    code = "goods_prohibited"
    kind = "invalid"


@lru_cache(maxsize=65536)
def parsed(text: str) -> DutyExpression:
    """The parsed duty expression (cached: a tariff repeats the same few thousand texts)."""
    return parse(text)


def check_code(code: str) -> None:
    """Raise unless ``code`` is an HS chapter, heading, subheading or national line."""
    if not (code.isascii() and code.isdigit() and len(code) in CODE_LENGTHS):
        raise ValidationFailed(
            f"bad commodity code {code!r}: 2, 4, 6, 8 or 10 digits", field="code", code=code
        )


@dataclass(frozen=True)
class Measure:
    """One dated measure on a commodity code for an origin, with its legal reference."""

    id: int
    code: str
    measure_type: MeasureType
    origin: str
    valid_from: date
    valid_to: date | None
    legal_reference: str
    expression: str = ""

    def __post_init__(self) -> None:
        check_code(self.code)
        if not isinstance(self.measure_type, MeasureType):
            raise ValidationFailed(f"unknown measure type {self.measure_type!r}")
        o = self.origin
        if not (o == ALL_ORIGINS or (o.isascii() and o.isalnum() and o.isupper() and o)):
            raise ValidationFailed(f"bad origin {o!r}", field="origin")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValidationFailed("a measure ends before it starts", field="valid_to")
        if not self.legal_reference.strip():
            raise ValidationFailed("a measure needs its legal reference", field="legal_reference")
        if self.measure_type.charges:
            parsed(self.expression)  # raises ValidationFailed with the position
        elif self.expression:
            raise ValidationFailed(
                f"a {self.measure_type.value} measure carries no duty expression",
                field="expression",
            )

    @property
    def duty(self) -> DutyExpression:
        """The parsed duty expression."""
        return parsed(self.expression)

    @property
    def key(self) -> tuple[str, MeasureType, str]:
        """What may not overlap in validity: code, type and origin."""
        return (self.code, self.measure_type, self.origin)

    def describe(self) -> str:
        """One line: type, code, origin, expression, validity and legal reference."""
        until = self.valid_to.isoformat() if self.valid_to else "open"
        what = f" {self.expression}" if self.expression else ""
        return (
            f"{self.measure_type.value}{what} on {self.code} for origin {self.origin},"
            f" valid {self.valid_from.isoformat()} to {until} ({self.legal_reference})"
        )


@dataclass(frozen=True)
class Applicable:
    """The measures that apply to one code, origin and day, with the reasons for the choice."""

    code: str
    origin: str
    day: date
    chosen: dict[MeasureType, Measure] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    @property
    def duty(self) -> Measure | None:
        """The import duty measure, if any."""
        return self.chosen.get(MeasureType.IMPORT_DUTY)


def origin_rank(measure_origin: str, origin: str, groups: Mapping[str, frozenset[str]]) -> int:
    """How narrowly a measure's origin names ``origin``: 2 country, 1 group, 0 all, -1 not."""
    if measure_origin == origin:
        return 2
    if origin in groups.get(measure_origin, frozenset()):
        return 1
    if measure_origin == ALL_ORIGINS:
        return 0
    return -1


def find_overlaps(measures: Iterable[Measure]) -> list[tuple[Measure, Measure]]:
    """Every pair of measures with the same code, type and origin whose validity overlaps."""
    by_key: dict[tuple[str, MeasureType, str], list[Measure]] = defaultdict(list)
    for m in measures:
        by_key[m.key].append(m)
    found = []
    for same in by_key.values():
        if len(same) > 1:
            clash = find_overlap(same)
            if clash:
                found.append(clash)
    return found


class MeasureIndex:
    """Measures indexed by commodity code; answers which apply to a code, origin and day."""

    def __init__(
        self, measures: Iterable[Measure], groups: Mapping[str, frozenset[str]] | None = None
    ) -> None:
        self._by_code: dict[str, list[Measure]] = defaultdict(list)
        for m in measures:
            self._by_code[m.code].append(m)
        self.groups: Mapping[str, frozenset[str]] = groups or {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_code.values())

    def candidates(self, code: str) -> list[Measure]:
        """Every measure on ``code`` or on a code above it in the tree, most specific first."""
        return [
            m
            for length in CODE_LENGTHS
            if len(code) >= length
            for m in self._by_code.get(code[:length], ())
        ]

    def applicable(self, code: str, origin: str, day: date) -> Applicable:
        """For each measure type, the most specific measure in force for ``origin`` on ``day``."""
        best: dict[MeasureType, tuple[tuple[int, int], Measure]] = {}
        reasons: list[str] = []
        for m in self.candidates(code):
            rank = origin_rank(m.origin, origin, self.groups)
            if rank < 0 or not applies_on(m, day):
                continue
            score = (len(m.code), rank)
            held = best.get(m.measure_type)
            if held is None or score > held[0]:
                if held is not None:
                    reasons.append(f"{held[1].describe()} set aside: {m.code} is more specific")
                best[m.measure_type] = (score, m)
            else:
                reasons.append(f"{m.describe()} set aside: {held[1].code} is more specific")
        chosen = {t: m for t, (_, m) in best.items()}
        why = tuple(f"applies: {m.describe()}" for m in sorted(chosen.values(), key=lambda m: m.id))
        return Applicable(code, origin, day, chosen, why + tuple(reasons))
