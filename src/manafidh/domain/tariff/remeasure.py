"""A declaration's content as if its goods weighed what the weighbridge measured.

Used to re-assess weight-based duties when the measured cargo mass differs from the declared
one: the measured gross mass is shared over the lines in proportion to their declared gross
masses (to the gram, summing exactly), each line keeps its declared net-to-gross ratio, and a
quantity declared in kilograms follows its net mass. Values and everything else stay as
declared: the weighbridge says nothing about them.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from manafidh.domain.declarations.model import Content
from manafidh.domain.money import allocate

GRAM = Decimal("0.001")
MASS_UNITS = frozenset({"KGM"})  # quantities that are themselves a mass in kilograms


def with_measured_mass(content: Content, measured_gross_kg: Decimal) -> Content:
    """The content with its lines' masses scaled to ``measured_gross_kg`` in total."""
    grosses = [item.gross_mass_kg for item in content.items]
    shares = allocate(measured_gross_kg, grosses, 3)
    items = []
    for item, gross in zip(content.items, shares, strict=True):
        ratio = item.net_mass_kg / item.gross_mass_kg if item.gross_mass_kg else Decimal(1)
        net = (gross * ratio).quantize(GRAM)
        quantity = net if item.unit in MASS_UNITS else item.quantity
        items.append(replace(item, gross_mass_kg=gross, net_mass_kg=net, quantity=quantity))
    return replace(content, items=items)
