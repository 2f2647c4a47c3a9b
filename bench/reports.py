"""Revenue reports at national scale: every report's time over millions of declaration items.

Run from the repository root::

    python bench/reports.py [--items 5000000] [--repeat 7]

It starts a throwaway PostgreSQL cluster (``tests/pg_cluster.py``, fsync off), migrates it,
loads the shipped reference data, and generates ``--items`` declaration items inside
PostgreSQL (generate_series and INSERT ... SELECT; no row passes through Python): declarations
over 24 months at the nine crossings with seasonality and growth, 1 to 15 items each, HS
subheadings, origins and traders drawn from skewed distributions, exemptions relieving some
traders' building materials, payment orders paid in full, in part or not yet, payments, and
ledger postings with their lines. The rollups the services keep (daily ledger, assessment
rollup, foregone revenue) are then filled by the SQL aggregation their incremental path
reaches (``ROLLUP_SQL``; tests/integration/test_bench_reports.py proves both equal). Each report,
with each filter combination people use, runs through the service layer on a read-only unit of
work, once to warm up and ``--repeat`` times measured.

Baselines measured in the same run: a bare ``SELECT 1`` round trip, and revenue by HS chapter
recomputed from the raw assessment lines (what the report would cost without its rollup).
stdout gets a table and, as its last line, one JSON object with ``items``, ``report_ms_p50``
and ``report_ms_max`` among the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``tests`` (PgCluster) lives at the repository root
    sys.path.insert(0, str(ROOT))

SEED = 20260315  # salt of the row-number hash that stands in for random draws
FIRST_MONTH = date(2025, 1, 1)
MONTHS = 24
USD_IQD = 1310  # the exchange rate every generated assessment uses
SLOTS = 1000  # resolution of the weighted draws: each choice owns a share of 1,000 slots

# Weighted choices (realistic shapes, not real figures). Crossings: Shalamcheh (Basra) and the
# Diyala and Kurdistan crossings carry most trucks; codes not named here weigh 3.
CROSSING_WEIGHTS = {"SHL": 30, "MND": 14, "MNT": 12, "PWK": 10, "ZRB": 10, "SHB": 8, "BSH": 7,
                    "HJO": 5, "TWL": 4}  # fmt: skip
# Calendar-month seasonality, and traffic in the second year 12 % above the first.
SEASON = [92, 90, 96, 88, 100, 104, 108, 110, 103, 102, 100, 107]
GROWTH = 1.12
# Items per declaration: many small consignments, a long tail of mixed loads (mean about 4.6).
ITEM_COUNTS = {1: 20, 2: 15, 3: 12, 4: 10, 5: 9, 6: 8, 7: 7, 8: 6, 9: 5, 10: 4, 12: 2, 15: 2}
# (HS subheading, weight, duty rate %): building materials, food and consumer goods from Iran.
HS = [
    ("690721", 10, 15), ("392310", 8, 10), ("252329", 8, 20), ("720839", 7, 5),
    ("070310", 6, 10), ("271019", 6, 5), ("170199", 5, 5), ("940360", 5, 15),
    ("340220", 5, 10), ("080510", 4, 10), ("040690", 4, 10), ("300490", 4, 0),
    ("640399", 4, 20), ("401110", 4, 10), ("100199", 3, 0), ("870421", 3, 15),
    ("847130", 3, 5), ("851712", 3, 5), ("520811", 3, 10), ("700510", 3, 15),
    ("190590", 3, 10), ("730890", 3, 5),
]  # fmt: skip
ORIGINS = {"IR": 62, "TR": 10, "CN": 10, "AE": 6, "IN": 4, "DE": 2, "KR": 2, "SA": 2, "RU": 2}
# Exemptions: one trader in 41 is a beneficiary (a ministry, an investment project) for
# building materials and machinery; odd ones are relieved fully, even ones by half.
EXEMPT_EVERY, EXEMPT_AT = 41, 3
EXEMPT_CHAPTERS = ["25", "69", "72", "73", "84", "94"]
PAID, PART_PAID = 0.95, 0.97  # shares of orders paid in full / in part (the rest still open)


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[reports] {message}", file=sys.stderr, flush=True)


def slots(weights: dict[Any, int]) -> list[Any]:
    """The choices spread over ``SLOTS`` slots in proportion to their weights."""
    total = sum(weights.values())
    out: list[Any] = []
    for value, w in weights.items():
        out += [value] * round(SLOTS * w / total)
    return (out + [out[-1]] * SLOTS)[:SLOTS]


def _month_weights() -> dict[int, int]:
    return {m: round(SEASON[m % 12] * (GROWTH if m >= 12 else 1) * 10) for m in range(MONTHS)}


def mean_items() -> float:
    """The mean number of items per generated declaration."""
    return sum(k * w for k, w in ITEM_COUNTS.items()) / sum(ITEM_COUNTS.values())


# A uniform draw in [0, 1) from a row number and a salt: deterministic, parallel-safe, and as
# fast as PostgreSQL's own hash (random() would differ between runs and plans).
_R = """CREATE OR REPLACE FUNCTION bench_r(n bigint, salt bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ((hashint8extended(n, salt) >> 11) & 9007199254740991)::float8
             / 9007199254740992.0 $$"""

# Declarations: crossing, month, day and hour, item count, trader, payment.
_DECL = """CREATE UNLOGGED TABLE bench_decl AS
WITH b AS (
  SELECT d,
    (%(crossings)s::text[])[1 + floor(bench_r(d, %(salt)s + 1) * 1000)::int] AS crossing,
    (%(months)s::int[])[1 + floor(bench_r(d, %(salt)s + 2) * 1000)::int] AS m,
    (%(counts)s::int[])[1 + floor(bench_r(d, %(salt)s + 3) * 1000)::int] AS k,
    1 + floor(%(traders)s * power(bench_r(d, %(salt)s + 4), 2.5))::int AS trader,
    bench_r(d, %(salt)s + 5) AS rday, bench_r(d, %(salt)s + 6) AS rsec,
    bench_r(d, %(salt)s + 7) AS rpay, bench_r(d, %(salt)s + 8) AS rlag
  FROM generate_series(1, %(n)s::bigint) AS d
), t AS (
  SELECT b.*, ms + make_interval(
      days => floor(rday * extract(day FROM ms + interval '1 month' - interval '1 day'))::int,
      secs => 21600 + rsec * 50400) AS local_ts  -- between 06:00 and 20:00 in Baghdad
  FROM b, LATERAL (SELECT %(first)s::date + make_interval(months => b.m) AS ms) x
)
SELECT d, crossing, k, trader, rpay, rlag, local_ts::date AS day,
  local_ts AT TIME ZONE 'Asia/Baghdad' AS at,
  lpad(to_hex(d), 32, '0') AS did,
  'IQ-' || (100000000 + trader) AS tax_id,
  sum(k) OVER (ORDER BY d) - k AS item0
FROM t"""

# Items: HS subheading and its rate, origin, value (log-uniform 300..45,000 USD), mass, and
# the exemption relief where the trader is a beneficiary for the item's chapter.
_ITEM = """CREATE UNLOGGED TABLE bench_item AS
WITH q AS (
  SELECT d.d, d.did, d.crossing, d.day, d.trader, g.k AS line_no, d.item0 + g.k AS id,
    1 + floor(bench_r(d.item0 + g.k, %(salt)s + 11) * 1000)::int AS s1,
    1 + floor(bench_r(d.item0 + g.k, %(salt)s + 12) * 1000)::int AS s2,
    round(exp(ln(300) + bench_r(d.item0 + g.k, %(salt)s + 13) * ln(150)))::bigint AS value_usd,
    0.5 + 3.5 * bench_r(d.item0 + g.k, %(salt)s + 14) AS kg_per_usd
  FROM bench_decl d CROSS JOIN LATERAL generate_series(1, d.k) AS g(k)
), v AS (
  SELECT q.*, (%(hs)s::text[])[s1] AS hs, (%(rates)s::int[])[s1] AS rate,
    (%(origins)s::text[])[s2] AS origin, value_usd * %(usd)s * 1000 AS customs,
    value_usd * %(usd)s * 1000 * (%(rates)s::int[])[s1] / 100 AS duty_before,
    CASE WHEN trader %% %(every)s = %(at)s
          AND substr((%(hs)s::text[])[s1], 1, 2) = ANY(%(chapters)s::text[])
         THEN CASE WHEN trader %% 2 = 1 THEN 100 ELSE 50 END ELSE 0 END AS relief
  FROM q
)
SELECT v.*, duty_before * relief / 100 AS foregone,
  duty_before - duty_before * relief / 100 AS duty,
  round((value_usd * kg_per_usd)::numeric, 3) AS net_kg
FROM v"""

# Per declaration: customs value, what is due, what was paid and when.
_SUM = """CREATE UNLOGGED TABLE bench_sum AS
SELECT d.*, s.customs, s.due,
  CASE WHEN d.rpay < %(paid)s THEN s.due WHEN d.rpay < %(part)s THEN s.due / 2 ELSE 0 END
    AS paid,
  d.at + make_interval(secs => 3600 + d.rlag * 104400) AS paid_at
FROM bench_decl d
JOIN (SELECT d, sum(customs) AS customs, sum(duty) AS due FROM bench_item GROUP BY d) s
  USING (d)"""

_LOAD = [
    """INSERT INTO users (id, username, full_name, role, password_hash, crossings, active,
       created_at) VALUES ('benchtrader', 'bench.trader', 'Bench', 'trader', 'x', '[]', true,
       now())""",
    """INSERT INTO exemptions (id, reference, beneficiary_kind, beneficiary_name,
       beneficiary_tax_id, legal_basis, valid_from, valid_to, relief_percent, codes, crossings,
       state)
     SELECT t, 'BX-' || t,
       CASE WHEN t %% 2 = 1 THEN 'institution' ELSE 'investment_project' END,
       'Beneficiary ' || t, 'IQ-' || (100000000 + t), 'bench: Customs Law No. 23 of 1984',
       %(first)s::date, NULL, CASE WHEN t %% 2 = 1 THEN 100 ELSE 50 END,
       to_json(%(chapters)s::text[]), '[]', 'active'
     FROM generate_series(1, %(traders)s) AS t WHERE t %% %(every)s = %(at)s""",
    """INSERT INTO declarations (id, reference, crossing_code, declarant_id, regime, state,
       lane, created_at, lodged_at, acceptance_date, checks_done, settled, finding_open,
       version_count, plate, updated_at)
     SELECT did, crossing || '-' || extract(year FROM day) || '-' || lpad(d::text, 8, '0'),
       crossing, 'benchtrader', 'import',
       CASE WHEN paid = due THEN 'exited' ELSE 'lane_selected' END, 'green', at, at, day,
       true, paid = due, false, 1, 'P' || d, at
     FROM bench_sum""",
    """INSERT INTO declaration_versions (id, declaration_id, number, created_at, created_by,
       reason, regime, importer_name, importer_tax_id, exporter_name, vehicle_plates,
       driver_name, driver_document, dispatch_country, origin_country, invoice_currency,
       freight, insurance)
     SELECT d, did, 1, at, 'benchtrader', '', 'import', 'Importer ' || trader, tax_id,
       'Exporter', json_build_array('P' || d), 'Driver', 'D' || d, 'IR', 'IR', 'USD', 0, 0
     FROM bench_decl""",
    """INSERT INTO declaration_items (id, version_id, line_no, hs_code, description,
       origin_country, quantity, unit, net_mass_kg, gross_mass_kg, invoice_value)
     SELECT id, d, line_no, hs, 'goods', origin, net_kg, 'KGM', net_kg, net_kg * 1.02,
       value_usd
     FROM bench_item""",
    """INSERT INTO assessments (id, declaration_id, version_number, assessed_at,
       acceptance_date, crossing_code, invoice_currency, exchange_rate, exchange_rate_source,
       exchange_rate_valid_from, customs_value_iqd, duty_iqd, total_due_iqd)
     SELECT did, did, 1, at, day, crossing, 'USD', %(usd)s, 'bench', %(first)s::date,
       customs, due, due
     FROM bench_sum""",
    """INSERT INTO assessment_lines (id, assessment_id, line_no, hs_code, invoice_value,
       customs_value_iqd, rate_id, rate_percent, rate_valid_from, legal_reference, duty_iqd,
       explanation)
     SELECT id, did, line_no, hs, value_usd, customs, 1, rate, %(first)s::date, 'bench', duty,
       'bench'
     FROM bench_item""",
    """INSERT INTO exemption_uses (assessment_id, declaration_id, line_no, exemption_id,
       quota_id, hs_code, crossing_code, acceptance_date, grams, value_iqd, duty_before_iqd,
       foregone_iqd, released)
     SELECT did, did, line_no, trader, NULL, hs, crossing, day, round(net_kg * 1000), customs,
       duty_before, foregone, false
     FROM bench_item WHERE relief > 0 ORDER BY id""",
    # A zero-duty declaration is settled at once: no order, nothing to post (as the services).
    """INSERT INTO payment_orders (id, reference, declaration_id, amount_iqd, created_at, state)
     SELECT did, 'RF' || lpad(d::text, 21, '0'), did, due, at,
       CASE WHEN paid = due THEN 'paid' ELSE 'open' END
     FROM bench_sum WHERE due > 0""",
    """INSERT INTO payments (id, order_id, bank_transaction_id, amount_iqd, paid_at,
       received_at, channel, crossing_code)
     SELECT d, did, 'TX' || d, paid, paid_at, paid_at, 'bank_transfer', crossing
     FROM bench_sum WHERE paid > 0""",
    """INSERT INTO ledger_postings (id, key, kind, at, crossing_code, actor, declaration_id,
       order_id, memo)
     SELECT 2 * d - 1, 'order:' || did || ':assessed', 'assessed', at, crossing, 'system', did,
       did, 'RF' || lpad(d::text, 21, '0')
     FROM bench_sum WHERE due > 0
     UNION ALL
     SELECT 2 * d, 'payment:TX' || d, 'collected', paid_at, crossing, 'bank', did, did,
       'RF' || lpad(d::text, 21, '0')
     FROM bench_sum WHERE paid > 0""",
    """INSERT INTO ledger_lines (id, posting_id, account, amount_iqd)
     SELECT 4 * d - 3, 2 * d - 1, 'assets:receivable', due FROM bench_sum WHERE due > 0
     UNION ALL
     SELECT 4 * d - 2, 2 * d - 1, 'revenue:duty', -due FROM bench_sum WHERE due > 0
     UNION ALL
     SELECT 4 * d - 1, 2 * d, 'assets:bank', paid FROM bench_sum WHERE paid > 0
     UNION ALL
     SELECT 4 * d, 2 * d, 'assets:receivable', -paid FROM bench_sum WHERE paid > 0""",
]

# The rollups, by the aggregation the services' incremental path reaches (proved equal by
# tests/integration/test_bench_reports.py): the daily ledger per account, crossing, Iraq day
# and kind of posting; the assessment rollup from each declaration's latest assessment (traders
# also summed over all crossings, as '*'); the foregone rollup from the unreleased exempted
# lines, keyed by chapter.
ROLLUP_SQL = [
    """INSERT INTO ledger_daily (account, crossing_code, day, kind, amount_iqd)
     SELECT l.account, p.crossing_code, (p.at AT TIME ZONE 'Asia/Baghdad')::date, p.kind,
       sum(l.amount_iqd)
     FROM ledger_lines l JOIN ledger_postings p ON p.id = l.posting_id
     GROUP BY 1, 2, 3, 4""",
    """INSERT INTO revenue_rollup (dimension, key, crossing_code, month, duty_iqd,
       customs_value_iqd, item_count)
     WITH latest AS (
       SELECT DISTINCT ON (declaration_id) id, declaration_id, version_number, crossing_code,
         to_char(acceptance_date, 'YYYY-MM') AS month
       FROM assessments ORDER BY declaration_id, version_number DESC
     ), x AS (
       SELECT a.crossing_code, a.month, substr(l.hs_code, 1, 2) AS chapter,
         i.origin_country AS origin, v.importer_tax_id AS trader, l.duty_iqd,
         l.customs_value_iqd
       FROM latest a
       JOIN assessment_lines l ON l.assessment_id = a.id
       JOIN declaration_versions v
         ON v.declaration_id = a.declaration_id AND v.number = a.version_number
       JOIN declaration_items i ON i.version_id = v.id AND i.line_no = l.line_no
     )
     SELECT CASE WHEN GROUPING(chapter) = 0 THEN 'chapter'
                 WHEN GROUPING(origin) = 0 THEN 'origin' ELSE 'trader' END,
       coalesce(chapter, origin, trader), coalesce(crossing_code, '*'), month,
       sum(duty_iqd), sum(customs_value_iqd), count(*)
     FROM x
     GROUP BY GROUPING SETS ((chapter, crossing_code, month), (origin, crossing_code, month),
                             (trader, crossing_code, month), (trader, month))""",
    """INSERT INTO revenue_rollup (dimension, key, crossing_code, month, duty_iqd,
       customs_value_iqd, item_count)
     SELECT 'foregone', substr(hs_code, 1, 2), crossing_code,
       to_char(acceptance_date, 'YYYY-MM'), sum(foregone_iqd), sum(value_iqd), count(*)
     FROM exemption_uses WHERE NOT released
     GROUP BY 2, 3, 4""",
]

_SEQUENCES = ("declaration_versions", "declaration_items", "assessment_lines", "payments",
              "ledger_postings", "ledger_lines", "exemptions", "exemption_uses")  # fmt: skip


def build(url: str, items: int) -> dict[str, int]:
    """Generate ``items`` declaration items (and all that goes with them) in SQL; row counts."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    n_decl = max(1, round(items / mean_items()))
    with psycopg.connect(dsn, autocommit=False) as conn:
        crossings = [r[0] for r in conn.execute("SELECT code FROM crossings ORDER BY code")]
        hs = {code: w for code, w, _ in HS}
        hs_slots = slots(hs)
        rate_of = {code: rate for code, _, rate in HS}
        params: dict[str, Any] = {
            "salt": SEED,
            "n": n_decl,
            "traders": max(50, n_decl // 100),
            "crossings": slots({c: CROSSING_WEIGHTS.get(c, 3) for c in crossings}),
            "months": slots(_month_weights()),
            "counts": slots(ITEM_COUNTS),
            "hs": hs_slots,
            "rates": [rate_of[c] for c in hs_slots],
            "origins": slots(ORIGINS),
            "usd": USD_IQD,
            "first": FIRST_MONTH,
            "every": EXEMPT_EVERY,
            "at": EXEMPT_AT,
            "chapters": EXEMPT_CHAPTERS,
            "paid": PAID,
            "part": PART_PAID,
        }
        steps = [("hash function", _R), ("declarations", _DECL), ("items", _ITEM),
                 ("totals", _SUM)]  # fmt: skip
        steps += [(f"load {sql.split()[2]}", sql) for sql in _LOAD]
        steps += [(f"rollup {sql.split()[2]}", sql) for sql in ROLLUP_SQL]
        for name, sql in steps:
            t0 = time.perf_counter()
            conn.execute(sql, params if "%(" in sql else None)
            log(f"  {name}: {time.perf_counter() - t0:.1f} s")
        for table in _SEQUENCES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" greatest((SELECT max(id) FROM {table}), 1))"
            )
        counts = {
            name: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for name, table in (
                ("declarations", "declarations"),
                ("items", "declaration_items"),
                ("postings", "ledger_postings"),
                ("exempted_items", "exemption_uses"),
                ("ledger_daily_rows", "ledger_daily"),
                ("revenue_rollup_rows", "revenue_rollup"),
            )
        }
        for table in ("bench_sum", "bench_item", "bench_decl"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP FUNCTION bench_r")
        conn.commit()
        conn.autocommit = True
        log("ANALYZE")
        conn.execute("ANALYZE")
    return counts


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` runs after one warm-up."""
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def report_calls() -> dict[str, Callable[[Any], object]]:
    """Every report with each filter combination people use (by name)."""
    from manafidh.services import revenue_reports as rr

    calls: dict[str, Callable[[Any], object]] = {
        "crossing_month_2026": lambda u: rr.by_crossing_and_month(uow=u, actor=None, year=2026),
        "crossing_month_2025": lambda u: rr.by_crossing_and_month(uow=u, actor=None, year=2025),
        "crossing_month_foregone": lambda u: rr.by_crossing_and_month_with_foregone(
            uow=u, actor=None, year=2026
        ),
    }
    ranges = {"1m": ("2026-06", "2026-06"), "12m": ("2026-01", "2026-12"),
              "24m": ("2025-01", "2026-12")}  # fmt: skip
    for dim in ("chapter", "origin", "trader"):
        for span, (since, until) in ranges.items():
            for crossing in (None, "SHL", "TWL"):  # all, the busiest, a small one
                if span == "1m" and crossing == "TWL":
                    continue

                def call(u: Any, d: str = dim, s: str = since, e: str = until,
                         c: str | None = crossing) -> object:  # fmt: skip
                    return rr.by_dimension(
                        uow=u, actor=None, dimension=d, since=s, until=e, crossing_code=c
                    )

                calls[f"{dim}_{span}_{crossing or 'all'}"] = call
    calls["daily_close_all"] = lambda u: rr.daily_close(uow=u, actor=None, day=date(2026, 6, 15))
    calls["daily_close_SHL"] = lambda u: rr.daily_close(
        uow=u, actor=None, day=date(2026, 6, 15), crossing_code="SHL"
    )
    calls["public_monthly_24m"] = lambda u: rr.public_monthly(
        uow=u, since=date(2025, 1, 1), until=date(2026, 12, 31)
    )
    return calls


def measure(url: str, repeat: int) -> dict[str, Any]:
    """Every report through the service layer, and the baselines."""
    from manafidh.adapters.db.engine import make_engine
    from manafidh.adapters.db.uow import SqlUnitOfWork
    from manafidh.domain.clock import SystemClock

    engine = make_engine(url)
    clock = SystemClock()

    def run(report: Callable[[Any], object]) -> Callable[[], object]:
        def go() -> object:
            with SqlUnitOfWork(engine, clock, readonly=True) as uow:
                return report(uow)

        return go

    reports = report_calls()
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
        results["volume"] = build(url, args.items)
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
        f" {v['revenue_rollup_rows']:,} revenue rows; {v['exempted_items']:,} exempted items;"
        f" built in {r['build_s']:.0f} s"
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
