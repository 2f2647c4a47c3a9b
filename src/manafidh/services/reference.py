"""Loading reference data, rates, parameters and lane rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from manafidh.domain.errors import ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.parameters import Parameters, ParameterValue
from manafidh.domain.reference import Country, Crossing, Currency, ExchangeRate, HsCode
from manafidh.domain.risk.lanes import LaneRule
from manafidh.domain.tariff.rates import TariffRate, TariffSchedule
from manafidh.domain.validity import find_overlap
from manafidh.services import journal
from manafidh.services.ports import UnitOfWork


@dataclass
class ReferenceBundle:
    """Everything ``manafidh reference load`` puts in the database."""

    sections: list[tuple[str, str]] = field(default_factory=list)
    hs_codes: list[HsCode] = field(default_factory=list)
    countries: list[Country] = field(default_factory=list)
    currencies: list[Currency] = field(default_factory=list)
    crossings: list[Crossing] = field(default_factory=list)
    exchange_rates: list[ExchangeRate] = field(default_factory=list)
    tariff_rates: list[TariffRate] = field(default_factory=list)
    parameters: list[ParameterValue] = field(default_factory=list)
    lane_rules: list[LaneRule] = field(default_factory=list)


def load_reference(
    *,
    uow: UnitOfWork,
    bundle: ReferenceBundle,
    actor: str,
    extra_rates: Sequence[ExchangeRate] = (),
) -> dict[str, int]:
    """Load a bundle, and optionally more exchange rates, in one transaction (idempotent)."""
    check_exchange_rates(bundle.exchange_rates)
    TariffSchedule(bundle.tariff_rates)  # raises on overlapping validity
    Parameters(bundle.parameters)
    uow.reference.replace_all(
        sections=bundle.sections,
        hs_codes=bundle.hs_codes,
        countries=bundle.countries,
        currencies=bundle.currencies,
        crossings=bundle.crossings,
    )
    added = {
        "exchange_rates": uow.reference.put_exchange_rates(bundle.exchange_rates),
        "tariff_rates": uow.reference.put_tariff_rates(bundle.tariff_rates),
        "parameters": uow.reference.put_parameters(bundle.parameters),
    }
    existing_rules = {r.name for r in uow.reference.lane_rules()}
    now = uow.clock.now()
    added["lane_rules"] = 0
    for rule in bundle.lane_rules:
        if rule.name not in existing_rules:
            uow.reference.add_lane_rule(rule, actor=actor, reason="shipped default rule", at=now)
            added["lane_rules"] += 1
    added["exchange_rates"] += _add_checked_rates(uow, extra_rates)
    journal.record(
        uow,
        who=(actor, "operator"),
        crossing="",
        action="reference.loaded",
        subject="reference:bundle",
        payload={
            "added": added,
            "sizes": {
                "hs_codes": len(bundle.hs_codes),
                "countries": len(bundle.countries),
                "currencies": len(bundle.currencies),
                "crossings": len(bundle.crossings),
                "exchange_rates": len(bundle.exchange_rates) + len(extra_rates),
                "tariff_rates": len(bundle.tariff_rates),
                "parameters": len(bundle.parameters),
                "lane_rules": len(bundle.lane_rules),
            },
            "extra_exchange_rates": _rates(extra_rates),
        },
    )
    uow.commit()
    return added


def check_exchange_rates(rates: Sequence[ExchangeRate]) -> None:
    """Raise when two rates of one currency overlap in validity."""
    by_currency: dict[str, list[ExchangeRate]] = defaultdict(list)
    for rate in rates:
        by_currency[rate.currency].append(rate)
    for currency, same in by_currency.items():
        clash = find_overlap(same)
        if clash:
            raise ValidationFailed(
                f"overlapping exchange rates for {currency}",
                currency=currency,
                periods=[str(clash[0].valid_from), str(clash[1].valid_from)],
            )


def import_exchange_rates(
    *, uow: UnitOfWork, actor: User | None, rates: Sequence[ExchangeRate]
) -> int:
    """Add dated exchange rates; refuses the whole file if any overlaps another rate."""
    if actor is not None:
        actor.require(Permission.MANAGE_REFERENCE)
    count = _add_checked_rates(uow, rates)
    journal.record(
        uow,
        who=journal.by(actor),
        crossing="",
        action="reference.exchange_rates_imported",
        subject="reference:exchange_rates",
        payload={"added": count, "rates": _rates(rates)},
    )
    uow.commit()
    return count


def _rates(rates: Sequence[ExchangeRate]) -> list[dict[str, object]]:
    """Exchange rates as audit payload values."""
    return [
        {
            "currency": r.currency,
            "valid_from": r.valid_from,
            "valid_to": r.valid_to,
            "iqd_per_unit": r.iqd_per_unit,
            "source": r.source,
        }
        for r in rates
    ]


def _add_checked_rates(uow: UnitOfWork, rates: Sequence[ExchangeRate]) -> int:
    """Add rates after checking currencies and overlaps with what is stored (no commit)."""
    currencies = {r.currency for r in rates}
    for code in currencies:
        if uow.reference.currency(code) is None:
            raise ValidationFailed(f"unknown currency {code}", field="currency")
    stored = [
        r
        for code in currencies
        for r in uow.reference.exchange_rates(code)
        if all((r.currency, r.valid_from) != (n.currency, n.valid_from) for n in rates)
    ]
    check_exchange_rates([*stored, *rates])
    return uow.reference.put_exchange_rates(rates)
