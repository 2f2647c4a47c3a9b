"""Plan the trucks that arrive at the crossings: pure and deterministic from a seed.

Every random choice a truck will ever need (how long it takes to pay, whether the inspection
sees through a misdeclaration, ...) is drawn here, so that the runner only replays the plan and
the same seed always gives the same traffic. Each crossing and day has its own random stream
derived from the seed, so a crossing's traffic does not depend on which others are simulated.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.declarations.model import Content, Item, Regime
from manafidh.services.clearance import FraudKind
from manafidh.simulation import catalogue as cat
from manafidh.simulation.misdeclare import Misdeclaration, misdeclare

MISDECLARATION_KINDS = (
    FraudKind.MISCLASSIFICATION,
    FraudKind.UNDERSTATED_WEIGHT,
    FraudKind.UNDERVALUATION,
)


@dataclass(frozen=True)
class TrafficConfig:
    """The knobs of the simulation; the defaults aim at realism and a quick demo."""

    scale: float = 0.25
    misdeclaration_rate: float = 0.10
    habitual_share: float = 0.15  # importers who misdeclare about four times as often
    inspection_detection: float = 0.85
    document_check_detection: float = 0.30  # papers can betray a value or a name, not a weight
    sneak_exit_rate: float = 0.003
    never_pay_rate: float = 0.03


@dataclass(frozen=True)
class Broker:
    """A customs broker: a trader user who lodges for several importers."""

    username: str
    full_name: str
    tax_id: str


@dataclass(frozen=True)
class Importer:
    """A recurring Iraqi importer of one commodity group, served by one broker."""

    name: str
    tax_id: str
    region: str
    group: str
    broker: str
    popularity: float
    risk: float  # multiplier of the base misdeclaration rate (traffic-weighted mean 1)


@dataclass(frozen=True)
class Behaviour:
    """How one truck's clearance unfolds, in minutes; drawn up front for reproducibility."""

    pay_after: int | None  # None: does not pay within the window
    check_after: int
    release_after: int
    exit_after: int
    resolve_after: int
    amend_after: int
    supplement_pay_after: int
    inspection_detects: bool
    document_check_detects: bool
    sneak_exit_after: int | None  # tries to leave before release


@dataclass(frozen=True)
class Arrival:
    """A truck that arrives and is declared: what it really carries and what is lodged."""

    seq: int
    crossing_code: str
    at: datetime  # aware, UTC
    broker: str
    importer: Importer
    group: str
    true_content: Content
    declared: Content
    misdeclaration: Misdeclaration | None
    behaviour: Behaviour

    @property
    def plate(self) -> str:
        """The tractor unit's plate, read at the exit gate."""
        return self.declared.vehicle_plates[0]


@dataclass(frozen=True)
class Pools:
    """The recurring actors of a simulation: brokers and importers."""

    brokers: tuple[Broker, ...]
    importers: tuple[Importer, ...]
    by_region_group: dict[tuple[str, str], tuple[Importer, ...]] = field(default_factory=dict)


def stream(seed: int, *parts: object) -> random.Random:
    """An independent random stream for ``parts`` under ``seed`` (stable across runs)."""
    return random.Random(":".join([str(seed), *map(str, parts)]))


def region_of(crossing_code: str) -> str:
    """The part of the country whose importers use a crossing."""
    for region, codes in cat.REGIONS.items():
        if crossing_code in codes:
            return region
    return "centre"


def make_pools(seed: int, config: TrafficConfig = TrafficConfig()) -> Pools:
    """Brokers (four per region) and importers (several per region and commodity group)."""
    rng = stream(seed, "pools")
    brokers: list[Broker] = []
    by_region: dict[str, list[Broker]] = {}
    for n, full_name in enumerate(cat.BROKER_NAMES, start=1):
        region = list(cat.REGIONS)[(n - 1) % len(cat.REGIONS)]
        broker = Broker(f"broker.{n:02d}", f"{full_name} Customs Brokerage", _tax_id(rng))
        brokers.append(broker)
        by_region.setdefault(region, []).append(broker)
    importers: list[Importer] = []
    grouped: dict[tuple[str, str], tuple[Importer, ...]] = {}
    places = list(cat.IMPORTER_PLACES)
    for region in cat.REGIONS:
        for group in cat.GROUPS:
            count = rng.randint(3, 6)
            popularity = [rng.paretovariate(1.5) for _ in range(count)]
            raw = [4.0 if rng.random() < config.habitual_share else 1.0 for _ in range(count)]
            # Scale the risks so that the expected rate of each pool is the configured one.
            mean = sum(p * r for p, r in zip(popularity, raw, strict=True)) / sum(popularity)
            pool = tuple(
                Importer(
                    name=f"{rng.choice(places)} {cat.IMPORTER_KINDS[group.key]}",
                    tax_id=_tax_id(rng),
                    region=region,
                    group=group.key,
                    broker=rng.choice(by_region[region]).username,
                    popularity=popularity[i],
                    risk=raw[i] / mean,
                )
                for i in range(count)
            )
            importers.extend(pool)
            grouped[(region, group.key)] = pool
    return Pools(tuple(brokers), tuple(importers), grouped)


