"""Revenue reports at national scale: every report's time over millions of declaration items.

Run from the repository root::

    python bench/reports.py [--items 5000000] [--repeat 7]

It starts a throwaway PostgreSQL cluster (``tests/pg_cluster.py``, fsync off), migrates it,
loads the shipped reference data, and bulk-loads ``--items`` declaration items (5 per
declaration) over two calendar years at the nine crossings with COPY through psycopg, not
through the services: declarations, versions, items, assessments and their lines, payment
orders, payments, ledger postings and lines, and the two rollups the services keep (computed
from the same generated rows). Then each report is run through the service layer on a
read-only unit of work, once to warm up and ``--repeat`` times measured.

Baselines measured in the same run: a bare ``SELECT 1`` round trip, and revenue by HS chapter
recomputed from the raw assessment lines (what the report would cost without its rollup).
stdout gets a table and, as its last line, one JSON object with ``items``, ``report_ms_p50``
and ``report_ms_max`` among the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``tests`` (PgCluster) lives at the repository root
    sys.path.insert(0, str(ROOT))

SEED = 20260315
ITEMS_PER_DECLARATION = 5
FIRST_DAY = date(2025, 1, 1)
DAYS = 730
HS = [
    "690721", "392310", "252329", "720839", "070310", "170199", "100199", "870421",
    "940360", "300490", "847130", "851712", "640399", "520811", "271019", "401110",
]  # fmt: skip
ORIGINS = ["IR", "IR", "IR", "IR", "TR", "CN", "AE", "IN", "DE", "KR"]
RATES = {"69": 15, "39": 10, "25": 20, "72": 5, "07": 10, "17": 5, "10": 0, "87": 15}


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[reports] {message}", file=sys.stderr, flush=True)


def _fils(amount_fils: int) -> str:
    return str(amount_fils)


class Copier:
    """Tab-separated rows buffered and sent with COPY ... FROM STDIN in large chunks."""

    def __init__(self, conn: Any, table: str, columns: Sequence[str]) -> None:
        self.conn = conn
        self.sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        self.buf = io.StringIO()
        self.rows = 0

    def add(self, *values: object) -> None:
        # No value here is NULL; map(str) is the fastest way Python joins a row.
        self.buf.write("\t".join(map(str, values)) + "\n")
        self.rows += 1

    def flush(self) -> None:
        data = self.buf.getvalue()
        if data:
            with self.conn.cursor() as cur, cur.copy(self.sql) as copy:
                copy.write(data)
        self.buf = io.StringIO()


def build(url: str, items: int, rng: random.Random) -> dict[str, int]:
    """Bulk-load the volume; returns row counts."""
    import psycopg

    from manafidh.adapters.db.engine import make_engine
    from manafidh.domain.clock import IRAQ_TZ

    engine = make_engine(url)
    with engine.connect() as c:
        crossings = [r[0] for r in c.exec_driver_sql("SELECT code FROM crossings ORDER BY code")]
    engine.dispose()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    n_decl = max(1, items // ITEMS_PER_DECLARATION)
    traders = [f"IQ-{100_000_000 + k}" for k in range(max(50, n_decl // 200))]
    ledger_daily: dict[tuple[str, str, date, str], int] = defaultdict(int)
    rollup: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    with psycopg.connect(dsn, autocommit=False) as conn:
        conn.execute(
            "INSERT INTO users (id, username, full_name, role, password_hash, crossings, active,"
            " created_at) VALUES ('benchtrader', 'bench.trader', 'Bench', 'trader', 'x', '[]',"
            " true, now())"
        )
        cp = {
            "decl": Copier(conn, "declarations", (
                "id", "reference", "crossing_code", "declarant_id", "regime", "state", "lane",
                "created_at", "lodged_at", "acceptance_date", "checks_done", "settled",
                "finding_open", "version_count", "plate", "updated_at")),
            "ver": Copier(conn, "declaration_versions", (
                "id", "declaration_id", "number", "created_at", "created_by", "reason", "regime",
                "importer_name", "importer_tax_id", "exporter_name", "vehicle_plates",
                "driver_name", "driver_document", "dispatch_country", "origin_country",
                "invoice_currency", "freight", "insurance")),
            "item": Copier(conn, "declaration_items", (
                "id", "version_id", "line_no", "hs_code", "description", "origin_country",
                "quantity", "unit", "net_mass_kg", "gross_mass_kg", "invoice_value")),
            "ass": Copier(conn, "assessments", (
                "id", "declaration_id", "version_number", "assessed_at", "acceptance_date",
                "crossing_code", "invoice_currency", "exchange_rate", "exchange_rate_source",
                "exchange_rate_valid_from", "customs_value_iqd", "duty_iqd", "total_due_iqd")),
            "line": Copier(conn, "assessment_lines", (
                "id", "assessment_id", "line_no", "hs_code", "invoice_value", "customs_value_iqd",
                "rate_id", "rate_percent", "rate_valid_from", "legal_reference", "duty_iqd",
                "explanation")),
            "order": Copier(conn, "payment_orders", (
                "id", "reference", "declaration_id", "amount_iqd", "created_at", "state")),
            "pay": Copier(conn, "payments", (
                "id", "order_id", "bank_transaction_id", "amount_iqd", "paid_at", "received_at",
                "channel", "crossing_code")),
            "post": Copier(conn, "ledger_postings", (
                "id", "key", "kind", "at", "crossing_code", "actor", "declaration_id", "order_id",
                "memo")),
            "lline": Copier(conn, "ledger_lines", ("id", "posting_id", "account", "amount_iqd")),
        }  # fmt: skip
        item_id = line_id = post_id = lline_id = 0
        start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=IRAQ_TZ)
        for d in range(1, n_decl + 1):
            if d % 10_000 == 0:
                for c in cp.values():  # in the order of the foreign keys
                    c.flush()
            if d % 100_000 == 0:
                log(f"  {d:,} of {n_decl:,} declarations")
            crossing = crossings[min(int(rng.expovariate(0.6)), len(crossings) - 1)]
            at = start + timedelta(seconds=rng.randrange(DAYS * 86_400))
            at_utc = at.astimezone(UTC).isoformat()
            day = at.date()
            month = day.strftime("%Y-%m")
            did = f"{d:032x}"
            trader = rng.choice(traders)
            ref = f"{crossing}-{day.year}-{d:07d}"
            cp["decl"].add(did, ref, crossing, "benchtrader", "import", "exited", "green",
                           at_utc, at_utc, day, "t", "t", "f", 1, f"P{d}", at_utc)  # fmt: skip
            cp["ver"].add(
                d, did, 1, at_utc, "benchtrader", "", "import", "Importer", trader,
                "Exporter", '["P"]', "Driver", "D1", "IR", "IR", "USD", 100, 10,
            )  # fmt: skip
            customs_total = duty_total = 0
            for k in range(1, ITEMS_PER_DECLARATION + 1):
                item_id += 1
                line_id += 1
                hs = rng.choice(HS)
                origin = rng.choice(ORIGINS)
                value_usd = rng.randint(200, 20_000)
                customs = value_usd * 1310 * 1000  # fils
                duty = customs * RATES.get(hs[:2], 10) // 100
                customs_total += customs
                duty_total += duty
                cp["item"].add(item_id, d, k, hs, "goods", origin, 1000, "KGM", 1000, 1010,
                               value_usd)  # fmt: skip
                rate = RATES.get(hs[:2], 10)
                cp["line"].add(
                    line_id, did, k, hs, value_usd, customs, 1, rate, "2025-01-01", "bench",
                    duty, "bench",
                )  # fmt: skip
                for dim, key, where in (
                    ("chapter", hs[:2], crossing),
                    ("origin", origin, crossing),
                    ("trader", trader, crossing),
                    ("trader", trader, "*"),  # as the services keep it: summed over crossings
                ):
                    r = rollup[(dim, key, where, month)]
                    r[0] += duty
                    r[1] += customs
                    r[2] += 1
            cp["ass"].add(did, did, 1, at_utc, day, crossing, "USD", 1310, "bench", "2023-02-08",
                          customs_total, duty_total, duty_total)  # fmt: skip
            oid = did
            cp["order"].add(oid, f"RF{d:021d}", did, duty_total, at_utc, "paid")
            paid = at + timedelta(hours=rng.randint(1, 30))
            paid_utc = paid.astimezone(UTC).isoformat()
            cp["pay"].add(d, oid, f"TX{d}", duty_total, paid_utc, paid_utc, "bank_transfer",
                          crossing)  # fmt: skip
            receivable, due = "assets:receivable", duty_total
            for kind, when, lines in (
                ("assessed", at, ((receivable, due), ("revenue:duty", -due))),
                ("collected", paid, (("assets:bank", due), (receivable, -due))),
            ):
                post_id += 1
                cp["post"].add(post_id, f"{kind}:{oid}", kind, when.astimezone(UTC).isoformat(),
                               crossing, "system", did, oid, "")  # fmt: skip
                for account, amount in lines:
                    lline_id += 1
                    cp["lline"].add(lline_id, post_id, account, amount)
                    ledger_daily[(account, crossing, when.date(), kind)] += amount
        for c in cp.values():
            c.flush()
        with conn.cursor() as cur:
            with cur.copy(
                "COPY ledger_daily (account, crossing_code, day, kind, amount_iqd) FROM STDIN"
            ) as copy:
                for key, amount in ledger_daily.items():
                    copy.write_row((*key, amount))
            with cur.copy(
                "COPY revenue_rollup (dimension, key, crossing_code, month, duty_iqd,"
                " customs_value_iqd, item_count) FROM STDIN"
            ) as copy:
                for key, (duty, value, n) in rollup.items():
                    copy.write_row((*key, duty, value, n))
            for table in ("declaration_versions", "declaration_items", "assessment_lines",
                          "payments", "ledger_postings", "ledger_lines"):  # fmt: skip
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
        conn.commit()
        conn.autocommit = True
        log("ANALYZE")
        conn.execute("ANALYZE")
    return {
        "declarations": n_decl,
        "items": item_id,
        "postings": post_id,
        "ledger_daily_rows": len(ledger_daily),
        "revenue_rollup_rows": len(rollup),
    }


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` runs after one warm-up."""
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(url: str, repeat: int) -> dict[str, Any]:
    """Every report through the service layer, and the baselines."""
    from manafidh.adapters.db.engine import make_engine
    from manafidh.adapters.db.uow import SqlUnitOfWork
    from manafidh.domain.clock import SystemClock
    from manafidh.services import revenue_reports as rr

    engine = make_engine(url)
    clock = SystemClock()

    def run(report: Callable[[Any], object]) -> Callable[[], object]:
        def go() -> object:
            with SqlUnitOfWork(engine, clock, readonly=True) as uow:
                return report(uow)

        return go

    reports: dict[str, Callable[[Any], object]] = {
        "crossing_month": lambda u: rr.by_crossing_and_month(uow=u, actor=None, year=2026),
        "chapter_12m": lambda u: rr.by_dimension(
            uow=u, actor=None, dimension="chapter", since="2026-01", until="2026-12"
        ),
        "origin_12m": lambda u: rr.by_dimension(
            uow=u, actor=None, dimension="origin", since="2026-01", until="2026-12"
        ),
        "trader_12m": lambda u: rr.by_dimension(
            uow=u, actor=None, dimension="trader", since="2026-01", until="2026-12"
        ),
        "trader_24m_one_crossing": lambda u: rr.by_dimension(
            uow=u,
            actor=None,
            dimension="trader",
            since="2025-01",
            until="2026-12",
            crossing_code="SHL",
        ),
        "daily_close": lambda u: rr.daily_close(uow=u, actor=None, day=date(2026, 6, 15)),
        "public_monthly_24m": lambda u: rr.public_monthly(
            uow=u, since=date(2025, 1, 1), until=date(2026, 12, 31)
        ),
    }
    out: dict[str, Any] = {}
    for name, report in reports.items():
        log(f"report {name}")
        ms = timed(run(report), repeat)
        out[name] = {"p50": statistics.median(ms), "max": max(ms)}
    with engine.connect() as conn:
        out["baseline_select_1"] = {
            "p50": statistics.median(timed(lambda: conn.exec_driver_sql("SELECT 1").all(), 50))
        }
        log("baseline: revenue by chapter recomputed from raw assessment lines (1 run)")
        t0 = time.perf_counter()
        conn.exec_driver_sql(
            "SELECT substr(l.hs_code, 1, 2), sum(l.duty_iqd) FROM assessment_lines l"
            " JOIN assessments a ON a.id = l.assessment_id"
            " WHERE a.acceptance_date BETWEEN '2026-01-01' AND '2026-12-31'"
            " GROUP BY 1"
        ).all()
        out["baseline_chapter_from_raw"] = {"ms": (time.perf_counter() - t0) * 1000}
    engine.dispose()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Build the volume, measure, print the table and the JSON line."""
    from tests.pg_cluster import PgCluster

    from manafidh.adapters import audit_keys
    from manafidh.adapters.db.engine import make_engine
    from manafidh.adapters.db.migrate import upgrade
    from manafidh.adapters.db.uow import AuditSettings, SqlUnitOfWork
    from manafidh.adapters.reference_files import shipped_bundle
    from manafidh.domain.clock import SystemClock
    from manafidh.services.reference import load_reference

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=5_000_000, help="declaration items (5000000)")
    ap.add_argument("--repeat", type=int, default=7, help="measured runs per report (7)")
    args = ap.parse_args(argv)
    rng = random.Random(SEED)
    results: dict[str, Any] = {
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_start": round(os.getloadavg()[0], 2),
        }
    }
    with contextlib.ExitStack() as stack:
        log("starting a throwaway PostgreSQL cluster (fsync off)")
        cluster = stack.enter_context(PgCluster())
        cluster.create_database("bench_reports")
        url = cluster.url("bench_reports")
        engine = make_engine(url)
        upgrade(engine)
        keys = audit_keys.generate()
        with SqlUnitOfWork(engine, SystemClock(), audit=AuditSettings(keys)) as uow:
            load_reference(uow=uow, bundle=shipped_bundle(), actor="bench")
        engine.dispose()
        log(f"bulk-loading {args.items:,} items")
        t0 = time.perf_counter()
        results["volume"] = build(url, args.items, rng)
        results["build_s"] = time.perf_counter() - t0
        results["reports"] = measure(url, args.repeat)
    results["machine"]["loadavg_end"] = round(os.getloadavg()[0], 2)
    times = [r["p50"] for k, r in results["reports"].items() if not k.startswith("baseline")]
    maxes = [r["max"] for k, r in results["reports"].items() if not k.startswith("baseline")]
    results["items"] = results["volume"]["items"]
    results["report_ms_p50"] = statistics.median(times)
    results["report_ms_max"] = max(maxes)
    print_table(results)
    print(json.dumps(results, separators=(",", ":"), default=_rounded))
    return 0


def _rounded(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else str(value)


def print_table(r: dict[str, Any]) -> None:
    """The figures as a plain table."""
    v = r["volume"]
    print(
        f"{v['items']:,} items in {v['declarations']:,} declarations, {v['postings']:,} postings;"
        f" rollups: {v['ledger_daily_rows']:,} daily ledger rows,"
        f" {v['revenue_rollup_rows']:,} revenue rows; built in {r['build_s']:.0f} s"
    )
    print(f"{'report':<28}{'p50 ms':>10}{'max ms':>10}")
    for name, fig in r["reports"].items():
        if name.startswith("baseline"):
            continue
        print(f"{name:<28}{fig['p50']:>10.1f}{fig['max']:>10.1f}")
    base = r["reports"]
    print(
        f"baseline SELECT 1: {base['baseline_select_1']['p50']:.2f} ms;"
        f" revenue by chapter from raw lines: {base['baseline_chapter_from_raw']['ms']:.0f} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
