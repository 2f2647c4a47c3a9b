"""Reference data the rules depend on: HS nomenclature, countries, currencies, crossings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

HS_CODE = re.compile(r"^\d{6}(\d{2}){0,2}$")


class Region(StrEnum):
    """Who runs a crossing: the federal Border Ports Commission or the Kurdistan Region."""

    FEDERAL = "federal"
    KURDISTAN = "kurdistan"


@dataclass(frozen=True)
class Crossing:
    """A land border crossing: data, never code."""

    code: str
    name_en: str
    name_ar: str
    name_ckb: str
    governorate_en: str
    governorate_ar: str
    governorate_ckb: str
    partner_name_en: str
    partner_country: str
    region: Region
    authority: str

    def name(self, language: str) -> str:
        """The crossing's name in ``language`` (ar, ckb, en), English as the fallback."""
        return {"ar": self.name_ar, "ckb": self.name_ckb}.get(language, self.name_en)


@dataclass(frozen=True)
class HsCode:
    """A line of the Harmonized System nomenclature (chapter, heading or subheading)."""

    code: str
    description: str
    parent: str | None
    level: int
    section: str


@dataclass(frozen=True)
class Country:
    """An ISO 3166-1 country."""

    alpha2: str
    alpha3: str
    numeric: str
    name_en: str
    name_ar: str
    currency: str | None


@dataclass(frozen=True)
class Currency:
    """An ISO 4217 currency and its number of minor units."""

    code: str
    numeric: str
    name: str
    minor_unit: int | None


@dataclass(frozen=True)
class ExchangeRate:
    """Iraqi dinar per one unit of ``currency`` over an inclusive validity period."""

    currency: str
    valid_from: date
    valid_to: date | None
    iqd_per_unit: Decimal
    source: str

    def __post_init__(self) -> None:
        if self.iqd_per_unit <= 0:
            raise ValueError(f"exchange rate for {self.currency} must be positive")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"exchange rate for {self.currency} ends before it starts")


def subheading_of(code: str) -> str:
    """The HS 6-digit subheading a national tariff line (8 or 10 digits) belongs to."""
    return code[:6]


def chapter_of(code: str) -> str:
    """The HS chapter (2 digits) of any HS or national code."""
    return code[:2]
