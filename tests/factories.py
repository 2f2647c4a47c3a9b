"""Builders of realistic test inputs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from manafidh.domain.declarations.model import Content, Item, Regime


def item(line_no: int = 1, **over: Any) -> Item:
    """A cement item from Iran unless told otherwise."""
    values: dict[str, Any] = {
        "line_no": line_no,
        "hs_code": "690721",
        "description": "Ceramic floor tiles, glazed",
        "origin_country": "IR",
        "quantity": Decimal("30000"),
        "unit": "KGM",
        "net_mass_kg": Decimal("30000"),
        "gross_mass_kg": Decimal("30300"),
        "invoice_value": Decimal("1500.00"),
    }
    values.update(over)
    return Item(**values)


def content(items: list[Item] | None = None, **over: Any) -> Content:
    """A one-truck import from Iran, invoiced in USD."""
    values: dict[str, Any] = {
        "regime": Regime.IMPORT,
        "importer_name": "Al-Rafidain Building Materials Co.",
        "importer_tax_id": "IQ-100200300",
        "exporter_name": "Tehran Cement Trading",
        "vehicle_plates": ["IR 12 B 345"],
        "trailer_plate": None,
        "driver_name": "Hossein Karimi",
        "driver_document": "P12345678",
        "dispatch_country": "IR",
        "origin_country": "IR",
        "invoice_currency": "USD",
        "freight": Decimal("200.00"),
        "insurance": Decimal("15.00"),
        "items": items or [item(1)],
    }
    values.update(over)
    return Content(**values)


def payload(
    crossing: str = "SHL", *, n_items: int = 1, plate: str = "IR 12 B 345", **over: Any
) -> dict[str, Any]:
    """A JSON body for POST /api/v1/declarations."""
    body: dict[str, Any] = {
        "crossing_code": crossing,
        "regime": "import",
        "importer_name": "Al-Rafidain Building Materials Co.",
        "importer_tax_id": "IQ-100200300",
        "vehicle_plates": [plate],
        "driver_name": "Hossein Karimi",
        "driver_document": "P12345678",
        "dispatch_country": "IR",
        "origin_country": "IR",
        "invoice_currency": "USD",
        "freight": "200.00",
        "insurance": "15.00",
        "items": [
            {
                "hs_code": "690721",
                "description": f"Ceramic floor tiles, lot {n}",
                "origin_country": "IR",
                "quantity": "1200",
                "unit": "MTK",
                "net_mass_kg": "4000",
                "gross_mass_kg": "4200",
                "invoice_value": "3100.50",
            }
            for n in range(1, n_items + 1)
        ],
    }
    body.update(over)
    return body
