"""Tariff benchmark: items assessed per second under the full UK Global Tariff, parse rate.

Run from the repository root::

    python bench/tariff.py [--declarations 2000] [--lodgings 100]

What it measures:

* **parse rate** - every non-empty rate of both columns of the shared UK Global Tariff CSV
  (``../shared/data/uk-global-tariff``) through the duty-expression parser, uncached: the share
  that parses and expressions per second;
* **domain, one core** - the UK Global Tariff column loaded as import-duty measures (one per
  commodity line, every origin) in a ``MeasureIndex``; declarations of 10 items on commodity
  codes drawn at random from the lines whose duty can be computed from a declaration's quantities
  (kg and items), assessed by ``assess_with_measures``. Baseline in the same run: the same
  declarations under the shipped ad-valorem schedule alone (``assess_content``);
* **service layer, SQLite** - the same measures imported through ``manafidh tariff import``'s
  service (validation, operations log) into a fresh migrated database, then declarations of 10
  items submitted (lodge, assess from the database, lane, payment order, journal); baseline: the
  same submissions on a database without measures.

Progress goes to stderr; stdout gets a table and, as its last line, one JSON object with
``items_per_s`` (the domain figure) and ``parse_rate``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``tests`` (shared data, _prepare) lives at the repository root
    sys.path.insert(0, str(ROOT))

ITEMS = 10
DAY = date(2026, 3, 15)
AT = datetime(2026, 3, 15, 6, tzinfo=UTC)
CORPUS = "data/uk-global-tariff/global-uk-tariff.csv"
COLUMNS = ("cet_duty_rate", "ukgt_duty_rate")


def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def parse_corpus(path: Path) -> dict[str, Any]:
    """Parse every rate of both columns, uncached; the share that parses and the speed."""
    from manafidh.domain.errors import ValidationFailed
    from manafidh.domain.tariff.expressions import parse

    with path.open(encoding="utf-8", newline="") as f:
        texts = [r[c] for r in csv.DictReader(f) for c in COLUMNS if r[c].strip()]
    ok = 0
    start = time.perf_counter()
    for text in texts:
        try:
            parse(text)
            ok += 1
        except ValidationFailed:
            pass
    seconds = time.perf_counter() - start
    return {
        "expressions": len(texts),
        "parsed": ok,
        "parse_rate": ok / len(texts),
        "parse_per_s": len(texts) / seconds,
    }


def uk_measures(path: Path) -> tuple[list[Any], int]:
    """The UK Global Tariff column as measures; the count of lines left out (unparseable)."""
    from manafidh.adapters.tariff_files import uk_tariff_rows
    from manafidh.domain.errors import DomainError
    from manafidh.domain.tariff.imports import measure_from_row
    from manafidh.domain.tariff.measures import Measure

    measures: list[Measure] = []
    skipped = 0
    for n, (_, row) in enumerate(uk_tariff_rows(path), start=1):
        try:
            m = measure_from_row(row)
        except DomainError:
            skipped += 1
            continue
        measures.append(
            Measure(
                n,
                m.code,
                m.measure_type,
                m.origin,
                m.valid_from,
                m.valid_to,
                m.legal_reference,
                m.expression,
            )
        )
    return measures, skipped


def computable_codes(measures: Sequence[Any], schedule: Any) -> list[str]:
    """Codes whose duty a declaration of kg and items can pay (no EU agricultural tables, no
    litres or alcohol strength) and whose chapter the shipped schedule covers (the baseline)."""
    from manafidh.domain.errors import DomainError
    from manafidh.domain.tariff.duty import compute_duty

    quantities = {"kg": Decimal(1000), "kg gross": Decimal(1010), "item": Decimal(10)}
    codes = []
    for m in measures:
        try:
            compute_duty(
                m.duty,
                customs_value=Decimal(1000),
                quantities=quantities,
                convert=lambda a, _c: a * 1500,
                on=DAY,
            )
            schedule.rate_for(m.code, DAY)
        except DomainError:
            continue
        codes.append(m.code)
    return codes


def make_contents(
    codes: Sequence[str], n: int, seed: int, hs6_known: set[str] | None = None
) -> list[Any]:
    """``n`` declarations of 10 items on codes drawn at random (10-digit national lines)."""
    from tests.factories import content, item

    rng = random.Random(seed)
    pool = [c for c in codes if hs6_known is None or c[:6] in hs6_known]
    out = []
    for _ in range(n):
        items = [
            item(
                i,
                hs_code=rng.choice(pool)[:8],
                unit="NAR",
                quantity=Decimal(rng.randint(1, 500)),
                net_mass_kg=Decimal(rng.randint(100, 20000)),
                gross_mass_kg=Decimal(20100),
                invoice_value=Decimal(rng.randint(100, 90000)) + Decimal("0.25"),
                origin_country=rng.choice(["IR", "TR", "CN", "DE", "AE"]),
            )
            for i in range(1, ITEMS + 1)
        ]
        out.append(content(items=items, invoice_currency="USD"))
    return out


def domain(measures: Sequence[Any], contents: Sequence[Any], schedule: Any) -> dict[str, Any]:
    """Items per second assessed under the measures, and under the schedule alone."""
    from manafidh.domain.reference import ExchangeRate
    from manafidh.domain.tariff.assessment import assess_content
    from manafidh.domain.tariff.measured import assess_with_measures
    from manafidh.domain.tariff.measures import MeasureIndex

    usd = ExchangeRate("USD", date(2026, 1, 1), None, Decimal("1310"), "bench")
    gbp = ExchangeRate("GBP", date(2026, 1, 1), None, Decimal("1650"), "bench")
    eur = ExchangeRate("EUR", date(2026, 1, 1), None, Decimal("1420"), "bench")
    rates = {"USD": usd, "GBP": gbp, "EUR": eur}.__getitem__
    start = time.perf_counter()
    index = MeasureIndex(measures)
    index_s = time.perf_counter() - start

    def run_measures() -> float:
        start = time.perf_counter()
        for n, c in enumerate(contents):
            assess_with_measures(
                assessment_id=str(n),
                declaration_id=str(n),
                version_number=1,
                content=c,
                acceptance_date=DAY,
                exchange_rate=usd,
                schedule=schedule,
                measures=index,
                rates=rates,
                at=AT,
            )
        return time.perf_counter() - start

    def run_schedule() -> float:
        start = time.perf_counter()
        for n, c in enumerate(contents):
            assess_content(
                assessment_id=str(n),
                declaration_id=str(n),
                version_number=1,
                content=c,
                acceptance_date=DAY,
                exchange_rate=usd,
                schedule=schedule,
                at=AT,
            )
        return time.perf_counter() - start

    run_measures()  # warm the expression cache, as a running server has it
    items = len(contents) * ITEMS
    measured = min(run_measures() for _ in range(3))
    baseline = min(run_schedule() for _ in range(3))
    return {
        "measures_loaded": len(index),
        "index_build_s": index_s,
        "items_per_s": items / measured,
        "baseline_schedule_items_per_s": items / baseline,
    }


def service(path: Path, contents_seed: int, n: int, codes: Sequence[str]) -> dict[str, Any]:
    """Import the UK measures into a fresh SQLite database; submit declarations of 10 items."""
    from tests.conftest import PASSWORD, _prepare

    from manafidh.adapters.tariff_files import uk_tariff_rows
    from manafidh.bootstrap import bootstrap
    from manafidh.config import Settings
    from manafidh.domain.identity import Role
    from manafidh.services import declarations, tariff
    from manafidh.services.identity import create_user

    workdir = Path(tempfile.mkdtemp(prefix="manafidh-bench-tariff-"))
    try:
        os.environ["MANAFIDH_AUDIT_KEY_FILE"] = str(workdir / "audit-ed25519.pem")
        template = workdir / "template.db"
        _prepare(f"sqlite+pysqlite:///{template}")
        out: dict[str, Any] = {}
        for label, with_measures in (("baseline", False), ("measures", True)):
            db = workdir / f"{label}.db"
            shutil.copyfile(template, db)
            c = bootstrap(
                Settings(database_url=f"sqlite+pysqlite:///{db}", fast_password_hashing=True),
                rng=random.Random(1),
            )
            with c.uow() as uow:
                trader = create_user(
                    uow=uow,
                    hasher=c.hasher,
                    actor=None,
                    username="bench",
                    full_name="Bench",
                    role=Role.TRADER,
                    password=PASSWORD,
                    crossings=[],
                )
            with c.uow(readonly=True) as uow:
                known = {code[:6] for code in codes} - uow.reference.unknown_hs_codes(
                    {code[:6] for code in codes}
                )
            if with_measures:
                rows = [
                    (line, row)
                    for line, row in uk_tariff_rows(path)
                    if row["expression"] and row["code"][:6] in known
                ]
                log(f"  importing {len(rows)} UK lines whose HS6 is in HS 2022")
                start = time.perf_counter()
                with c.uow() as uow:
                    done = tariff.import_measures(
                        uow=uow, actor=None, rows=rows, source="global-uk-tariff.csv"
                    )
                out["import_s"] = time.perf_counter() - start
                out["imported"] = done.measures
            contents = make_contents(codes, n, contents_seed, known)
            start = time.perf_counter()
            for content in contents:
                with c.uow() as uow:
                    declarations.submit(
                        uow=uow,
                        actor=trader,
                        crossing_code="SHL",
                        content=content,
                        rng=random.Random(2),
                    )
            seconds = time.perf_counter() - start
            out[f"{label}_items_per_s"] = n * ITEMS / seconds
            c.engine.dispose()
        return out
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--declarations", type=int, default=2000, help="domain: 10-item declarations")
    p.add_argument("--lodgings", type=int, default=100, help="SQLite: 10-item submissions")
    p.add_argument("--seed", type=int, default=3)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement; print the table and the JSON line."""
    from tests.shared_data import shared_file

    from manafidh.adapters.reference_files import shipped_bundle
    from manafidh.domain.tariff.rates import TariffSchedule

    args = parse_args(argv)
    path = shared_file(CORPUS)
    if path is None:
        log(f"../shared/{CORPUS} is not present")
        return 1
    log("parsing the corpus")
    parsing = parse_corpus(path)
    log("loading the UK Global Tariff as measures")
    measures, skipped = uk_measures(path)
    schedule = TariffSchedule(shipped_bundle().tariff_rates)
    codes = computable_codes(measures, schedule)
    contents = make_contents(codes, args.declarations, args.seed)
    log(f"domain: {args.declarations} declarations of {ITEMS} items")
    dom = domain(measures, contents, schedule)
    svc: dict[str, Any] = {}
    if args.lodgings > 0:
        log(f"service layer on SQLite: {args.lodgings} submissions of {ITEMS} items")
        svc = service(path, args.seed, args.lodgings, codes)
    rows = [
        ("corpus expressions", f"{parsing['expressions']}"),
        ("parse rate", f"{parsing['parse_rate']:.5f}"),
        ("parses per second (uncached)", f"{parsing['parse_per_s']:,.0f}"),
        ("UK lines loaded as measures", f"{dom['measures_loaded']} ({skipped} unparseable)"),
        ("codes computable from kg/items", f"{len(codes)}"),
        ("domain: items/s under measures", f"{dom['items_per_s']:,.0f}"),
        (
            "domain: items/s, schedule only (baseline)",
            f"{dom['baseline_schedule_items_per_s']:,.0f}",
        ),
    ]
    for key, value in svc.items():
        rows.append((f"sqlite: {key.replace('_', ' ')}", f"{value:,.1f}"))
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    result = {
        "items_per_s": round(dom["items_per_s"], 1),
        "parse_rate": round(parsing["parse_rate"], 6),
        "parse_per_s": round(parsing["parse_per_s"], 1),
        "baseline_schedule_items_per_s": round(dom["baseline_schedule_items_per_s"], 1),
        "measures_loaded": dom["measures_loaded"],
        "declarations": args.declarations,
        **{f"sqlite_{k}": round(v, 2) for k, v in svc.items()},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
