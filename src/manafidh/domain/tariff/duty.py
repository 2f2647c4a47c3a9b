"""The duty of one goods line under a duty expression, in IQD, with the working shown.

Rounding (ADR 0003): components, MIN and MAX are computed without rounding; the line's duty is
rounded once, to the fils with ROUND_HALF_UP. ``Duty`` carries both the rounded ``amount`` and the
``exact`` figure it came from.

Quantities are given in base units, keyed by code: ``kg`` (net mass), ``l``, ``item``, ``pair``,
``m``, ``m2``, ``m3``, ``% vol`` (alcoholic strength), ``% sacchar.`` (sucrose content), and for a
qualified mass ``kg <qualifier>`` (``kg gross``, ``kg net drained wt``, ``kg lactic matter``, ...).
A duty per tonne or per hectolitre is computed from ``kg`` or ``l``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from typing import TypeAlias

from manafidh.domain.errors import DomainError, NoRateInForce, ValidationFailed
from manafidh.domain.money import IQD, IQD_MINOR_UNITS, quantum, round_money
from manafidh.domain.tariff.expressions import (
    MONTHS,
    AdValorem,
    AgriculturalComponent,
    Compound,
    DutyExpression,
    EntryPrice,
    Maximum,
    Minimum,
    Seasonal,
    Specific,
)
from manafidh.domain.tariff.expressions import format as format_expression

Converter: TypeAlias = Callable[[Decimal, str], Decimal]
"""Converts an amount in a foreign currency to IQD: ``convert(amount, "EUR") -> IQD``."""

HUNDRED = Decimal(100)
FILS = quantum(IQD_MINOR_UNITS)
# Enough digits that a customs value times a rate times a quantity is never cut short.
_PRECISION = 60

# A goods line declares kg and litres; tonnes and hectolitres are derived from them.
_BASE_UNITS: dict[str, tuple[str, Decimal]] = {
    "tonne": ("kg", Decimal(1000)),
    "hl": ("l", Decimal(100)),
}
# Qualifiers that name no other quantity: declarations record net mass already.
_NET_QUALIFIERS = frozenset({"net", "net/% sacchar."})
# Qualifiers that multiply by a content: per 100 kg net *per percent of sucrose*.
_CONTENT_QUALIFIERS = {"net/% sacchar.": "% sacchar."}


class DutyNotComputable(DomainError):
    """The expression is valid but its amount comes from a table Iraq's tariff does not have."""

    code = "duty_not_computable"
    kind = "invalid"


@dataclass(frozen=True)
class Duty:
    """The duty of a goods line in IQD: rounded to the fils, exact, and explained."""

    amount: Decimal
    exact: Decimal
    explanation: tuple[str, ...]


def quantities_for(component: Specific) -> tuple[tuple[str, Decimal], ...]:
    """The (quantity code, divisor) pairs whose quotients multiply to the units a duty is on."""
    if component.unit == "% vol/hl":
        measure, divisor = "l", HUNDRED
        extra: tuple[tuple[str, Decimal], ...] = (("% vol", Decimal(1)),)
    else:
        measure, divisor = _BASE_UNITS.get(component.unit, (component.unit, Decimal(1)))
        extra = ()
    qualifier = component.qualifier
    if qualifier is not None and qualifier not in _NET_QUALIFIERS:
        measure = f"{measure} {qualifier}"
    if qualifier in _CONTENT_QUALIFIERS:
        extra = (*extra, (_CONTENT_QUALIFIERS[qualifier], Decimal(1)))
    return ((measure, divisor), *extra)


def _components(expression: DutyExpression) -> Iterator[object]:
    match expression:
        case Compound(components):
            yield from components
        case Minimum(base, floor):
            yield from _components(base)
            yield from _components(floor)
        case Maximum(base, ceiling):
            yield from _components(base)
            yield from _components(ceiling)
        case Seasonal(rates):
            for r in rates:
                yield from _components(r.rate)
        case _:
            yield expression


def required_quantities(expression: DutyExpression) -> frozenset[str]:
    """The quantity codes a goods line must give for ``expression`` (whatever the season)."""
    return frozenset(
        code
        for component in _components(expression)
        if isinstance(component, Specific)
        for code, _ in quantities_for(component)
    )


def _show(value: Decimal) -> str:
    # Exact, but without the zeros past the fils that multiplying by rates adds.
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -IQD_MINOR_UNITS and value == value.quantize(FILS):
        value = value.quantize(FILS)
    return f"{value:f}"


