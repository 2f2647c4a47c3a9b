"""Audit log benchmark: appends per second inside real transactions, and verification speed.

Run from the repository root::

    python bench/audit.py [--entries 200000] [--seconds 5] [--quick]

* **append** - entries appended through the real code path (``uow.audit.append`` then
  ``uow.commit()``: reserve the indices with ``UPDATE audit_state ... RETURNING``, insert the
  entries with their leaf hashes and MACs, store the new Merkle frontier, COMMIT), 1 and 10
  entries per transaction, on SQLite (file, WAL) and PostgreSQL (a throwaway cluster from
  ``tests/pg_cluster.py``, fsync off), from 1 thread and, on PostgreSQL, 2 threads. A tree head is
  signed every 1,000 entries as in production. A baseline in the same run: empty transactions
  (BEGIN; COMMIT) per second on the same database.
* **verify** - a log of ``--entries`` entries is built through the same append code, 1,000 entries
  per transaction (that rate is printed too), with payloads shaped like the real ones (a
  declaration's full content, totals, lane decisions, payments); then the whole log is checked as
  ``manafidh audit verify`` does (every leaf and MAC recomputed, the Merkle root recomputed at every
  signed tree head and checked with its signature), without the record cross-check, with 1 process
  and with one per core.

Progress goes to stderr; stdout gets a table and, as its last line, one JSON object with
``append_per_s`` (PostgreSQL, 10 entries per transaction, 1 thread) and ``verify_per_s``
(PostgreSQL, one process per core), and every other figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``tests`` (PgCluster, factories) lives at the repository root
    sys.path.insert(0, str(ROOT))

BATCHES = (1, 10)
BUILD_BATCH = 1000


def log(message: str) -> None:
    """Progress, to stderr."""
    print(message, file=sys.stderr, flush=True)


# -- payloads shaped like the real ones -------------------------------------------------------
def payloads() -> list[tuple[str, str, dict[str, Any]]]:
    """(action, subject prefix, payload) as a declaration's life writes them, in that order."""
    from decimal import Decimal

    from tests.factories import content, item

    from manafidh.domain.audit.payloads import content_digest, version_payload

    c = content(items=[item(n) for n in range(1, 6)])
    ref = {"reference": "SHL-2026-000123"}
    return [
        ("declaration.created", "declaration", {**ref, "to": "draft", **version_payload(1, c)}),
        ("declaration.lodge", "declaration", {**ref, "from": "draft", "to": "lodged",
         "reason": "", "acceptance_date": "2026-03-15", "version": 1,
         "content_digest": content_digest(c)}),
        ("declaration.assess", "declaration", {**ref, "from": "lodged", "to": "assessed",
         "reason": "", "assessment_id": "a" * 32, "version": 1, "exchange_rate": "1310",
         "customs_value_iqd": "2246650", "duty_iqd": "673995", "total_due_iqd": "673995",
         "acceptance_date": "2026-03-15"}),
        ("declaration.select_lane", "declaration", {**ref, "from": "assessed",
         "to": "lane_selected", "reason": "rule 3 'Tobacco (chapter 24) - high duty' -> red",
         "lane": "red", "first": True, "random_draw": "0.140891", "random_rate": "0.02",
         "random_selected": False, "matched_rule_ids": [3]}),
        ("payment_order.issued", "declaration", {**ref, "order": "RF75SHL26000000001",
         "amount_iqd": Decimal("673995")}),
        ("payment.received", "payment", {**ref, "order": "RF75SHL26000000001",
         "declaration_id": "d" * 32, "bank_transaction_id": "RAFIDAIN-123",
         "amount_iqd": "673995", "paid_at": "2026-03-15T06:30:00.000000Z",
         "channel": "bank_transfer", "order_state": "paid"}),
        ("declaration.release", "declaration", {**ref, "from": "paid", "to": "released",
         "reason": ""}),
        ("declaration.exit", "declaration", {**ref, "from": "released", "to": "exited",
         "reason": "", "exit_id": "e" * 32, "plate": "IR12B345", "gate_reason": "released"}),
    ]  # fmt: skip


