"""Other charges than duties: fees per truck or per declaration, as dated parameters.

Each charge is a parameter (``domain/parameters.py``) whose name says how it is charged:
``charge.per_truck.<name>`` (IQD per vehicle plate) or ``charge.per_declaration.<name>`` (IQD per
declaration). A change in a fee is a new dated value with its legal reference, never code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from manafidh.domain.declarations.model import Content
from manafidh.domain.money import IQD_MINOR_UNITS, round_money
from manafidh.domain.parameters import Parameters, in_force_under
from manafidh.domain.tariff.assessment import Assessment

PER_TRUCK = "charge.per_truck."
PER_DECLARATION = "charge.per_declaration."


@dataclass(frozen=True)
class Charge:
    """A fee charged on a declaration, with the dated value and legal act it comes from."""

    name: str
    units: int
    rate_iqd: Decimal
    amount_iqd: Decimal
    valid_from: date
    legal_reference: str

    def describe(self) -> str:
        """One line: what, how many, at what rate, on what legal basis."""
        return (
            f"{self.name}: {self.units} x {self.rate_iqd} IQD = {self.amount_iqd} IQD"
            f" (from {self.valid_from.isoformat()}, {self.legal_reference})"
        )


def other_charges(parameters: Parameters, content: Content, day: date) -> list[Charge]:
    """The fees in force on ``day`` for a declaration of ``content``."""
    charges = []
    for prefix, units in ((PER_TRUCK, len(content.vehicle_plates)), (PER_DECLARATION, 1)):
        for v in in_force_under(parameters, prefix, day):
            amount = round_money(v.value * units, IQD_MINOR_UNITS)
            charges.append(Charge(v.name, units, v.value, amount, v.valid_from, v.legal_reference))
    return charges


def add_charges(assessment: Assessment, charges: list[Charge]) -> None:
    """Add the fees to what is due (the duty stays the duty)."""
    assessment.total_due_iqd = assessment.duty_iqd + sum(
        (c.amount_iqd for c in charges), Decimal(0)
    )
