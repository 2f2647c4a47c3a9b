"""The traffic simulator: a pure, seeded plan, played through the services on both backends."""

from __future__ import annotations

import csv
import io
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.conftest import POSTGRESQL, new_database_name

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.simulation import truth
from manafidh.bootstrap import Container, bootstrap
from manafidh.cli.simulate import window
from manafidh.config import Settings
from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.declarations.model import Lane
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.risk.lanes import LaneRule
from manafidh.simulation import catalogue, traffic
from manafidh.simulation.runner import STARTING_RULES, Report, simulate

ALL = ("SHL", "SHB", "ZRB", "MNT", "MND", "PWK", "BSH", "HJO", "TWL")
DAY = date(2026, 3, 10)  # a Tuesday
SMALL = traffic.TrafficConfig(scale=0.1)


def _plan(seed: int = 5, days: int = 1, crossings=("SHL", "ZRB"), config=SMALL):
    return traffic.plan(seed=seed, start=DAY, days=days, crossings=crossings, config=config)


def _run(container: Container, arrivals, *, seed: int = 5, config=SMALL, **kw: Any) -> Report:
    codes = sorted({a.crossing_code for a in arrivals})
    report = simulate(
        container,
        arrivals,
        pools=traffic.make_pools(seed, config),
        crossings=codes,
        seed=seed,
        **kw,
    )
    assert not report.errors, report.error_samples
    return report


# -- the pure generator -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def month() -> list[traffic.Arrival]:
    """A month at every crossing at the default scale: a few thousand arrivals."""
    return traffic.plan(seed=11, start=date(2026, 2, 1), days=30, crossings=ALL)


def test_the_same_seed_plans_the_same_traffic_and_another_seed_does_not():
    assert _plan(seed=5, days=2) == _plan(seed=5, days=2)
    assert _plan(seed=5, days=2) != _plan(seed=6, days=2)


def test_a_crossings_traffic_does_not_depend_on_which_others_are_simulated():
    alone = _plan(crossings=("ZRB",))
    together = [a for a in _plan(crossings=("SHL", "ZRB")) if a.crossing_code == "ZRB"]
    assert [(a.at, a.declared) for a in alone] == [(a.at, a.declared) for a in together]


def test_a_month_at_the_default_scale_is_a_few_thousand_trucks_busiest_at_shalamcheh(month):
    assert 3000 <= len(month) <= 5000
    per_crossing = Counter(a.crossing_code for a in month)
    assert {c for c, _ in per_crossing.most_common(2)} == {"SHL", "ZRB"}
    assert [a.at for a in month] == sorted(a.at for a in month)


def test_misdeclarations_are_about_a_tenth_of_trucks_in_the_three_kinds(month):
    kinds = Counter(a.misdeclaration.kind for a in month if a.misdeclaration)
    share = sum(kinds.values()) / len(month)
    assert 0.08 <= share <= 0.12
    assert set(kinds) == set(traffic.MISDECLARATION_KINDS)
    for kind in traffic.MISDECLARATION_KINDS:
        assert kinds[kind] / sum(kinds.values()) >= 0.15, kind


def test_an_understated_weight_declares_less_mass_and_value_than_the_truck_carries(month):
    cases = [a for a in month if a.misdeclaration and a.misdeclaration.kind == "understated_weight"]
    assert cases
    for a in cases:
        ratio = a.declared.total_gross_mass_kg / a.true_content.total_gross_mass_kg
        assert 0.58 <= ratio <= 0.86
        assert a.declared.total_invoice < a.true_content.total_invoice
        assert [i.hs_code for i in a.declared.items] == [i.hs_code for i in a.true_content.items]


def test_an_undervalued_invoice_is_thirty_to_sixty_percent_below_the_truth(month):
    cases = [a for a in month if a.misdeclaration and a.misdeclaration.kind == "undervaluation"]
    for a in cases:
        ratio = a.declared.total_invoice / a.true_content.total_invoice
        assert 0.39 <= ratio <= 0.71
        assert a.declared.total_gross_mass_kg == a.true_content.total_gross_mass_kg


def test_a_misclassified_load_is_declared_under_another_chapter(month):
    cases = [a for a in month if a.misdeclaration and a.misdeclaration.kind == "misclassification"]
    assert cases
    for a in cases:
        assert {i.hs_code[:2] for i in a.declared.items}.isdisjoint(
            {i.hs_code[:2] for i in a.true_content.items}
        )
        assert a.declared.total_invoice == a.true_content.total_invoice


def test_arrivals_follow_the_day_night_profile(month):
    hours = Counter(a.at.astimezone(IRAQ_TZ).hour for a in month)
    day = sum(hours[h] for h in range(6, 18))
    assert day / len(month) >= 0.7
    assert min(hours[h] for h in range(8, 12)) > 4 * max(hours[h] for h in (0, 1, 2, 3))


