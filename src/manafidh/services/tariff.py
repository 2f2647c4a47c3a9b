"""Tariff use cases: assess under measures, explain what applies, import, roll back."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from manafidh.domain.declarations.model import Declaration
from manafidh.domain.errors import NoRateInForce, NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.reference import ExchangeRate
from manafidh.domain.tariff.assessment import Assessment
from manafidh.domain.tariff.charges import add_charges, other_charges
from manafidh.domain.tariff.imports import TariffImport, measure_record, read_rows, rejected
from manafidh.domain.tariff.measured import assess_with_measures
from manafidh.domain.tariff.measures import Applicable, Measure, MeasureIndex, check_code
from manafidh.domain.tariff.rates import TariffRate
from manafidh.domain.tariff.remeasure import with_measured_mass
from manafidh.services import exemptions, journal, valuation
from manafidh.services.ports import UnitOfWork

SUBJECT = "tariff:measures"


def exchange_rate_on(uow: UnitOfWork, currency: str, day: date) -> ExchangeRate:
    """The IQD rate for ``currency`` on ``day`` (IQD itself is 1)."""
    if currency == "IQD":
        return ExchangeRate("IQD", date.min, None, Decimal(1), "IQD is the national currency")
    rate = uow.reference.exchange_rate(currency, day)
    if rate is None:
        raise NoRateInForce(
            f"no exchange rate for {currency} on {day.isoformat()}",
            currency=currency,
            date=day.isoformat(),
        )
    return rate


def index_for(uow: UnitOfWork, codes: Iterable[str]) -> MeasureIndex:
    """The measures that may apply to ``codes`` (their own and those above them)."""
    measures = uow.tariff.measures_for(codes)
    # Origin groups matter only when some measure applies; most lodgings then skip the query.
    return MeasureIndex(measures, uow.tariff.origin_groups() if measures else {})


def assess(uow: UnitOfWork, decl: Declaration, *, assessment_id: str, at: datetime) -> Assessment:
    """Assess the declaration's current version and store the exact measures it used."""
    day = decl.acceptance_date
    assert day is not None
    content = decl.content
    result = assess_with_measures(
        assessment_id=assessment_id,
        declaration_id=decl.id,
        version_number=decl.current.number,
        content=content,
        acceptance_date=day,
        exchange_rate=exchange_rate_on(uow, content.invoice_currency, day),
        schedule=uow.reference.tariff_schedule(),
        measures=index_for(uow, [i.hs_code for i in content.items]),
        rates=lambda currency: exchange_rate_on(uow, currency, day),
        at=at,
    )
    uow.tariff.add_uses(assessment_id, result.uses)
    exemptions.apply_exemptions(uow, decl, result.assessment)
    valuation.check_values(uow, decl, result.assessment)
    fees = other_charges(uow.reference.parameters(), content, day)
    if fees:
        add_charges(result.assessment, fees)
        uow.tariff.add_charges(assessment_id, fees)
    return result.assessment


@dataclass(frozen=True)
class MassReassessment:
    """Duty and taxes on the declared masses and on the measured one (nothing is stored)."""

    declared_iqd: Decimal
    measured_iqd: Decimal

    @property
    def difference_iqd(self) -> Decimal:
        """What the measured mass adds (negative: what it would take off)."""
        return self.measured_iqd - self.declared_iqd


def reassess_on_measured_mass(
    uow: UnitOfWork, decl: Declaration, measured_gross_kg: Decimal
) -> MassReassessment:
    """Re-assess the current version as if the goods weighed what the weighbridge measured.

    Weight-based (specific) duties follow the measured mass; ad-valorem ones do not move. It is
    a calculation for the officer and the alarm: the declaration changes only through an
    amendment, which is assessed and charged as usual.
    """
    day = decl.acceptance_date
    if day is None:
        raise ValidationFailed("a draft has no assessment to compare", field="declaration")
    content = decl.content
    common: dict[str, Any] = {
        "assessment_id": "measured-mass",
        "declaration_id": decl.id,
        "version_number": decl.current.number,
        "acceptance_date": day,
        "exchange_rate": exchange_rate_on(uow, content.invoice_currency, day),
        "schedule": uow.reference.tariff_schedule(),
        "measures": index_for(uow, [i.hs_code for i in content.items]),
        "rates": lambda currency: exchange_rate_on(uow, currency, day),
        "at": uow.clock.now(),
    }
    declared = assess_with_measures(content=content, **common).assessment
    measured = assess_with_measures(
        content=with_measured_mass(content, measured_gross_kg), **common
    ).assessment
    return MassReassessment(declared.total_due_iqd, measured.total_due_iqd)