def plan(
    *,
    seed: int,
    start: date,
    days: int,
    crossings: Sequence[str],
    config: TrafficConfig = TrafficConfig(),
) -> list[Arrival]:
    """Every arrival of the window at the given crossings, in time order."""
    pools = make_pools(seed, config)
    arrivals = [
        a
        for day in (start + timedelta(days=n) for n in range(days))
        for code in crossings
        for a in _day(seed, pools, config, code, day)
    ]
    arrivals.sort(key=lambda a: (a.at, a.crossing_code))
    return [replace(a, seq=n) for n, a in enumerate(arrivals, start=1)]


def _day(seed: int, pools: Pools, config: TrafficConfig, code: str, day: date) -> Iterator[Arrival]:
    rng = stream(seed, "arrivals", code, day.isoformat())
    full = cat.DAILY_TRUCKS.get(code, cat.DEFAULT_DAILY_TRUCKS)
    mean = full * config.scale * cat.WEEKDAY_FACTOR[day.weekday()]
    count = max(0, round(rng.gauss(mean, mean**0.5)))
    for _ in range(count):
        yield arrival(rng, pools, config, code, arrival_time(rng, day))


def arrival_time(rng: random.Random, day: date) -> datetime:
    """A moment of the local ``day`` drawn from the day/night profile, in UTC."""
    hour = rng.choices(range(24), weights=cat.HOUR_WEIGHTS)[0]
    local = datetime.combine(day, time(hour), IRAQ_TZ) + timedelta(seconds=rng.randrange(3600))
    return local.astimezone(UTC)


def is_night(at: datetime) -> bool:
    """True between 20:00 and 06:00 in Iraq."""
    hour = at.astimezone(IRAQ_TZ).hour
    return hour >= 20 or hour < 6


def arrival(
    rng: random.Random,
    pools: Pools,
    config: TrafficConfig,
    code: str,
    at: datetime,
) -> Arrival:
    """One truck: load, importer, papers, misdeclaration (if any) and behaviour."""
    group = rng.choices(cat.GROUPS, weights=[g.share for g in cat.GROUPS])[0]
    pool = pools.by_region_group[(region_of(code), group.key)]
    importer = rng.choices(pool, weights=[i.popularity for i in pool])[0]
    truth = true_content(rng, group, importer)
    mis: Misdeclaration | None = None
    declared = truth
    if rng.random() < config.misdeclaration_rate * importer.risk:
        kinds = [
            k for k in MISDECLARATION_KINDS if group.decoy or k is not FraudKind.MISCLASSIFICATION
        ]
        kind = rng.choices(kinds, weights=[_KIND_WEIGHTS[k] for k in kinds])[0]
        declared, mis = misdeclare(rng, truth, kind, group.decoy)
    return Arrival(
        seq=0,
        crossing_code=code,
        at=at,
        broker=importer.broker,
        importer=importer,
        group=group.key,
        true_content=truth,
        declared=declared,
        misdeclaration=mis,
        behaviour=behaviour(rng, config, at, mis),
    )


_KIND_WEIGHTS = {
    FraudKind.MISCLASSIFICATION: 0.35,
    FraudKind.UNDERSTATED_WEIGHT: 0.35,
    FraudKind.UNDERVALUATION: 0.30,
}