def test_money_and_masses_are_decimals_with_the_currencys_precision(month):
    for a in month[:300]:
        places = 0 if a.declared.invoice_currency == "IQD" else 2
        for i in a.declared.items:
            assert i.invoice_value.as_tuple().exponent == -places
            assert i.net_mass_kg == i.net_mass_kg.to_integral_value()
            assert i.gross_mass_kg >= i.net_mass_kg > 0


def test_every_hs_code_the_simulator_uses_is_in_the_shipped_nomenclature():
    text = resources.files("manafidh.data").joinpath("hs2022.csv").read_text("utf-8")
    known = {r["code"] for r in csv.DictReader(io.StringIO(text))}
    used = {line.hs_code for g in catalogue.GROUPS for line in g.lines}
    used |= {g.decoy.hs_code for g in catalogue.GROUPS if g.decoy}
    assert used <= known


def test_the_window_ends_today_by_default_and_stops_at_the_present():
    now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 in Baghdad
    win = window(days=30, start=None, now=now)
    assert (win.start, win.days, win.until) == (date(2026, 2, 9), 30, now)
    past = window(days=2, start="2026-01-05", now=now)
    assert past.until == datetime(2026, 1, 7, 0, 0, tzinfo=IRAQ_TZ)
    with pytest.raises(ValidationFailed, match="in the future"):
        window(days=1, start="2026-03-11", now=now)
    with pytest.raises(ValidationFailed, match="at least 1"):
        window(days=0, start=None, now=now)
    with pytest.raises(ValidationFailed, match="YYYY-MM-DD"):
        window(days=1, start="10/03/2026", now=now)


def test_inspections_wait_for_working_hours():
    night = datetime(2026, 3, 10, 23, 30, tzinfo=IRAQ_TZ)
    assert traffic.working_time(night) == datetime(2026, 3, 11, 7, 0, tzinfo=IRAQ_TZ)
    noon = datetime(2026, 3, 10, 12, 0, tzinfo=IRAQ_TZ)
    assert traffic.working_time(noon) == noon


# -- played through the services, on SQLite and PostgreSQL ----------------------------------------
@pytest.fixture
def other_container(
    db_backend: str, request: pytest.FixtureRequest, tmp_path: Path, audit_key_file: Path
):
    """A second ready database of the same backend, to replay a seed on."""

    def build(url: str) -> Container:
        return bootstrap(
            Settings(database_url=url, fast_password_hashing=True, audit_key_file=audit_key_file)
        )

    if db_backend == POSTGRESQL:
        cluster = request.getfixturevalue("pg_cluster")
        name = new_database_name()
        cluster.create_database(name, template=request.getfixturevalue("pg_template"))
        c = build(cluster.url(name))
        yield c
        c.engine.dispose()
        cluster.drop_database(name)
        return
    target = tmp_path / "other.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
    c = build(f"sqlite+pysqlite:///{target}")
    yield c
    c.engine.dispose()


def _signature(c: Container) -> list[tuple[Any, ...]]:
    d, o = t.declarations.c, t.payment_orders.c
    with c.engine.connect() as conn:
        amounts: dict[str, list[str]] = {}
        for ref, amount in conn.execute(
            select(d.reference, o.amount_iqd)
            .join(t.payment_orders, o.declaration_id == d.id)
            .order_by(d.reference, o.reference)
        ):
            amounts.setdefault(ref, []).append(str(amount))
        rows = conn.execute(
            select(d.reference, d.lane, d.state, d.plate, d.version_count).order_by(d.reference)
        )
        return [(*r, amounts.get(r[0], [])) for r in rows]


def test_the_same_seed_gives_the_same_references_lanes_and_amounts(container, other_container):
    config = traffic.TrafficConfig(scale=0.06)
    first = _run(container, _plan(seed=5, config=config), config=config)
    second = _run(other_container, _plan(seed=5, config=config), config=config)
    assert first.declarations > 5
    assert _signature(container) == _signature(other_container)
    assert first == second


def test_every_simulated_declaration_has_its_ground_truth(container):
    config = traffic.TrafficConfig(scale=0.1, misdeclaration_rate=0.3)
    arrivals = _plan(seed=8, crossings=("SHL",), config=config)
    report = _run(container, arrivals, seed=8)
    rows = truth(container.engine)
    with container.engine.connect() as conn:
        ids = {r[0] for r in conn.execute(select(t.declarations.c.id))}
    assert set(rows) == ids
    assert len(ids) == report.declarations == len(arrivals)
    kinds = Counter(r.misdeclaration for r in rows.values())
    assert sum(n for k, n in kinds.items() if k) == sum(report.misdeclared.values()) > 0
    for row in rows.values():
        true, declared = row.details["true"], row.details["declared"]
        if row.misdeclaration == "understated_weight":
            assert float(declared["gross_mass_kg"]) < float(true["gross_mass_kg"])
        if row.misdeclaration is None:
            assert declared == true


