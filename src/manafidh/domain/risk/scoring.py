"""The learned risk score as the rest of the system sees it: a declaration in, a score out.

``declaration_record`` turns a lodged declaration into the model's inputs (the same
``RiskRecord`` that training uses, so that training and scoring cannot drift apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from manafidh.domain.declarations.model import Content
from manafidh.domain.errors import DomainError
from manafidh.domain.risk.features import RiskRecord

# Whose past outcomes the product tracks: the trader and the broker, the goods, where they come
# from and by which crossing, and the pairs that catch a trader's habit with one kind of goods.
ENTITY_KEYS = (
    "importer",
    "declarant",
    "hs6",
    "hs4",
    "chapter",
    "origin",
    "route",
    "crossing",
    "importer_hs6",
    "importer_declarant",
    "origin_hs6",
)


class RiskModelUnavailable(DomainError):
    """No usable risk model: none trained yet, or its stored file is missing or damaged."""

    code = "risk_model_unavailable"
    kind = "conflict"


@dataclass(frozen=True)
class Score:
    """A declaration's risk score, the model version that gave it and its top factors."""

    value: float
    model_version: int
    factors: list[tuple[str, float]] = field(default_factory=list)


class ScoringModel(Protocol):
    """A trained model the services can score with (adapters/risk_model.py implements it)."""

    @property
    def metadata(self) -> dict[str, Any]: ...

    def assess(self, record: RiskRecord, top: int = 5) -> tuple[float, list[tuple[str, float]]]:
        """The probability of a finding and the ``top`` factors behind it."""
        ...

    def dumps(self) -> str:
        """The model file's text."""
        ...


def _log(value: Decimal | float) -> float:
    return math.log1p(max(float(value), 0.0))


def declaration_record(
    *,
    key: str,
    content: Content,
    crossing_code: str,
    declarant_id: str,
    lodged_at: datetime,
    day: date,
    customs_value_iqd: Decimal,
    found: bool | None = None,
    outcome_day: date | None = None,
) -> RiskRecord:
    """A declaration as risk-model inputs; the main item is the one of highest invoice value."""
    main = max(content.items, key=lambda i: (i.invoice_value, -i.line_no))
    hs6 = main.hs_code[:6]
    origin = main.origin_country or content.origin_country
    net = sum((i.net_mass_kg for i in content.items), Decimal(0))
    gross = content.total_gross_mass_kg
    entities = {
        "importer": content.importer_tax_id,
        "declarant": declarant_id,
        "hs6": hs6,
        "hs4": hs6[:4],
        "chapter": hs6[:2],
        "origin": origin,
        "route": f"{content.dispatch_country}>{origin}>{crossing_code}",
        "crossing": crossing_code,
        "importer_hs6": f"{content.importer_tax_id}|{hs6}",
        "importer_declarant": f"{content.importer_tax_id}|{declarant_id}",
        "origin_hs6": f"{origin}|{hs6}",
    }
    categories = {
        "crossing": crossing_code,
        "origin": origin,
        "dispatch": content.dispatch_country,
        "chapter": hs6[:2],
        "hs4": hs6[:4],
        "regime": str(content.regime.value),
        "currency": content.invoice_currency,
        "same_dispatch_origin": "1" if content.dispatch_country == origin else "0",
    }
    numbers = {
        "log_customs_value": _log(customs_value_iqd),
        "log_net_mass": _log(net),
        "log_value_per_kg": math.log((float(customs_value_iqd) + 1) / (float(net) + 1)),
        "gross_net_ratio": float(gross / net) if net > 0 else math.nan,
        "items": float(len(content.items)),
        "chapters": float(len({i.hs_code[:2] for i in content.items})),
        "hour": lodged_at.hour + lodged_at.minute / 60,
        "weekday": float(day.weekday()),
        "round_mass": 1.0 if all(i.net_mass_kg % 100 == 0 for i in content.items) else 0.0,
    }
    return RiskRecord(
        key=key,
        day=day,
        entities=entities,
        categories=categories,
        numbers=numbers,
        found=found,
        outcome_day=outcome_day,
    )
