"""The declaration form of the trader's portal: its fields, parsing, and errors per field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from manafidh.domain.declarations.model import Content
from manafidh.domain.errors import DomainError
from manafidh.web.api.schemas import ContentIn

HEADER_FIELDS = (
    "crossing_code",
    "regime",
    "importer_name",
    "importer_tax_id",
    "exporter_name",
    "vehicle_plate",
    "trailer_plate",
    "driver_name",
    "driver_document",
    "dispatch_country",
    "origin_country",
    "invoice_currency",
    "freight",
    "insurance",
)
ITEM_FIELDS = (
    "hs_code",
    "description",
    "origin_country",
    "quantity",
    "unit",
    "net_mass_kg",
    "gross_mass_kg",
    "invoice_value",
)
NUMBER_FIELDS = {
    "freight",
    "insurance",
    "quantity",
    "net_mass_kg",
    "gross_mass_kg",
    "invoice_value",
}
ITEM_NAME = re.compile(r"^item-(\d{1,3})-(\w+)$")
MAX_ITEMS = 99
# Arabic-Indic and Persian digits, and the Arabic decimal and thousands separators.
DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫", "01234567890123456789.", "٬,")
# Pydantic error types -> the message keys of the form (labels in _declare_labels.html).
PYDANTIC_KEYS = {
    "missing": "required",
    "string_too_short": "required",
    "string_too_long": "too_long",
    "string_pattern_mismatch": "format",
    "decimal_parsing": "number",
    "decimal_type": "number",
    "greater_than": "positive",
    "greater_than_equal": "not_negative",
    "decimal_max_places": "decimals",
    "decimal_max_digits": "too_long",
    "too_short": "required",
}


@dataclass
class FieldError:
    """A message key for one field, and the service's own words when it refused."""

    key: str
    detail: str = ""


@dataclass
class DeclarationForm:
    """What the trader typed, as strings, and what is wrong with it."""

    header: dict[str, str] = field(default_factory=dict)
    items: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""
    errors: dict[str, FieldError] = field(default_factory=dict)

    @property
    def item_count(self) -> int:
        """How many item rows to show (at least one)."""
        return max(1, len(self.items))

    def value(self, name: str) -> str:
        """The typed value of a header field."""
        return self.header.get(name, "")

    def item_value(self, n: int, name: str) -> str:
        """The typed value of a field of item ``n`` (1-based)."""
        return self.items[n - 1].get(name, "") if n <= len(self.items) else ""


def empty(defaults: Mapping[str, str]) -> DeclarationForm:
    """A new form with one empty item."""
    return DeclarationForm(header=dict(defaults), items=[{"unit": "KGM"}])


def from_content(crossing_code: str, content: Content) -> DeclarationForm:
    """The form filled from a declaration version (to amend it)."""
    header = {
        "crossing_code": crossing_code,
        "regime": content.regime.value,
        "importer_name": content.importer_name,
        "importer_tax_id": content.importer_tax_id,
        "exporter_name": content.exporter_name or "",
        "vehicle_plate": content.vehicle_plates[0] if content.vehicle_plates else "",
        "trailer_plate": content.trailer_plate or "",
        "driver_name": content.driver_name,
        "driver_document": content.driver_document,
        "dispatch_country": content.dispatch_country,
        "origin_country": content.origin_country,
        "invoice_currency": content.invoice_currency,
        "freight": str(content.freight),
        "insurance": str(content.insurance),
    }
    items = [{f: str(getattr(i, f)) for f in ITEM_FIELDS} for i in content.items]
    return DeclarationForm(header=header, items=items)


