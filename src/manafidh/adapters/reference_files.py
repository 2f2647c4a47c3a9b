"""Read the reference data shipped in ``manafidh/data`` (or a CSV given by the user)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path

from manafidh.domain.declarations.model import Lane
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.parameters import ParameterValue
from manafidh.domain.reference import Country, Crossing, Currency, ExchangeRate, HsCode, Region
from manafidh.domain.risk.lanes import LaneRule
from manafidh.domain.tariff.rates import TariffRate
from manafidh.services.reference import ReferenceBundle


def _rows(name: str) -> Iterator[dict[str, str]]:
    text = resources.files("manafidh.data").joinpath(name).read_text(encoding="utf-8")
    yield from csv.DictReader(io.StringIO(text))


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value.strip() else None


def _required_date(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationFailed(f"{where}: bad date {value!r}") from exc


def _decimal(value: str, where: str) -> Decimal:
    try:
        result = Decimal(value.strip())
    except InvalidOperation as exc:
        raise ValidationFailed(f"{where}: not a number: {value!r}") from exc
    if not result.is_finite():
        raise ValidationFailed(f"{where}: not a finite number: {value!r}")
    return result


def shipped_bundle() -> ReferenceBundle:
    """Everything the product ships: nomenclature, countries, currencies, crossings, rates."""
    bundle = ReferenceBundle()
    bundle.sections = [(r["section"], r["name"]) for r in _rows("hs_sections.csv")]
    bundle.hs_codes = [
        HsCode(r["code"], r["description"], r["parent"] or None, int(r["level"]), r["section"])
        for r in _rows("hs2022.csv")
    ]
    bundle.countries = [
        Country(
            r["alpha2"],
            r["alpha3"],
            r["numeric"],
            r["name_en"],
            r["name_ar"],
            r["currency"] or None,
        )
        for r in _rows("countries.csv")
    ]
    bundle.currencies = [
        Currency(
            r["code"], r["numeric"], r["name"], int(r["minor_unit"]) if r["minor_unit"] else None
        )
        for r in _rows("currencies.csv")
    ]
    bundle.crossings = [
        Crossing(**{**r, "region": Region(r["region"])})  # type: ignore[arg-type]
        for r in _rows("crossings.csv")
    ]
    bundle.exchange_rates = list(
        read_exchange_rates(
            resources.files("manafidh.data").joinpath("exchange_rates.csv").read_text("utf-8")
        )
    )
    bundle.tariff_rates = [
        TariffRate(
            id=i,
            code_prefix=r["chapter"],
            rate_percent=_decimal(r["rate_percent"], f"tariff line {i}"),
            valid_from=_required_date(r["valid_from"], f"tariff line {i}"),
            valid_to=_date(r["valid_to"]),
            legal_reference=r["legal_reference"],
        )
        for i, r in enumerate(_rows("tariff_illustrative_iq.csv"), start=2)
    ]
    bundle.parameters = [
        ParameterValue(
            r["name"],
            _required_date(r["valid_from"], "parameters"),
            _date(r["valid_to"]),
            _decimal(r["value"], r["name"]),
            r["legal_reference"],
        )
        for r in _rows("parameters.csv")
    ]
    bundle.lane_rules = [
        LaneRule(
            id=0,
            name=r["name"],
            lane=Lane(r["lane"]),
            valid_from=_required_date(r["valid_from"], r["name"]),
            valid_to=_date(r["valid_to"]),
            hs_prefix=r["hs_prefix"] or None,
            origin_country=r["origin_country"] or None,
            crossing_code=r["crossing_code"] or None,
            importer_tax_id=r["importer_tax_id"] or None,
            min_customs_value_iqd=(
                _decimal(r["min_customs_value_iqd"], r["name"]).quantize(Decimal("0.001"))
                if r["min_customs_value_iqd"]
                else None
            ),
        )
        for r in _rows("lane_rules.csv")
    ]
    return bundle


EXCHANGE_RATE_COLUMNS = ("currency", "valid_from", "valid_to", "iqd_per_unit", "source")


def read_exchange_rates(text: str) -> list[ExchangeRate]:
    """Parse an exchange-rate CSV; any bad line rejects the whole file, naming the line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in EXCHANGE_RATE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed(f"exchange-rate file lacks columns {missing}", missing=missing)
    rates = []
    for line, r in enumerate(reader, start=2):
        where = f"line {line}"
        try:
            rates.append(
                ExchangeRate(
                    currency=r["currency"].strip().upper(),
                    valid_from=_required_date(r["valid_from"], where),
                    valid_to=_date(r["valid_to"] or ""),
                    iqd_per_unit=_decimal(r["iqd_per_unit"], where),
                    source=(r["source"] or "").strip() or "unspecified",
                )
            )
        except ValueError as exc:
            raise ValidationFailed(f"{where}: {exc}", line=line) from exc
    return rates


def read_exchange_rate_file(path: Path) -> list[ExchangeRate]:
    """Read exchange rates from a CSV file on disk."""
    return read_exchange_rates(path.read_text(encoding="utf-8"))