def true_content(rng: random.Random, group: cat.Group, importer: Importer) -> Content:
    """What the truck really carries, on honest papers."""
    currency, per_usd = _currency(rng)
    load = rng.uniform(*group.load_kg)
    n_items = min(rng.choices((1, 2, 3, 4, 5), weights=(50, 25, 13, 8, 4))[0], group.max_items)
    lines = rng.sample(group.lines, min(n_items, len(group.lines)))
    shares = [rng.uniform(0.5, 1.5) for _ in lines]
    items = []
    for no, (line, share) in enumerate(zip(lines, shares, strict=True), start=1):
        net = kilograms(load * share / sum(shares))
        gross = kilograms(float(net) * rng.uniform(*group.packing))
        usd = float(net) * rng.uniform(*line.usd_per_kg)
        items.append(
            Item(
                line_no=no,
                hs_code=line.hs_code,
                description=line.description,
                origin_country="CN"
                if group.key == "vehicle_parts" and rng.random() < 0.2
                else "IR",
                quantity=Decimal(max(1, round(float(net) / line.kg_per_unit))),
                unit=line.unit,
                net_mass_kg=net,
                gross_mass_kg=max(gross, net),
                invoice_value=money(usd * per_usd, currency),
            )
        )
    value_usd = sum(float(i.invoice_value) for i in items) / per_usd
    return Content(
        regime=Regime.IMPORT,
        importer_name=importer.name,
        importer_tax_id=importer.tax_id,
        exporter_name=rng.choice(group.exporters),
        vehicle_plates=[plate(rng)],
        trailer_plate=plate(rng) if rng.random() < 0.6 else None,
        driver_name=f"{rng.choice(cat.DRIVER_FIRST)} {rng.choice(cat.DRIVER_LAST)}",
        driver_document=f"E{rng.randrange(10**8):08d}",
        dispatch_country="IR",
        origin_country="IR",
        invoice_currency=currency,
        freight=money(rng.uniform(250, 900) * per_usd, currency),
        insurance=money(value_usd * rng.uniform(0.001, 0.003) * per_usd, currency),
        items=items,
    )


def plate(rng: random.Random) -> str:
    """An Iranian truck plate: two digits, a letter, three digits and the province code."""
    return (
        f"IR {rng.randrange(10, 100)} {rng.choice(cat.PLATE_LETTERS)} "
        f"{rng.randrange(100, 1000)} {rng.randrange(10, 100)}"
    )


def behaviour(
    rng: random.Random, config: TrafficConfig, at: datetime, mis: Misdeclaration | None
) -> Behaviour:
    """Draw how long each step takes and how the controls turn out for one truck."""
    roll = rng.random()
    if roll < config.never_pay_rate:
        pay_after: int | None = None
    elif roll < 0.72:
        pay_after = rng.randint(5, 60)
    elif roll < 0.92:
        pay_after = rng.randint(60, 8 * 60)
    else:
        pay_after = rng.randint(8 * 60, 48 * 60)
    detect = rng.random() < config.inspection_detection
    papers = (
        mis is not None
        and mis.kind is not FraudKind.UNDERSTATED_WEIGHT
        and rng.random() < config.document_check_detection
    )
    sneak_rate = config.sneak_exit_rate * (2.5 if is_night(at) else 0.6)
    return Behaviour(
        pay_after=pay_after,
        check_after=rng.randint(20, 240),
        release_after=rng.randint(5, 60),
        exit_after=rng.randint(10, 90),
        resolve_after=rng.randint(30, 240),
        amend_after=rng.randint(10, 120),
        supplement_pay_after=rng.randint(20, 6 * 60),
        inspection_detects=mis is not None and detect,
        document_check_detects=papers,
        sneak_exit_after=rng.randint(5, 40) if rng.random() < sneak_rate else None,
    )


def kilograms(value: float) -> Decimal:
    """A mass in whole kilograms (weighbridges read to the kilogram or coarser)."""
    return Decimal(max(1, round(value)))


_MINOR = {"IQD": Decimal("1"), "USD": Decimal("0.01"), "EUR": Decimal("0.01")}


def money(value: float, currency: str) -> Decimal:
    """An amount in ``currency``: whole dinars, or cents of dollars and euros."""
    return Decimal(str(round(value, 2))).quantize(_MINOR.get(currency, Decimal("0.01")))


def _currency(rng: random.Random) -> tuple[str, float]:
    code, _share, per_usd = rng.choices(cat.CURRENCIES, weights=[c[1] for c in cat.CURRENCIES])[0]
    return code, per_usd


def _tax_id(rng: random.Random) -> str:
    return f"IQ-{rng.randrange(10**8, 10**9)}"


def working_time(at: datetime, *, opens: int = 7, closes: int = 20) -> datetime:
    """``at`` if inspectors are on duty then, else the next opening time (Iraq's clock)."""
    local = at.astimezone(IRAQ_TZ)
    if opens <= local.hour < closes:
        return at
    day = local.date() if local.hour < opens else local.date() + timedelta(days=1)
    return datetime.combine(day, time(opens), IRAQ_TZ).astimezone(UTC)