def read(data: Mapping[str, str]) -> DeclarationForm:
    """The form as posted: header fields and numbered item rows (gaps closed up)."""
    form = DeclarationForm(
        header={k: str(data.get(k, "")).strip() for k in HEADER_FIELDS},
        reason=str(data.get("reason", "")).strip(),
    )
    rows: dict[int, dict[str, str]] = {}
    for key, value in data.items():
        match = ITEM_NAME.match(key)
        if match and match.group(2) in ITEM_FIELDS and int(match.group(1)) <= MAX_ITEMS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = str(value).strip()
    form.items = [rows[n] for n in sorted(rows) if any(rows[n].values())]
    return form


def _number(text: str) -> str:
    return text.translate(DIGITS).replace(" ", "")


def _payload(form: DeclarationForm) -> dict[str, Any]:
    h = {k: (_number(v) if k in NUMBER_FIELDS else v) for k, v in form.header.items()}
    body: dict[str, Any] = {
        "regime": h["regime"] or "import",
        "importer_name": h["importer_name"],
        "importer_tax_id": h["importer_tax_id"],
        "exporter_name": h["exporter_name"] or None,
        "vehicle_plates": [h["vehicle_plate"]] if h["vehicle_plate"] else [],
        "trailer_plate": h["trailer_plate"] or None,
        "driver_name": h["driver_name"],
        "driver_document": h["driver_document"],
        "dispatch_country": h["dispatch_country"].upper(),
        "origin_country": h["origin_country"].upper(),
        "invoice_currency": h["invoice_currency"].upper(),
        "freight": h["freight"] or "0",
        "insurance": h["insurance"] or "0",
        "items": [],
    }
    for row in form.items:
        item = {
            f: (_number(row.get(f, "")) if f in NUMBER_FIELDS else row.get(f, ""))
            for f in ITEM_FIELDS
        }
        item["hs_code"] = _number(item["hs_code"]).replace(".", "")
        item["origin_country"] = item["origin_country"].upper()
        item["unit"] = item["unit"] or "KGM"
        body["items"].append(item)
    return body


def _field_name(loc: tuple[int | str, ...]) -> str:
    if loc and loc[0] == "items" and len(loc) >= 3 and isinstance(loc[1], int):
        return f"item-{loc[1] + 1}-{loc[2]}"
    if loc and loc[0] == "vehicle_plates":
        return "vehicle_plate"
    return str(loc[0]) if loc else "form"


def parse(form: DeclarationForm) -> Content | None:
    """The domain content, or None with ``form.errors`` filled in per field."""
    if not form.header.get("crossing_code"):
        form.errors["crossing_code"] = FieldError("required")
    try:
        content = ContentIn.model_validate(_payload(form)).to_domain()
    except ValidationError as error:
        for e in error.errors():
            name = _field_name(tuple(e["loc"]))
            form.errors.setdefault(name, FieldError(PYDANTIC_KEYS.get(e["type"], "invalid")))
        return None
    return None if form.errors else content


def attach(form: DeclarationForm, error: DomainError) -> None:
    """Put a service's refusal on the field(s) it names (the whole form when it names none)."""
    where, d = str(error.details.get("field", "form")), error.details
    found = FieldError("service", error.message)
    names: list[str] = []
    line = d.get("line_no")
    codes = {str(c) for c in d.get("codes", [])}
    if "hs_code" in d:
        codes = {str(d["hs_code"])}
        where = "items.hs_code"
    if where == "items.hs_code":
        names = [
            f"item-{n}-hs_code" for n, r in enumerate(form.items, 1) if r.get("hs_code") in codes
        ]
    elif where == "country":
        names = [
            k for k in ("dispatch_country", "origin_country") if form.value(k).upper() in codes
        ]
        names += [
            f"item-{n}-origin_country"
            for n, r in enumerate(form.items, 1)
            if r.get("origin_country", "").upper() in codes
        ]
    elif line is not None:
        names = [f"item-{line}-{where}"]
    elif where == "vehicle_plates":
        names = ["vehicle_plate"]
    elif where in HEADER_FIELDS:
        names = [where]
    for name in names or ["form"]:
        form.errors[name] = found