class Appender:
    """Appends entries through real units of work on one engine."""

    def __init__(self, url: str, keys: Any, *, checkpoint_every: int = 1000) -> None:
        from manafidh.adapters.db.engine import make_engine
        from manafidh.adapters.db.uow import AuditSettings, UnitOfWorkFactory
        from manafidh.domain.clock import FixedClock

        self.engine = make_engine(url)
        self.clock = FixedClock(datetime(2026, 3, 15, 6, 0, tzinfo=UTC))
        self.factory = UnitOfWorkFactory(
            self.engine, self.clock, AuditSettings(keys, checkpoint_every, checkpoint_minutes=0)
        )
        self.templates = payloads()
        self.n = 0

    def transaction(self, count: int) -> None:
        """One transaction appending ``count`` entries."""
        with self.factory() as uow:
            for _ in range(count):
                action, kind, payload = self.templates[self.n % len(self.templates)]
                uow.audit.append(
                    at=self.clock.now() + timedelta(microseconds=self.n),
                    actor="5b23b1d456284ce98075f7f4c1e3b5e7",
                    role="trader",
                    crossing="SHL",
                    action=action,
                    subject=f"{kind}:{self.n // len(self.templates):032x}",
                    payload=payload,
                )
                self.n += 1
            uow.commit()

    def empty_transaction(self) -> None:
        """BEGIN; COMMIT on a unit of work: the floor every transaction pays."""
        with self.factory() as uow:
            uow.commit()


def timed(fn: Callable[[], None], seconds: float) -> tuple[int, float]:
    """Call ``fn`` repeatedly for about ``seconds``; return (calls, elapsed)."""
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        fn()
        calls += 1
    return calls, time.perf_counter() - start


def measure_append(url: str, keys: Any, seconds: float, threads: int) -> dict[str, float]:
    """Entries per second with 1 and 10 entries per transaction, and empty transactions/s."""
    out: dict[str, float] = {}
    a = Appender(url, keys)
    try:
        timed(lambda: a.transaction(10), min(1.0, seconds))  # warm up
        calls, dt = timed(a.empty_transaction, seconds / 2)
        out["empty_tx_per_s"] = calls / dt
        for batch in BATCHES:
            if threads == 1:
                calls, dt = timed(lambda b=batch: a.transaction(b), seconds)
            else:
                calls, dt = _threaded(a, batch, seconds, threads)
            out[f"batch_{batch}"] = calls * batch / dt
            log(f"    {batch:>2} per transaction: {out[f'batch_{batch}']:,.0f} entries/s")
    finally:
        a.engine.dispose()
    return out


def _threaded(a: Appender, batch: int, seconds: float, threads: int) -> tuple[int, float]:
    counts = [0] * threads
    stop = threading.Event()

    def work(k: int) -> None:
        while not stop.is_set():
            a.transaction(batch)
            counts[k] += 1

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    start = time.perf_counter()
    for th in pool:
        th.start()
    time.sleep(seconds)
    stop.set()
    for th in pool:
        th.join()
    return sum(counts), time.perf_counter() - start