@dataclass(frozen=True)
class Explanation:
    """What applies to a code for an origin on a day, and why."""

    code: str
    origin: str
    day: date
    applicable: Applicable
    fallback: TariffRate | None
    considered: list[Measure] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The explanation, one statement a line."""
        out = list(self.applicable.reasons)
        if self.applicable.duty is None:
            if self.fallback is None:
                out.append("no import duty measure and no schedule rate: cannot be assessed")
            else:
                f = self.fallback
                until = f.valid_to.isoformat() if f.valid_to else "open"
                out.append(
                    f"no import duty measure: the schedule's {f.rate_percent}% on HS"
                    f" {f.code_prefix} applies (valid {f.valid_from.isoformat()} to {until},"
                    f" {f.legal_reference})"
                )
        applied = set(self.applicable.chosen.values())
        for m in self.considered:
            if m not in applied and not any(m.describe() in r for r in self.applicable.reasons):
                out.append(f"not in force or not for origin {self.origin}: {m.describe()}")
        return out


def show(*, uow: UnitOfWork, code: str, day: date, origin: str) -> Explanation:
    """Explain which measures apply to ``code`` from ``origin`` on ``day``, and why."""
    check_code(code)
    if uow.reference.unknown_hs_codes([code[:6]]):
        raise NotFound(f"commodity code {code} is not in the nomenclature", code=code)
    origin = origin.upper()
    if uow.reference.unknown_countries([origin]):
        raise ValidationFailed(f"unknown country {origin}", field="origin")
    index = index_for(uow, [code])
    try:
        fallback: TariffRate | None = uow.reference.tariff_schedule().rate_for(code, day)
    except NoRateInForce:
        fallback = None
    return Explanation(
        code, origin, day, index.applicable(code, origin, day), fallback, index.candidates(code)
    )


def _digest(measures: Sequence[Measure]) -> str:
    text = json.dumps([measure_record(m) for m in measures], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def check_measures(
    *,
    uow: UnitOfWork,
    actor: User | None,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    source: str,
) -> list[Measure]:
    """Check a file's rows as an import does, storing nothing: its measures, or every bad line."""
    if actor is not None:
        actor.require(Permission.MANAGE_REFERENCE)
    codes = {str(row.get("code") or "").strip() for _, row in rows}
    heads = {c[:6] for c in codes if c.isdigit()}
    unknown = uow.reference.unknown_hs_codes(heads)
    groups = uow.tariff.origin_groups()
    origins = {str(row.get("origin") or "").strip().upper() for _, row in rows}
    unknown_origins = uow.reference.unknown_countries(origins - set(groups) - {"", "ALL"})
    measures, rejections = read_rows(
        rows,
        known_code=lambda c: c[:6] not in unknown,
        known_origin=lambda o: o in groups or o not in unknown_origins,
        stored=uow.tariff.all_measures(),
    )
    if rejections:
        raise rejected(rejections, source)
    if not measures:
        raise ValidationFailed(f"{source}: no measures to import")
    return measures


def import_measures(
    *,
    uow: UnitOfWork,
    actor: User | None,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    source: str,
) -> TariffImport:
    """Import measures from a file's rows: all of them, or none with every bad line named."""
    measures = check_measures(uow=uow, actor=actor, rows=rows, source=source)
    now = uow.clock.now()
    who = journal.by(actor)
    import_id = uuid.uuid4().hex
    saved = uow.tariff.add_import(
        import_id=import_id, at=now, actor=who[0], source=source, measures=measures
    )
    journal.record(
        uow,
        who=who,
        crossing="",
        action="tariff.imported",
        subject=SUBJECT,
        payload={
            "import_id": import_id,
            "source": source,
            "measures": len(saved),
            "sha256": _digest(saved),
            "first_id": saved[0].id,
            "last_id": saved[-1].id,
        },
    )
    uow.commit()
    return TariffImport(import_id, now, who[0], source, len(saved), None, None, None)


def roll_back(
    *,
    uow: UnitOfWork,
    actor: User | None,
    since: datetime,
    reason: str,
    apply: bool,
) -> list[TariffImport]:
    """Undo every import made at or after ``since`` (a preview unless ``apply``)."""
    if actor is not None:
        actor.require(Permission.MANAGE_REFERENCE)
    if since.tzinfo is None:
        raise ValidationFailed("the rollback instant needs a time zone", field="since")
    if apply and not reason.strip():
        raise ValidationFailed("a rollback needs a reason", field="reason")
    undone = [
        i for i in uow.tariff.imports() if i.imported_at >= since and i.rolled_back_at is None
    ]
    if not apply:
        return undone
    now = uow.clock.now()
    who = journal.by(actor)
    for i in reversed(undone):
        removed = uow.tariff.roll_back_import(import_id=i.id, at=now, actor=who[0], reason=reason)
        journal.record(
            uow,
            who=who,
            crossing="",
            action="tariff.rolled_back",
            subject=SUBJECT,
            payload={
                "import_id": i.id,
                "source": i.source,
                "imported_at": i.imported_at,
                "measures_removed": removed,
                "since": since,
                "reason": reason,
            },
        )
    uow.commit()
    return undone


def define_origin_group(
    *,
    uow: UnitOfWork,
    actor: User | None,
    code: str,
    description: str,
    countries: Sequence[str],
) -> int:
    """Create or replace a group of countries of origin (e.g. a free-trade area)."""
    if actor is not None:
        actor.require(Permission.MANAGE_REFERENCE)
    code = code.strip().upper()
    if not (code.isascii() and code.isalnum() and 3 <= len(code) <= 8) or code == "ALL":
        raise ValidationFailed(f"bad origin group code {code!r}: 3 to 8 letters or digits")
    members = frozenset(c.strip().upper() for c in countries if c.strip())
    if not members:
        raise ValidationFailed("an origin group needs at least one country", field="countries")
    unknown = uow.reference.unknown_countries(members)
    if unknown:
        raise ValidationFailed("unknown country code", field="countries", codes=sorted(unknown))
    added = uow.tariff.put_origin_groups({code: (description, members)})
    journal.record(
        uow,
        who=journal.by(actor),
        crossing="",
        action="tariff.origin_group_defined",
        subject=f"tariff:origin_group:{code}",
        payload={"code": code, "description": description, "countries": sorted(members)},
    )
    uow.commit()
    return added


def list_imports(*, uow: UnitOfWork, actor: User) -> list[TariffImport]:
    """Every tariff import, oldest first (readers of everything and reference managers)."""
    if not actor.can(Permission.MANAGE_REFERENCE):
        actor.require(Permission.READ_ALL)
    return uow.tariff.imports()
