"""Column types that keep numbers exact on both SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from manafidh.domain.money import IQD_MINOR_UNITS, from_minor, to_minor


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal stored as NUMERIC on PostgreSQL and as text on SQLite (which has no decimal).

    Used for rates, masses and quantities: values that are compared and shown, not summed in SQL.
    """

    impl = String(40)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(28, 10, asdecimal=True))
        return dialect.type_descriptor(String(40))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"ExactDecimal needs Decimal, got {type(value).__name__}")
        if dialect.name == "postgresql":
            return value
        return format(plain(value), "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        d = value if isinstance(value, Decimal) else Decimal(str(value))
        # NUMERIC(28,10) pads with zeros; strip them so both backends read back the same value.
        return plain(d)


def plain(d: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (1310.000 -> 1310)."""
    if d == d.to_integral_value():
        return d.quantize(Decimal(1))
    return d.normalize()


class Fils(TypeDecorator[Decimal]):
    """An IQD amount stored as an integer count of fils, so SQL sums stay exact."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return to_minor(value, IQD_MINOR_UNITS)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_minor(int(value), IQD_MINOR_UNITS)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC; SQLite (which drops the zone) reads back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every instant must carry its time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