def build_and_verify(url: str, keys: Any, entries: int, workers: Sequence[int]) -> dict[str, float]:
    """Build a log of ``entries`` through the append code, then verify it."""
    from manafidh.services import audit

    a = Appender(url, keys)
    out: dict[str, float] = {}
    try:
        start = time.perf_counter()
        while a.n < entries:
            a.transaction(min(BUILD_BATCH, entries - a.n))
        out["bulk_append_per_s"] = entries / (time.perf_counter() - start)
        log(f"    built {entries:,} entries at {out['bulk_append_per_s']:,.0f} entries/s")
        for w in workers:
            with a.factory(readonly=True) as uow:
                report = audit.verify_log(uow=uow, keys=keys, records=False, workers=w)
            if not report.ok or report.entries != entries:
                raise RuntimeError(f"verification failed: {report.summary()}")
            out[f"verify_{w}_proc"] = entries / report.seconds
            log(
                f"    verified with {w} process(es) in {report.seconds:.2f} s: "
                f"{out[f'verify_{w}_proc']:,.0f} entries/s ({report.tree_heads} tree heads)"
            )
    finally:
        a.engine.dispose()
    return out


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_start": round(os.getloadavg()[0], 2),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=200_000, help="log size to verify (200000)")
    ap.add_argument("--seconds", type=float, default=5.0, help="per append measurement (5)")
    ap.add_argument("--quick", action="store_true", help="20,000 entries, 1 s per measurement")
    args = ap.parse_args(argv)
    if args.quick:
        args.entries, args.seconds = 20_000, 1.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement; print the table and the JSON line."""
    from tests.pg_cluster import PgCluster

    from manafidh.adapters import audit_keys
    from manafidh.adapters.db.engine import make_engine
    from manafidh.adapters.db.migrate import upgrade

    args = parse_args(argv)
    keys = audit_keys.generate()  # a throwaway key: nothing is written outside the temp dir
    workers = sorted({1, os.cpu_count() or 1})
    results: dict[str, Any] = {"machine": machine(), "entries": args.entries}
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="manafidh-bench-audit-"))
        stack.callback(shutil.rmtree, workdir, True)
        log("starting a throwaway PostgreSQL cluster (fsync off)")
        cluster = stack.enter_context(PgCluster())
        counter = iter(range(1000))

        def fresh(backend: str) -> str:
            if backend == "sqlite":
                url = f"sqlite+pysqlite:///{workdir}/audit{next(counter)}.db"
            else:
                name = f"bench_audit_{next(counter)}"
                cluster.create_database(name)
                url = cluster.url(name)
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            return url

        for backend in ("sqlite", "postgresql"):
            plans = [1] if backend == "sqlite" else [1, 2]
            for threads in plans:
                log(f"{backend}: append, {threads} thread(s)")
                figures = measure_append(fresh(backend), keys, args.seconds, threads)
                results[f"append_{backend}_{threads}t"] = figures
            log(f"{backend}: build and verify {args.entries:,} entries")
            results[f"verify_{backend}"] = build_and_verify(
                fresh(backend), keys, args.entries, workers
            )
        results["machine"]["loadavg_end"] = round(os.getloadavg()[0], 2)

    top = max(workers)
    results["append_per_s"] = round(results["append_postgresql_1t"]["batch_10"])
    results["verify_per_s"] = round(results["verify_postgresql"][f"verify_{top}_proc"])
    print_table(results, workers)
    print(json.dumps(results, separators=(",", ":"), default=_rounded))
    return 0


def _rounded(value: Any) -> Any:
    return round(value) if isinstance(value, float) else str(value)


def print_table(r: dict[str, Any], workers: Sequence[int]) -> None:
    """The figures as a plain table."""
    m = r["machine"]
    print(
        f"Audit log on {m['nproc']} x {m['cpu']}, Python {m['python']}, SQLite {m['sqlite']}; "
        f"load average {m['loadavg_start']} at start, {m['loadavg_end']} at end"
    )
    print(f"{'append (entries/s)':<40}{'1/tx':>12}{'10/tx':>12}{'empty tx/s':>12}")
    for key in ("append_sqlite_1t", "append_postgresql_1t", "append_postgresql_2t"):
        f = r[key]
        label = (
            key.removeprefix("append_").replace("_1t", ", 1 thread").replace("_2t", ", 2 threads")
        )
        print(
            f"{label:<40}{f['batch_1']:>12,.0f}{f['batch_10']:>12,.0f}{f['empty_tx_per_s']:>12,.0f}"
        )
    print(f"{'verify (entries/s)':<40}" + "".join(f"{f'{w} proc':>12}" for w in workers)
          + f"{'build/s':>12}")  # fmt: skip
    for backend in ("sqlite", "postgresql"):
        f = r[f"verify_{backend}"]
        cells = "".join(f"{f[f'verify_{w}_proc']:>12,.0f}" for w in workers)
        print(f"{backend + ', ' + format(r['entries'], ',') + ' entries':<40}{cells}"
              f"{f['bulk_append_per_s']:>12,.0f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