@pytest.fixture
def all_red_at_shl(container) -> None:
    """A lane rule that sends every declaration at Al-Shalamcheh to the red lane."""
    rule = LaneRule(
        0, "everything red (test)", Lane.RED, date(2019, 1, 1), None, crossing_code="SHL"
    )
    with container.uow() as uow:
        uow.reference.add_lane_rule(rule, actor="tests", reason="test", at=datetime.now(UTC))
        uow.commit()


MOSTLY_FRAUD = traffic.TrafficConfig(scale=0.1, misdeclaration_rate=0.6)


def test_red_lane_inspections_record_the_misdeclarations_they_detect(container, all_red_at_shl):
    arrivals = _plan(seed=20, crossings=("SHL",), config=MOSTLY_FRAUD)
    report = _run(container, arrivals, seed=20, config=MOSTLY_FRAUD)
    rows = truth(container.engine)
    with container.engine.connect() as conn:
        checks = conn.execute(
            select(t.checks.c.declaration_id, t.checks.c.found, t.checks.c.fraud_kind)
        ).all()
    assert len(checks) == report.declarations == report.lanes["red"]
    found = [c for c in checks if c.found]
    assert found
    assert sum(report.findings.values()) == len(found)
    for c in checks:
        row = rows[c.declaration_id]
        expected = row.misdeclaration is not None and row.details["inspection_would_detect"]
        assert c.found == expected
        assert c.fraud_kind == (row.misdeclaration if expected else None)
    missed = [
        r for r in rows.values() if r.misdeclaration and not r.details["inspection_would_detect"]
    ]
    detected = [
        r for r in rows.values() if r.misdeclaration and r.details["inspection_would_detect"]
    ]
    assert len(detected) > len(missed)  # 85 % detection


def test_every_finding_is_settled_by_a_supplementary_declaration(container, all_red_at_shl):
    arrivals = _plan(seed=20, crossings=("SHL",), config=MOSTLY_FRAUD)
    report = _run(container, arrivals, seed=20, config=MOSTLY_FRAUD)
    assert sum(report.findings.values()) > 0
    assert report.amendments_refused == 0
    assert report.released_with_unpaid_supplement == 0
    assert report.amendments == sum(report.findings.values())


def test_a_truck_that_runs_the_gate_raises_an_alarm_and_some_trucks_stay_in_the_yard(container):
    config = traffic.TrafficConfig(scale=0.1, sneak_exit_rate=1.0)
    arrivals = _plan(seed=4, crossings=("ZRB",), config=config)
    until = datetime.combine(DAY, datetime.min.time(), IRAQ_TZ).astimezone(UTC)
    until += timedelta(hours=20)
    report = _run(container, arrivals, seed=4, config=config, until=until)
    with container.engine.connect() as conn:
        alarms = conn.execute(select(t.alarms.c.kind)).scalars().all()
        states = Counter(conn.execute(select(t.declarations.c.state)).scalars())
    assert report.exit_alarms > 0
    assert alarms == ["exit_without_release"] * report.exit_alarms
    assert report.exited == states["exited"] > 0
    assert sum(report.in_yard.values()) == report.declarations - report.exited > 0


def _inspections(c: Container) -> list[tuple[Any, ...]]:
    d, k, u, x = t.declarations.c, t.checks.c, t.users.c, t.inspection_results.c
    with c.engine.connect() as conn:
        checks = conn.execute(
            select(d.reference, u.username, k.found, k.fraud_kind)
            .join(t.checks, k.declaration_id == d.id)
            .join(t.users, u.id == k.actor)
            .where(k.kind == "inspection")
            .order_by(d.reference)
        ).all()
        extra = conn.execute(
            select(d.reference, x.extra_duty_iqd)
            .join(t.inspection_results, x.declaration_id == d.id)
            .order_by(d.reference)
        ).all()
    return [*map(tuple, checks), *map(tuple, extra)]


def test_with_the_starting_rules_the_same_seed_gives_the_same_inspections_by_the_same_people(
    container, other_container
):
    config = traffic.TrafficConfig(scale=0.1, misdeclaration_rate=0.4)
    runs = [
        _run(
            c,
            _plan(seed=9, days=2, crossings=("SHL",), config=config),
            seed=9,
            config=config,
            profile=STARTING_RULES,
            nightly_valuation=True,
        )
        for c in (container, other_container)
    ]
    assert runs[0] == runs[1]
    assert runs[0].rules_enabled == len(STARTING_RULES)
    assert runs[0].inspections > 5
    assert _signature(container) == _signature(other_container)
    assert _inspections(container) == _inspections(other_container)
    # Three inspectors share the work, as drawn, and no one else recorded an inspection.
    assert {name for _, name, *_ in _inspections(container)[: runs[0].inspections]} <= {
        "inspector.shl",
        "inspector2.shl",
        "inspector3.shl",
    }
