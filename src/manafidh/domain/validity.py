"""Effective dating: the one rule that decides whether something applies on a date."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Protocol, TypeVar


class Dated(Protocol):
    """Anything with an inclusive validity period (``valid_to`` None means open-ended)."""

    @property
    def valid_from(self) -> date: ...

    @property
    def valid_to(self) -> date | None: ...


T = TypeVar("T", bound=Dated)


def applies_on(item: Dated, day: date) -> bool:
    """True when ``valid_from <= day`` and (``valid_to`` is None or ``day <= valid_to``)."""
    return item.valid_from <= day and (item.valid_to is None or day <= item.valid_to)


def in_force(items: Iterable[T], day: date) -> list[T]:
    """Every item of ``items`` that applies on ``day``."""
    return [item for item in items if applies_on(item, day)]


def overlaps(a: Dated, b: Dated) -> bool:
    """True when the two validity periods share at least one day."""
    a_end = a.valid_to or date.max
    b_end = b.valid_to or date.max
    return a.valid_from <= b_end and b.valid_from <= a_end


@dataclass(frozen=True)
class Period:
    """A plain validity period."""

    valid_from: date
    valid_to: date | None = None

    def __post_init__(self) -> None:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"period ends ({self.valid_to}) before it starts ({self.valid_from})")


def find_overlap(items: Sequence[T]) -> tuple[T, T] | None:
    """Return the first pair of items whose periods overlap, or None."""
    ordered = sorted(items, key=lambda i: i.valid_from)
    for earlier, later in pairwise(ordered):
        if overlaps(earlier, later):
            return earlier, later
    return None
