"""Turn honest papers into misdeclared ones, the three ways the founding document names.

"The commodity's name is changed, the declared weight is significantly reduced" — and invoices
are undervalued. The true content is kept as ground truth; the declared one is lodged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from manafidh.domain.declarations.model import Content, Item
from manafidh.services.clearance import FraudKind
from manafidh.simulation.catalogue import Decoy


@dataclass(frozen=True)
class Misdeclaration:
    """What was falsified and by how much (``factor`` is declared / true)."""

    kind: FraudKind
    factor: Decimal | None = None
    declared_hs: str | None = None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready description for the ground-truth table."""
        return {
            "kind": self.kind.value,
            "factor": str(self.factor) if self.factor is not None else None,
            "declared_hs": self.declared_hs,
        }


def misdeclare(
    rng: random.Random, truth: Content, kind: FraudKind, decoy: Decoy | None
) -> tuple[Content, Misdeclaration]:
    """The declared content for a misdeclaration of ``kind``, and its description."""
    if kind is FraudKind.MISCLASSIFICATION:
        if decoy is None:
            raise ValueError("a misclassification needs a decoy tariff line")
        items = [
            replace(i, hs_code=decoy.hs_code, description=decoy.description) for i in truth.items
        ]
        return replace(truth, items=items), Misdeclaration(kind, declared_hs=decoy.hs_code)
    if kind is FraudKind.UNDERSTATED_WEIGHT:
        # 15-40 % of the load left off the papers; quantity and invoice shrink with it, so the
        # unit price looks normal and the ad valorem duty falls.
        factor = _factor(rng, 0.60, 0.85)
        return replace(truth, items=[_lighter(i, factor) for i in truth.items]), Misdeclaration(
            kind, factor
        )
    if kind is FraudKind.UNDERVALUATION:
        factor = _factor(rng, 0.40, 0.70)
        items = [replace(i, invoice_value=_scaled(i.invoice_value, factor)) for i in truth.items]
        return replace(truth, items=items), Misdeclaration(kind, factor)
    raise ValueError(f"not a simulated misdeclaration: {kind}")


def _factor(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(str(round(rng.uniform(low, high), 3)))


def _scaled(value: Decimal, factor: Decimal) -> Decimal:
    """``value`` times ``factor``, kept at the precision of ``value``."""
    exponent = Decimal(1).scaleb(value.as_tuple().exponent)  # type: ignore[arg-type]
    return (value * factor).quantize(exponent, rounding=ROUND_HALF_UP)


def _lighter(item: Item, factor: Decimal) -> Item:
    net = max(Decimal(1), _scaled(item.net_mass_kg, factor))
    return replace(
        item,
        quantity=max(Decimal(1), _scaled(item.quantity, factor)),
        net_mass_kg=net,
        gross_mass_kg=max(net, _scaled(item.gross_mass_kg, factor)),
        invoice_value=_scaled(item.invoice_value, factor),
    )
