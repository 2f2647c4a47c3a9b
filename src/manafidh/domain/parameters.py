"""Effective-dated parameters (OpenFisca style): a change in law is a new dated value."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from manafidh.domain.errors import NoRateInForce, ValidationFailed
from manafidh.domain.validity import applies_on, find_overlap

# Names of the parameters the rules read. Their values live in data, never here.
RANDOM_CONTROL_RATE = "risk.random_control_rate"
# Share of a crossing's declarations the risk score may send red (its inspection capacity); a
# crossing's own value is named TARGET_RED_SHARE + "." + its code.
TARGET_RED_SHARE = "risk.target_red_share"
# Days within which an inspector is not assigned the same importer again.
INSPECTOR_IMPORTER_GAP_DAYS = "risk.inspector_importer_gap_days"


@dataclass(frozen=True)
class ParameterValue:
    """One dated value of a named parameter, with the act that set it."""

    name: str
    valid_from: date
    valid_to: date | None
    value: Decimal
    legal_reference: str


class Parameters:
    """All dated values of all parameters; answers the value in force on a date."""

    def __init__(self, values: Iterable[ParameterValue]) -> None:
        self._by_name: dict[str, list[ParameterValue]] = defaultdict(list)
        for v in values:
            self._by_name[v.name].append(v)
        for name, same in self._by_name.items():
            if find_overlap(same):
                raise ValidationFailed(f"overlapping validity for parameter {name}", name=name)

    def get(self, name: str, day: date) -> ParameterValue:
        """The value of ``name`` in force on ``day``."""
        for v in self._by_name.get(name, ()):
            if applies_on(v, day):
                return v
        raise NoRateInForce(f"parameter {name} has no value on {day.isoformat()}", name=name)


def in_force_under(parameters: Parameters, prefix: str, day: date) -> list[ParameterValue]:
    """Every parameter named ``prefix...`` with a value in force on ``day``, by name."""
    found = []
    for name in sorted(n for n in parameters._by_name if n.startswith(prefix)):
        for v in parameters._by_name[name]:
            if applies_on(v, day):
                found.append(v)
    return found
