"""Exact money: Decimal amounts with a known currency and explicit rounding rules.

Rounding rule (documented in docs/adr/0003-money.md): amounts are rounded to the currency's
minor unit with ROUND_HALF_UP, once per assessment line; totals are sums of rounded lines, so a
declaration's total always equals the sum of what its lines show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

IQD = "IQD"
IQD_MINOR_UNITS = 3  # ISO 4217: the Iraqi dinar has 1,000 fils


def quantum(minor_units: int) -> Decimal:
    """Return the smallest unit for ``minor_units`` decimal places (3 -> 0.001)."""
    return Decimal(1).scaleb(-minor_units)


def round_money(amount: Decimal, minor_units: int) -> Decimal:
    """Round to the minor unit, halves away from zero (ROUND_HALF_UP)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    return amount.quantize(quantum(minor_units), rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, minor_units: int) -> int:
    """Convert an amount already on its minor unit to an integer count of minor units."""
    scaled = amount.scaleb(minor_units)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {minor_units} decimal places")
    return int(scaled)


def from_minor(value: int, minor_units: int) -> Decimal:
    """Convert an integer count of minor units back to a Decimal amount."""
    return Decimal(value).scaleb(-minor_units).quantize(quantum(minor_units))


@dataclass(frozen=True, order=True)
class Money:
    """An exact amount in a currency; arithmetic only between equal currencies."""

    currency: str
    amount: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money amount must be Decimal, not {type(self.amount).__name__}")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 code: {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.amount + other.amount)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.amount - other.amount)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    @classmethod
    def iqd(cls, amount: Decimal | int | str) -> Money:
        """An amount in Iraqi dinar."""
        return cls(IQD, Decimal(amount))

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def allocate(total: Decimal, weights: Sequence[Decimal], minor_units: int) -> list[Decimal]:
    """Split ``total`` over ``weights`` in minor units so that the parts sum exactly to it.

    Largest-remainder method: every part is first rounded down, then the missing minor units go
    one by one to the parts with the largest remainders (ties to the earlier part).
    """
    if not weights:
        return []
    if any(w < 0 for w in weights):
        raise ValueError("allocation weights must not be negative")
    q = quantum(minor_units)
    total = round_money(total, minor_units)
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    exact = [total * w / weight_sum for w in weights]
    floors = [e.quantize(q, rounding=ROUND_DOWN) for e in exact]
    missing = int((total - sum(floors, Decimal(0))) / q)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:missing]:
        floors[i] += q
    return floors
