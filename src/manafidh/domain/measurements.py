"""Quantities an inspector measured, line by line, beside what was declared."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from manafidh.domain.errors import ValidationFailed

MAX_MEASURE = Decimal(10) ** 9  # beyond any truck load: a typing error


@dataclass(frozen=True)
class Measurement:
    """What the inspector found for one declared item (either figure may be left out)."""

    line_no: int
    quantity: Decimal | None
    gross_mass_kg: Decimal | None


def parse_measure(text: str, *, field: str) -> Decimal | None:
    """A measured figure typed in a form: blank is None; negative, huge or not a number refused."""
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(f"{field} is not a number", field=field) from None
    if not value.is_finite() or not Decimal(0) <= value <= MAX_MEASURE:
        raise ValidationFailed(f"{field} must be between 0 and {MAX_MEASURE}", field=field)
    if value.as_tuple().exponent < -3:  # type: ignore[operator]
        raise ValidationFailed(f"{field} has more than 3 decimals", field=field)
    return value


def check_measurements(found: list[Measurement], line_numbers: set[int]) -> list[Measurement]:
    """The measurements that carry a figure, each for a declared line, at most once a line."""
    kept = [m for m in found if m.quantity is not None or m.gross_mass_kg is not None]
    seen: set[int] = set()
    for m in kept:
        if m.line_no not in line_numbers or m.line_no in seen:
            raise ValidationFailed(f"no declared item {m.line_no} to measure", field="measured")
        seen.add(m.line_no)
    return kept