def _checked(value: object, name: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be Decimal, not {type(value).__name__}")
    if not value.is_finite() or value < 0:
        raise ValidationFailed(f"{name} must be a finite amount of zero or more, not {value}")
    return value.copy_abs()  # -0 would carry its sign into the duty and print as "-0.000"


class _Computation:
    def __init__(
        self,
        customs_value: Decimal,
        quantities: Mapping[str, Decimal],
        convert: Converter,
        on: date | None,
    ) -> None:
        self.customs_value = customs_value
        self.quantities = quantities
        self.convert = convert
        self.on = on
        self.lines: list[str] = []

    def value(self, expression: DutyExpression) -> Decimal:
        match expression:
            case AdValorem(percent):
                duty = self.customs_value * percent / HUNDRED
                self.lines.append(
                    f"{percent:f}% of the customs value {_show(self.customs_value)} IQD"
                    f" = {_show(duty)} IQD"
                )
                return duty
            case Specific():
                return self.specific(expression)
            case AgriculturalComponent(code):
                raise DutyNotComputable(
                    f"the agricultural component {code} needs the EU agricultural-component"
                    " table (Meursing table), which Iraq's tariff does not have",
                    component=code,
                    table="agricultural_components",
                )
            case Compound(components):
                total = sum((self.value(c) for c in components), Decimal(0))
                self.lines.append(f"sum of {len(components)} components = {_show(total)} IQD")
                return total
            case Minimum(base, floor):
                duty, least = self.value(base), self.value(floor)
                binds = least > duty
                self.lines.append(
                    f"minimum {format_expression(floor)} = {_show(least)} IQD"
                    + (" applies" if binds else f" is below {_show(duty)} IQD and does not apply")
                )
                return least if binds else duty
            case Maximum(base, ceiling):
                duty, most = self.value(base), self.value(ceiling)
                binds = most < duty
                self.lines.append(
                    f"maximum {format_expression(ceiling)} = {_show(most)} IQD"
                    + (" applies" if binds else f" is above {_show(duty)} IQD and does not apply")
                )
                return most if binds else duty
            case Seasonal():
                return self.seasonal(expression)
            case EntryPrice():
                raise DutyNotComputable(
                    "an entry-price duty needs the EU entry-price table, which Iraq's tariff"
                    " does not have",
                    table="entry_prices",
                )
        raise TypeError(f"not a duty expression: {expression!r}")

    def specific(self, component: Specific) -> Decimal:
        units = Decimal(1)
        used: list[str] = []
        for code, divisor in quantities_for(component):
            if code not in self.quantities:
                raise ValidationFailed(
                    f"the duty {format_expression(component)} needs the quantity in {code!r},"
                    " which the goods line does not give",
                    unit=code,
                    field="quantities",
                )
            units *= self.quantities[code] / divisor
            used.append(f"{_show(self.quantities[code])} {code}")
        native = component.amount * units / component.per_quantity
        text = f"{format_expression(component)} on {' x '.join(used)} = {_show(native)}"
        if component.currency == IQD:
            self.lines.append(f"{text} IQD")
            return native
        duty = _checked(self.convert(native, component.currency), "the converted amount")
        self.lines.append(f"{text} {component.currency} = {_show(duty)} IQD")
        return duty

    def seasonal(self, expression: Seasonal) -> Decimal:
        if self.on is None:
            raise ValidationFailed(
                f"the seasonal duty {format_expression(expression)} needs the date of the"
                " declaration",
                field="on",
            )
        rate = expression.rate_on(self.on.month, self.on.day)
        day = f"{self.on.day:02d} {MONTHS[self.on.month - 1]}"
        if rate is None:
            raise NoRateInForce(
                f"the seasonal duty {format_expression(expression)} has no rate on {day}",
                date=self.on.isoformat(),
            )
        self.lines.append(f"on {day} the seasonal rate is {format_expression(rate)}")
        return self.value(rate)


def compute_duty(
    expression: DutyExpression,
    *,
    customs_value: Decimal,
    quantities: Mapping[str, Decimal],
    convert: Converter,
    on: date | None = None,
) -> Duty:
    """The duty of one goods line in IQD, rounded once to the fils, with the working shown."""
    value = _checked(customs_value, "customs_value")
    # Every quantity is checked, used or not, so that no float reaches any computation.
    checked = {code: _checked(q, f"quantity {code!r}") for code, q in quantities.items()}
    if on is not None and not isinstance(on, date):
        raise TypeError(f"on must be a date, not {type(on).__name__}")
    computation = _Computation(value, checked, convert, on)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        exact = computation.value(expression)
        amount = round_money(exact, IQD_MINOR_UNITS)
        computation.lines.append(
            f"duty {_show(exact)} IQD, rounded to the fils (half up): {amount:f} IQD"
        )
    return Duty(amount=amount, exact=exact, explanation=tuple(computation.lines))
