"""Clearance path benchmark: declarations from lodging to exit per second, and lane latency.

Run from the repository root::

    python bench/clearance.py [--n 500] [--quick]

What it measures, each on a fresh database copied from a migrated template with the shipped
reference data:

* **service layer** - the service functions called directly, one unit of work per step, on
  SQLite (file, WAL) and PostgreSQL (a throwaway cluster from ``tests/pg_cluster.py``, which runs
  with ``fsync=off``); on PostgreSQL with 1 thread, 2 threads and 2 processes, the best reported;
* **HTTP** - a real uvicorn server in a subprocess (1 worker process on SQLite, which has one
  writer at a time; 2 on PostgreSQL, one per core) and keep-alive clients in threads driving the
  same path through ``/api/v1``; the stdlib ``http.client`` is the client, the lightest there is
  in Python;
* **lane latency** - ``POST /api/v1/declarations`` (lodge, assess, select the lane) at a fixed
  open-loop rate, timed from each request's scheduled send time (no coordinated omission);
* **baselines** - in the same run and on the same databases: an empty unit of work and a bare
  ``SELECT 1``, combined with the number of transactions and statements one declaration takes,
  give the database round-trip floor the product code sits on; ``GET /healthz`` on the same
  server gives the web framework's own cost per request;
* **CPU per declaration** - from ``/proc``, for the client, the server and PostgreSQL apart: the
  figure least disturbed by other work on the machine;
* **profile** - cProfile of the service path on PostgreSQL, summarised by package and by product
  function.

Every declaration has 5 items and a unique plate, and goes: submit (lodge, assess, lane; the
answer carries the payment order) -> document check (yellow) or inspection, nothing found
(red) -> signed bank confirmation of the order -> release -> exit by plate. Progress goes to
stderr; stdout gets a table and, as its last line, one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import json
import math
import multiprocessing as mp
import os
import platform
import pstats
import queue
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``tests`` (PgCluster, _prepare) lives at the repository root
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier as MpBarrier

    from fastapi import FastAPI
    from rich.console import Console
    from tests.pg_cluster import PgCluster

    from manafidh.bootstrap import Container
    from manafidh.domain.declarations.model import Content
    from manafidh.domain.identity import User

SEED = 20260315
BANK_SECRET = "bench-bank-secret-not-for-production"
PASSWORD = "bench password 2026"
CROSSINGS = ("SHL", "ZRB", "PWK")
ITEMS_PER_DECLARATION = 5
PG_TEMPLATE = "bench_template"
TARGET_SERVICE_POSTGRES_PER_S = 200.0
TARGET_LANE_P99_MS = 50.0
LANE_RATE_PER_S = 50.0

Outcome = tuple[str, float]  # (lane, ms from sending the declaration to knowing its lane)


class BenchError(RuntimeError):
    """The benchmark could not run, or the product answered something unexpected."""


# =============================================================================================
# Workload: realistic five-item declarations with unique plates
# =============================================================================================


@dataclass(frozen=True)
class Good:
    """A kind of goods a truck from Iran carries, with a plausible price and weight."""

    hs_code: str
    description: str
    unit: str
    usd_per_unit: Decimal
    kg_per_unit: Decimal
    min_qty: int
    max_qty: int
    weight: float  # how often it appears, relative to the others


D = Decimal
# Cement and rebar trigger the shipped yellow rules, cigarettes the red one; the others are
# green unless the 2 % random control sample picks the declaration.
GOODS: tuple[Good, ...] = (
    Good("690721", "Glazed ceramic floor tiles, 60x60 cm", "MTK", D("6.40"), D("19"), 300, 900, 8),
    Good("392310", "Plastic crates for fruit", "NAR", D("2.10"), D("1.2"), 500, 3000, 6),
    Good("100199", "Wheat, other than durum, bulk", "KGM", D("0.31"), D("1"), 2000, 8000, 5),
    Good("170199", "White cane sugar, 50 kg bags", "KGM", D("0.52"), D("1"), 2000, 6000, 6),
    Good("151219", "Refined sunflower oil, 18 l tins", "KGM", D("1.25"), D("1"), 1000, 4000, 6),
    Good("940360", "Wooden living-room furniture", "NAR", D("115.00"), D("28"), 20, 90, 5),
    Good("847130", "Laptop computers", "NAR", D("430.00"), D("2.4"), 20, 150, 3),
    Good("620342", "Men's cotton trousers", "NAR", D("6.30"), D("0.5"), 400, 2500, 5),
    Good("220210", "Soft drinks in cans", "LTR", D("0.42"), D("1.05"), 1000, 5000, 6),
    Good("730890", "Steel structures for warehouses", "KGM", D("1.15"), D("1"), 1000, 5000, 4),
    Good("841810", "Combined refrigerator-freezers", "NAR", D("290.00"), D("65"), 10, 40, 4),
    Good("300490", "Medicaments for retail sale", "KGM", D("38.00"), D("1"), 50, 400, 3),
    Good("760429", "Aluminium window profiles", "KGM", D("3.20"), D("1"), 500, 3000, 4),
    Good("481910", "Corrugated cartons, flat", "KGM", D("0.95"), D("1"), 500, 3000, 5),
    Good("940161", "Upholstered wooden chairs", "NAR", D("38.00"), D("7"), 40, 200, 4),
    Good("520812", "Unbleached cotton fabric", "MTK", D("1.90"), D("0.15"), 2000, 9000, 4),
    Good("252329", "Portland cement, grey, bulk", "KGM", D("0.062"), D("1"), 3000, 9000, 2.5),
    Good("721420", "Ribbed steel reinforcing bars", "KGM", D("0.58"), D("1"), 2000, 6000, 2.5),
    Good("240220", "Cigarettes containing tobacco", "KGM", D("31.00"), D("1"), 50, 300, 1.2),
)
# Invoice currencies and how many units of each one US dollar buys (illustrative).
CURRENCIES: tuple[tuple[str, Decimal, float], ...] = (
    ("USD", D("1"), 10),
    ("EUR", D("0.92"), 2),
    ("AED", D("3.6725"), 2),
    ("CNY", D("7.20"), 1),
)
IMPORTERS: tuple[tuple[str, str], ...] = (
    ("Al-Rafidain Building Materials Co.", "IQ-100200300"),
    ("Basra Food Trading LLC", "IQ-100200411"),
    ("Dijla Home Appliances", "IQ-100200522"),
    ("Zagros Import & Export", "IQ-100200633"),
    ("Al-Furat Pharmaceuticals", "IQ-100200744"),
    ("Mesopotamia Textile House", "IQ-100200855"),
)
EXPORTERS = ("Tehran Trading Co.", "Tabriz Industrial Group", "Kermanshah Export House")
DRIVERS = ("Hossein Karimi", "Reza Ahmadi", "Ali Mohammadi", "Mehdi Hosseini", "Kamal Rasul")
ORIGINS = ("IR", "IR", "IR", "TR", "CN", "AE")


@dataclass(frozen=True)
class Job:
    """One declaration to clear: its crossing, its unique plate and its content."""

    crossing: str
    plate: str
    payload: dict[str, Any]  # the JSON body of POST /api/v1/declarations
    body: bytes  # the same, encoded once
    content: Content  # the same, as the domain object the service layer takes


def make_jobs(n: int, *, tag: str, seed: int) -> list[Job]:
    """``n`` declarations of 5 items each; ``tag`` keeps plates unique across phases."""
    from manafidh.web.api.schemas import DeclarationIn

    rng = random.Random(f"{seed}:{tag}")
    weights = [g.weight for g in GOODS]
    jobs: list[Job] = []
    for i in range(n):
        currency, per_usd, _ = rng.choices(CURRENCIES, weights=[c[2] for c in CURRENCIES])[0]
        importer, tax_id = rng.choice(IMPORTERS)
        crossing = CROSSINGS[i % len(CROSSINGS)]
        plate = f"{tag} {i // 1000:03d} B {i % 1000:03d}"
        items = []
        for line, good in enumerate(rng.choices(GOODS, weights=weights, k=5), start=1):
            qty = rng.randint(good.min_qty, good.max_qty)
            net = (good.kg_per_unit * qty).quantize(D("0.001"))
            items.append(
                {
                    "hs_code": good.hs_code,
                    "description": f"{good.description}, lot {line}",
                    "origin_country": rng.choice(ORIGINS),
                    "quantity": str(qty),
                    "unit": good.unit,
                    "net_mass_kg": str(net),
                    "gross_mass_kg": str((net * D("1.03")).quantize(D("0.001"))),
                    "invoice_value": str((good.usd_per_unit * qty * per_usd).quantize(D("0.01"))),
                }
            )
        payload: dict[str, Any] = {
            "crossing_code": crossing,
            "regime": "import",
            "importer_name": importer,
            "importer_tax_id": tax_id,
            "exporter_name": rng.choice(EXPORTERS),
            "vehicle_plates": [plate],
            "trailer_plate": None,
            "driver_name": rng.choice(DRIVERS),
            "driver_document": f"P{rng.randrange(10**7, 10**8)}",
            "dispatch_country": "IR",
            "origin_country": items[0]["origin_country"],
            "invoice_currency": currency,
            "freight": str((D(rng.randint(350, 900)) * per_usd).quantize(D("0.01"))),
            "insurance": str((D(rng.randint(20, 120)) * per_usd).quantize(D("0.01"))),
            "items": items,
        }
        content = DeclarationIn.model_validate(payload).to_domain()
        jobs.append(Job(crossing, plate, payload, json.dumps(payload).encode(), content))
    return jobs


# =============================================================================================
# Databases, container, users
# =============================================================================================


def settings_for(url: str) -> Any:
    """Settings of the benchmark: cheap password hashing, a known bank secret."""
    from manafidh.config import Settings

    return Settings(database_url=url, fast_password_hashing=True, bank_hmac_secret=BANK_SECRET)


def make_container(url: str, seed: int) -> Container:
    """The wired application on ``url``: system clock, seeded lane draws."""
    from manafidh.bootstrap import bootstrap

    return bootstrap(settings_for(url), rng=random.Random(seed))


@dataclass(frozen=True)
class Actors:
    """The people on the path: a trader, and an officer and inspector at every crossing used."""

    trader: User
    officer: User
    inspector: User


def create_actors(c: Container) -> Actors:
    """Create the three users in a fresh database."""
    from manafidh.domain.identity import Role
    from manafidh.services.identity import create_user

    made: dict[str, User] = {}
    for role in (Role.TRADER, Role.OFFICER, Role.INSPECTOR):
        with c.uow() as uow:
            made[role.value] = create_user(
                uow=uow,
                hasher=c.hasher,
                actor=None,
                username=f"bench.{role.value}",
                full_name=f"Bench {role.value.title()}",
                role=role,
                password=PASSWORD,
                crossings=[] if role is Role.TRADER else list(CROSSINGS),
            )
    return Actors(made["trader"], made["officer"], made["inspector"])


class Databases:
    """Fresh databases for each measurement: copies of a migrated, loaded template."""

    def __init__(self, workdir: Path, cluster: PgCluster | None, *, tcp: bool = False) -> None:
        """Remember where SQLite files go, which PostgreSQL cluster to use and how to reach it:
        over its Unix socket (a server on the same host), or over TCP with ``tcp``."""
        self.workdir = workdir
        self.cluster = cluster
        self.tcp = tcp
        self._sqlite_template = workdir / "template.db"
        self._count = 0

    def prepare(self) -> None:
        """Migrate and load the reference data once per backend (as the tests do)."""
        from tests.conftest import _prepare

        _prepare(f"sqlite+pysqlite:///{self._sqlite_template}")
        if self.cluster is not None:
            self.cluster.drop_database(PG_TEMPLATE)
            self.cluster.create_database(PG_TEMPLATE)
            _prepare(self.cluster.url(PG_TEMPLATE))

    def fresh(self, backend: str) -> str:
        """The URL of a new database copied from the template."""
        self._count += 1
        if backend == "sqlite":
            target = self.workdir / f"run{self._count}.db"
            shutil.copyfile(self._sqlite_template, target)
            return f"sqlite+pysqlite:///{target}"
        if self.cluster is None:
            raise BenchError("PostgreSQL is not available")
        name = f"bench_run{self._count}"
        self.cluster.create_database(name, template=PG_TEMPLATE)
        return self.cluster.url(name) if self.tcp else self.cluster.socket_url(name)


def postgres_pids(cluster: PgCluster) -> Callable[[], list[int]] | None:
    """A function listing the local cluster's processes (None for an external server)."""
    if cluster.is_external:
        return None
    postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    return lambda: with_children(postmaster)


def exited_count(c: Container) -> int:
    """How many declarations of the database have left their crossing."""
    from sqlalchemy import func, select

    from manafidh.adapters.db import tables as t

    with c.engine.connect() as conn:
        q = select(func.count()).where(t.declarations.c.state == "exited")
        return int(conn.execute(q).scalar() or 0)


# =============================================================================================
# The clearance path through the service layer
# =============================================================================================

Step = Callable[[str], None]


def service_worker(
    c: Container, actors: Actors, rng: random.Random, step: Step | None = None
) -> Callable[[Job], Outcome]:
    """A function clearing one declaration through the services, one transaction per step."""
    from manafidh.domain.declarations.model import Lane
    from manafidh.domain.declarations.states import State
    from manafidh.services import clearance, declarations, payments

    mark: Step = step or (lambda _name: None)

    def clear(job: Job) -> Outcome:
        mark("submit")
        began = time.perf_counter()
        with c.uow() as uow:
            lodged = declarations.submit_lodgement(
                uow=uow,
                actor=actors.trader,
                crossing_code=job.crossing,
                content=job.content,
                rng=rng,
            )
        lane_ms = (time.perf_counter() - began) * 1000
        decl, order = lodged.declaration, lodged.order
        mark("check")
        if decl.lane is Lane.YELLOW:
            with c.uow() as uow:
                clearance.record_document_check(
                    uow=uow,
                    actor=actors.officer,
                    declaration_id=decl.reference,
                    found=False,
                    notes="invoice, packing list and certificate of origin in order",
                )
        elif decl.lane is Lane.RED:
            with c.uow() as uow:
                clearance.record_inspection(
                    uow=uow,
                    actor=actors.inspector,
                    declaration_id=decl.reference,
                    found=False,
                    fraud_kind=None,
                    notes="seals intact, goods as declared",
                )
        mark("pay")
        if order is not None:  # the notice lodging answered with: amount due and reference
            with c.uow() as uow:
                payments.confirm_bank_payment(
                    uow=uow,
                    confirmation=payments.Confirmation(
                        bank_transaction_id=f"TX-{decl.reference}-{order.id[:8]}",
                        payment_reference=order.reference,
                        amount_iqd=order.outstanding_iqd,
                        paid_at=c.clock.now(),
                    ),
                )
        mark("release")
        with c.uow() as uow:
            clearance.release(uow=uow, actor=actors.officer, declaration_id=decl.reference)
        mark("exit")
        with c.uow() as uow:
            out = clearance.record_exit(
                uow=uow,
                actor=actors.officer,
                crossing_code=job.crossing,
                plate=job.plate,
                declaration_ref=None,
            )
        mark("done")
        if out.state is not State.EXITED or out.id != decl.id:
            raise BenchError(f"{decl.reference} did not exit: {out.reference} {out.state}")
        return str(decl.lane), lane_ms

    return clear


@dataclass
class Run:
    """One timed measurement."""

    label: str
    config: str
    n: int
    seconds: float
    outcomes: list[Outcome]
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group
    requests: int = 0  # HTTP requests sent (HTTP runs only)

    @property
    def per_s(self) -> float:
        """Declarations per second."""
        return self.n / self.seconds

    @property
    def lanes(self) -> dict[str, int]:
        """How many declarations got each lane."""
        return dict(sorted(Counter(lane for lane, _ in self.outcomes).items()))

    def lane_ms(self, q: float) -> float:
        """Percentile ``q`` (0-100) of the time to the lane decision."""
        return percentile([ms for _, ms in self.outcomes], q)

    def cpu_ms(self, group: str) -> float:
        """CPU milliseconds ``group`` spent per declaration (NaN when not measured)."""
        return self.cpu_s[group] * 1000 / self.n if group in self.cpu_s else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0-100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# -- CPU accounting from /proc: noise from other processes does not land in these figures ------


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pids: Sequence[int], *, reaped: bool = False) -> float:
    """User + system CPU time used so far by ``pids`` (every thread of each).

    With ``reaped``, the first pid's finished children count too (cutime, cstime): PostgreSQL
    backends of connections closed during a measurement keep their share.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for i, pid in enumerate(pids):
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
            if reaped and i == 0:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / tick


def with_children(pid: int) -> list[int]:
    """``pid`` first, then its live children (PostgreSQL backends, uvicorn workers)."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[1] == str(pid):
                found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU seconds used by named groups of processes: ``client``, ``server``, ``postgres``."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        """``groups`` maps a name to a function listing that group's process ids now.

        ``server`` and ``postgres`` list a parent first: its finished children count too.
        """
        self.groups = groups

    def sample(self) -> dict[str, float]:
        """Cumulative CPU seconds of each group."""
        return {
            name: cpu_seconds(pids(), reaped=name != "client") for name, pids in self.groups.items()
        }

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """CPU seconds used between two samples."""
        return {name: after[name] - before[name] for name in before}


def drive_threads(
    make_worker: Callable[[int], Callable[[Job], Outcome]],
    jobs: Sequence[Job],
    threads: int,
    meter: CpuMeter | None = None,
) -> tuple[float, list[Outcome], dict[str, float]]:
    """Run ``jobs`` on ``threads`` workers pulling from one queue.

    Returns the wall time, the outcomes and the CPU seconds ``meter``'s groups used meanwhile.
    """
    workers = [make_worker(w) for w in range(threads)]
    pending = iter(jobs)
    lock = threading.Lock()
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def loop(work: Callable[[Job], Outcome]) -> None:
        barrier.wait()
        while not errors:
            with lock:
                job = next(pending, None)
            if job is None:
                return
            try:
                outcomes.append(work(job))
            except BaseException as exc:
                errors.append(exc)
                return

    pool = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for thread in pool:
        thread.start()
    cpu_before = meter.sample() if meter else {}
    barrier.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - began
    cpu = CpuMeter.delta(cpu_before, meter.sample()) if meter else {}
    if errors:
        raise errors[0]
    return seconds, outcomes, cpu


def run_service_threads(
    url: str,
    actors: Actors,
    warm: Sequence[Job],
    jobs: Sequence[Job],
    threads: int,
    label: str,
    db_pids: Callable[[], list[int]] | None,
) -> Run:
    """Clear ``jobs`` through the services with ``threads`` threads sharing one engine."""
    meter = _meter(lambda: [os.getpid()], None, db_pids)
    c = make_container(url, SEED)
    try:
        before = exited_count(c)
        # Warm up on one thread, so that the numbering counters exist before threads race.
        drive_threads(lambda w: service_worker(c, actors, random.Random(SEED + w)), warm, 1)
        seconds, outcomes, cpu = drive_threads(
            lambda w: service_worker(c, actors, random.Random(SEED + 100 + w)), jobs, threads, meter
        )
        if exited_count(c) - before != len(warm) + len(jobs):
            raise BenchError(f"{label}: not every declaration reached exit")
    finally:
        c.engine.dispose()
    config = "1 thread" if threads == 1 else f"{threads} threads, one engine"
    return Run(label, config, len(jobs), seconds, outcomes, cpu)


def _meter(
    client: Callable[[], list[int]],
    server: Callable[[], list[int]] | None,
    db: Callable[[], list[int]] | None,
) -> CpuMeter:
    """A meter of the client, and of the HTTP server and PostgreSQL when there are ones."""
    groups = {"client": client}
    if server is not None:
        groups["server"] = server
    if db is not None:
        groups["postgres"] = db
    return CpuMeter(groups)


def _process_worker(
    url: str,
    actors: Actors,
    warm: Sequence[Job],
    jobs: Sequence[Job],
    seed: int,
    barriers: tuple[MpBarrier, MpBarrier],
    results: mp.Queue[tuple[float, float, list[Outcome]] | str],
) -> None:
    """Body of one worker process: warm up, wait for the others, clear its share, report.

    The second barrier keeps the worker (and its PostgreSQL connections) alive until the parent
    has read the CPU counters.
    """
    c = make_container(url, seed)
    try:
        work = service_worker(c, actors, random.Random(seed))
        for job in warm:
            work(job)
        barriers[0].wait()
        began = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes on Linux
        outcomes = [work(job) for job in jobs]
        results.put((began, time.monotonic(), outcomes))
        barriers[1].wait(timeout=120)
    except BaseException as exc:
        results.put(f"{type(exc).__name__}: {exc}"[:2000])
        for barrier in barriers:
            barrier.abort()  # the parent must not wait for a worker that is gone
        raise
    finally:
        c.engine.dispose()


def run_service_processes(
    url: str,
    actors: Actors,
    warm: tuple[Sequence[Job], Sequence[Job]],
    jobs: Sequence[Job],
    processes: int,
    label: str,
    db_pids: Callable[[], list[int]] | None,
) -> Run:
    """Clear ``jobs`` with ``processes`` worker processes, each with its own engine.

    ``warm[0]`` primes the database from this process, one at a time (so the numbering counters
    exist before anything races for them); ``warm[1]`` is shared out to warm up the workers.
    """
    prime, rewarm = warm
    c = make_container(url, SEED)
    try:
        before = exited_count(c)
        drive_threads(lambda w: service_worker(c, actors, random.Random(SEED - 7)), prime, 1)
    finally:
        c.engine.dispose()
    ctx = mp.get_context("spawn")
    barriers = (ctx.Barrier(processes + 1), ctx.Barrier(processes + 1))
    results: mp.Queue[tuple[float, float, list[Outcome]] | str] = ctx.Queue()
    workers = [
        ctx.Process(
            target=_process_worker,
            args=(
                url,
                actors,
                rewarm[w::processes],
                jobs[w::processes],
                SEED + w,
                barriers,
                results,
            ),
            daemon=True,
        )
        for w in range(processes)
    ]
    meter = _meter(lambda: [p.pid for p in workers if p.pid is not None], None, db_pids)
    try:
        for proc in workers:
            proc.start()
        try:
            barriers[0].wait(timeout=600)
        except threading.BrokenBarrierError:
            try:
                why = results.get(timeout=10)
            except queue.Empty:
                why = "no report"
            raise BenchError(f"{label}: a worker process failed: {why}") from None
        cpu_before = meter.sample()
        got = []
        for _ in workers:
            try:
                item = results.get(timeout=600)
            except queue.Empty:
                raise BenchError(f"{label}: a worker process did not report") from None
            if isinstance(item, str):
                raise BenchError(f"{label}: a worker process failed: {item}")
            got.append(item)
        cpu = CpuMeter.delta(cpu_before, meter.sample())
        barriers[1].wait(timeout=60)
        for proc in workers:
            proc.join(timeout=30)
    finally:
        for proc in workers:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    seconds = max(end for _, end, _ in got) - min(start for start, _, _ in got)
    outcomes = [o for _, _, outs in got for o in outs]
    c = make_container(url, SEED)
    try:
        if exited_count(c) - before != len(prime) + len(rewarm) + len(jobs):
            raise BenchError(f"{label}: not every declaration reached exit")
    finally:
        c.engine.dispose()
    config = f"{processes} processes, one engine each"
    return Run(label, config, len(jobs), seconds, outcomes, cpu)


# =============================================================================================
# Baseline: what the database round trips alone cost
# =============================================================================================


@dataclass
class Census:
    """Transactions and SQL statements one declaration takes, per step of the path."""

    declarations: int
    transactions: int
    statements: int
    by_step: dict[str, int]

    @property
    def tx_per_decl(self) -> float:
        """Transactions per declaration."""
        return self.transactions / self.declarations

    @property
    def stmts_per_decl(self) -> float:
        """SQL statements per declaration (BEGIN and COMMIT not counted)."""
        return self.statements / self.declarations


@dataclass
class Baseline:
    """Round-trip costs measured on the benchmark's own database."""

    empty_tx_ms: float  # unit of work: checkout (+ pre-ping), BEGIN, COMMIT, check-in
    select1_ms: float  # one ``SELECT 1`` inside an open transaction
    census: Census

    @property
    def floor_ms(self) -> float:
        """What one declaration's transactions and statements cost as bare round trips."""
        return self.census.tx_per_decl * self.empty_tx_ms + self.census.stmts_per_decl * (
            self.select1_ms
        )

    @property
    def floor_per_s(self) -> float:
        """The declarations per second one worker could reach if product code cost nothing."""
        return 1000 / self.floor_ms


def measure_baseline(c: Container, actors: Actors, jobs: Sequence[Job], k: int) -> Baseline:
    """Time empty transactions and ``SELECT 1``, and count what ``jobs`` take on the path."""
    from sqlalchemy import event, text

    for _ in range(50):
        with c.uow() as uow:
            uow.commit()
    began = time.perf_counter()
    for _ in range(k):
        with c.uow() as uow:
            uow.commit()
    empty_tx_ms = (time.perf_counter() - began) * 1000 / k
    with c.engine.connect() as conn:
        one = text("SELECT 1")
        for _ in range(50):
            conn.execute(one).scalar()
        began = time.perf_counter()
        for _ in range(k):
            conn.execute(one).scalar()
        select1_ms = (time.perf_counter() - began) * 1000 / k
        conn.rollback()

    current = ["setup"]
    by_step: Counter[str] = Counter()
    counts = Counter[str]()

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):  # SQLite's explicit BEGIN
            by_step[current[0]] += 1
            counts["statements"] += 1

    def on_begin(_conn: Any) -> None:
        counts["transactions"] += 1

    def mark(name: str) -> None:
        current[0] = name

    # Queued writes and hot reads run on the driver's cursor, past SQLAlchemy's events (ADRs
    # 0012, 0014): count each one whose plan is used, so that the census still counts every
    # business statement.
    from manafidh.adapters.db import driver_reads, write_queue

    planned = write_queue.plan

    def counted_plan(statement: Any, dialect: Any, names: Any, **kw: Any) -> Any:
        found = planned(statement, dialect, names, **kw)
        if found is not None:
            by_step[current[0]] += 1
            counts["statements"] += 1
        return found

    work = service_worker(c, actors, random.Random(SEED - 1), step=mark)
    event.listen(c.engine, "before_cursor_execute", on_statement)
    event.listen(c.engine, "begin", on_begin)
    write_queue.plan = counted_plan  # type: ignore[assignment]
    driver_reads.plan = counted_plan  # type: ignore[assignment]
    try:
        for job in jobs:
            work(job)
    finally:
        write_queue.plan = planned  # type: ignore[assignment]
        driver_reads.plan = planned  # type: ignore[assignment]
        event.remove(c.engine, "before_cursor_execute", on_statement)
        event.remove(c.engine, "begin", on_begin)
    census = Census(
        declarations=len(jobs),
        transactions=counts["transactions"],
        statements=counts["statements"],
        by_step={name: by_step[name] for name in by_step if name not in ("setup", "done")},
    )
    return Baseline(empty_tx_ms, select1_ms, census)


# =============================================================================================
# Profile of the service path
# =============================================================================================


@dataclass
class Profile:
    """Where the time of the service path goes (cProfile, so Python code looks slower)."""

    seconds: float
    by_package: list[tuple[str, float]]  # own time per package, share of the total
    product: list[tuple[str, float, float, float]]  # function, calls, cumulative ms/decl, share
    stats_file: Path | None


def _package(filename: str) -> str:
    """The package a profiled function belongs to, from its file name."""
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C: sockets, sqlite3, decimal, ...)"
    parts = Path(filename).parts
    if "manafidh" in parts and "site-packages" not in parts:
        return "manafidh"
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0]
    return "python stdlib"


def profile_service(
    url: str, actors: Actors, warm: Sequence[Job], jobs: Sequence[Job], keep: Path | None
) -> Profile:
    """Profile one thread clearing ``jobs`` (after a warm-up) and summarise the hotspots."""
    c = make_container(url, SEED)
    try:
        work = service_worker(c, actors, random.Random(SEED))
        for job in warm:
            work(job)
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        for job in jobs:
            work(job)
        profiler.disable()
        seconds = time.perf_counter() - began
    finally:
        c.engine.dispose()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    own: defaultdict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        own[_package(filename)] += tottime
    by_package = sorted(((k, v / total) for k, v in own.items()), key=lambda kv: -kv[1])
    product = []
    n = len(jobs)
    for (filename, line, name), (_cc, ncalls, _tt, cumtime, _callers) in raw.items():
        if _package(filename) != "manafidh" or name.startswith("<"):
            continue
        where = filename.split("/src/manafidh/")[-1]
        product.append(
            (f"{where}:{line} {name}", ncalls / n, cumtime * 1000 / n, cumtime / seconds)
        )
    product.sort(key=lambda row: -row[2])
    if keep is not None:
        stats.dump_stats(keep)
    return Profile(seconds, by_package[:8], product[:25], keep)


# =============================================================================================
# HTTP: a uvicorn server in a subprocess, clients in threads
# =============================================================================================


def app_factory() -> FastAPI:
    """The application for uvicorn (``--factory bench.clearance:app_factory``).

    It reads ``MANAFIDH_DATABASE_URL`` like production; the benchmark sets it, cheap password
    hashing and the bank secret in the server's environment.
    """
    from manafidh.bootstrap import bootstrap
    from manafidh.config import Settings
    from manafidh.web.app import create_app

    app: FastAPI = create_app(bootstrap(Settings(), rng=random.Random(SEED ^ os.getpid())))
    return app


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``uvicorn bench.clearance:app_factory`` on a free port, stopped on exit."""

    def __init__(self, url: str, workdir: Path, workers: int) -> None:
        """Prepare (not start) a server for the database at ``url``."""
        self.url = url
        self.workers = workers
        self.port = _free_port()
        self.log = workdir / f"uvicorn-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        """Start the server and wait until /healthz answers."""
        env = {
            **os.environ,
            "MANAFIDH_DATABASE_URL": self.url,
            "MANAFIDH_FAST_PASSWORD_HASHING": "true",
            "MANAFIDH_BANK_HMAC_SECRET": BANK_SECRET,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        argv = [sys.executable, "-m", "uvicorn", "--factory", "bench.clearance:app_factory"]
        argv += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        argv += ["--log-level", "warning", "--no-access-log", "--timeout-keep-alive", "120"]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"uvicorn exited ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                try:
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        return self
                finally:
                    conn.close()
            time.sleep(0.1)
        self.stop()
        raise BenchError(f"uvicorn did not answer within 60 s:\n{self.tail()}")

    def __exit__(self, *exc: object) -> None:
        """Stop the server."""
        self.stop()

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 10 s); idempotent."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def pids(self) -> list[int]:
        """The server's process and its workers."""
        return with_children(self.proc.pid) if self.proc is not None else []

    def tail(self) -> str:
        """The end of the server's log."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        return "(no log)"


class Api:
    """A keep-alive HTTP/1.1 connection to the server (stdlib: the lightest Python client)."""

    def __init__(self, port: int) -> None:
        """Open (lazily) a connection to 127.0.0.1:``port``."""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.calls = 0

    def call(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b"", expect: int = 200
    ) -> Any:
        """Send one request; return the decoded JSON body, or raise on another status."""
        self.calls += 1
        self.conn.request(method, path, body=body or None, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != expect:
            raise BenchError(f"{method} {path}: {resp.status} {data[:500]!r}")
        return json.loads(data) if data else None

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


@dataclass(frozen=True)
class Tokens:
    """Request headers carrying each actor's bearer token."""

    trader: dict[str, str]
    officer: dict[str, str]
    inspector: dict[str, str]


def sign_in(port: int) -> Tokens:
    """Get an API token for each actor through POST /api/v1/auth/token."""
    api = Api(port)
    try:
        headers = {}
        for role in ("trader", "officer", "inspector"):
            body = json.dumps({"username": f"bench.{role}", "password": PASSWORD}).encode()
            token = api.call("POST", "/api/v1/auth/token", JSON, body)["token"]
            headers[role] = {**JSON, "Authorization": f"Bearer {token}"}
    finally:
        api.close()
    return Tokens(**headers)


JSON = {"Content-Type": "application/json"}
NOT_FOUND = json.dumps({"found": False, "notes": "goods and documents as declared"}).encode()


def http_worker(port: int, tokens: Tokens, opened: list[Api]) -> Callable[[Job], Outcome]:
    """A function clearing one declaration through the HTTP API on its own connection."""
    from manafidh.adapters.bank import SIGNATURE_HEADER, sign

    api = Api(port)
    opened.append(api)

    def clear(job: Job) -> Outcome:
        began = time.perf_counter()
        decl = api.call("POST", "/api/v1/declarations", tokens.trader, job.body, expect=201)
        lane_ms = (time.perf_counter() - began) * 1000
        ref, lane = decl["reference"], decl["lane"]
        if lane == "yellow":
            api.call(
                "POST", f"/api/v1/declarations/{ref}/document-check", tokens.officer, NOT_FOUND
            )
        elif lane == "red":
            api.call("POST", f"/api/v1/declarations/{ref}/inspection", tokens.inspector, NOT_FOUND)
        order = decl["payment_order"]  # lodging answers with the amount due and its reference
        if order is not None:
            body = json.dumps(
                {
                    "bank_transaction_id": f"TX-{ref}",
                    "payment_reference": order["reference"],
                    "amount": order["outstanding_iqd"],
                    "currency": "IQD",
                    "paid_at": datetime.now(UTC).isoformat(),
                }
            ).encode()
            signed = {**JSON, SIGNATURE_HEADER: sign(BANK_SECRET, body)}
            api.call("POST", "/api/v1/bank/confirmations", signed, body)
        api.call("POST", f"/api/v1/declarations/{ref}/release", tokens.officer)
        exit_body = json.dumps({"plate": job.plate}).encode()
        out = api.call("POST", f"/api/v1/crossings/{job.crossing}/exits", tokens.officer, exit_body)
        if out["declaration"] != ref or out["state"] != "exited":
            raise BenchError(f"{ref} did not exit: {out}")
        return str(lane), lane_ms

    return clear


def run_http(
    port: int,
    tokens: Tokens,
    warm: Sequence[Job],
    jobs: Sequence[Job],
    clients: int,
    label: str,
    meter: CpuMeter,
) -> Run:
    """Clear ``jobs`` over HTTP with ``clients`` keep-alive connections in threads."""
    opened: list[Api] = []
    try:
        # Prime on one connection (numbering counters), then warm every connection.
        half = len(warm) // 2
        drive_threads(lambda _w: http_worker(port, tokens, opened), warm[:half], 1)
        drive_threads(lambda _w: http_worker(port, tokens, opened), warm[half:], clients)
        sent = sum(api.calls for api in opened)
        seconds, outcomes, cpu = drive_threads(
            lambda _w: http_worker(port, tokens, opened), jobs, clients, meter
        )
        sent = sum(api.calls for api in opened) - sent
    finally:
        for api in opened:
            api.close()
    config = f"{clients} client threads"
    return Run(label, config, len(jobs), seconds, outcomes, cpu, requests=sent)


@dataclass
class HttpFloor:
    """The framework's own cost: GET /healthz (a sync endpoint, no database) on the server."""

    requests: int
    seconds: float
    server_cpu_s: float

    @property
    def per_s(self) -> float:
        """Requests per second the clients got through."""
        return self.requests / self.seconds

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU milliseconds per request."""
        return self.server_cpu_s * 1000 / self.requests


def http_floor(port: int, meter: CpuMeter, clients: int, seconds: float) -> HttpFloor:
    """Hammer GET /healthz for ``seconds`` with ``clients`` keep-alive threads."""
    deadline = time.perf_counter() + seconds
    counts: list[int] = []

    def loop() -> None:
        api, n = Api(port), 0
        try:
            while time.perf_counter() < deadline:
                api.call("GET", "/healthz", {})
                n += 1
        finally:
            api.close()
            counts.append(n)

    pool = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    before = meter.sample()
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - began
    used = CpuMeter.delta(before, meter.sample())
    return HttpFloor(sum(counts), elapsed, used["server"])


@dataclass
class Latency:
    """Open-loop latency of POST /api/v1/declarations (lodge -> lane decision)."""

    rate: float
    sent: int
    seconds: float  # from the first scheduled send to the last answer
    ms: list[float]
    lanes: dict[str, int]
    cpu_s: dict[str, float]

    def p(self, q: float) -> float:
        """Percentile ``q`` (0-100) in milliseconds."""
        return percentile(self.ms, q)

    def cpu_ms(self, group: str) -> float:
        """CPU milliseconds ``group`` spent per request (NaN when not measured)."""
        return self.cpu_s[group] * 1000 / self.sent if group in self.cpu_s else math.nan


def lane_latency(
    port: int, tokens: Tokens, jobs: Sequence[Job], rate: float, meter: CpuMeter
) -> Latency:
    """Send ``jobs`` at ``rate`` per second whatever the answers; time from the schedule."""
    todo: queue.Queue[tuple[float, Job] | None] = queue.Queue()
    ms: list[float] = []
    lanes: Counter[str] = Counter()
    errors: list[BaseException] = []
    senders = 16  # enough idle connections that a slow answer never delays the next send

    def send() -> None:
        api = Api(port)
        try:
            while (item := todo.get()) is not None:
                scheduled, job = item
                try:
                    decl = api.call("POST", "/api/v1/declarations", tokens.trader, job.body, 201)
                except BaseException as exc:
                    errors.append(exc)
                    continue
                ms.append((time.perf_counter() - scheduled) * 1000)
                lanes[decl["lane"]] += 1
        finally:
            api.close()

    pool = [threading.Thread(target=send, daemon=True) for _ in range(senders)]
    for thread in pool:
        thread.start()
    cpu_before = meter.sample()
    start = time.perf_counter() + 0.2
    for i, job in enumerate(jobs):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        todo.put((scheduled, job))
    for _ in pool:
        todo.put(None)
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - start
    cpu = CpuMeter.delta(cpu_before, meter.sample())
    if errors:
        raise errors[0]
    return Latency(rate, len(jobs), seconds, ms, dict(sorted(lanes.items())), cpu)


# =============================================================================================
# The machine
# =============================================================================================


def machine(cluster: PgCluster | None) -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gib = math.nan
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024**2, 1)
    pg = None
    if cluster is not None:
        import psycopg

        with psycopg.connect(cluster.url("postgres").replace("+psycopg", "")) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg = str(row[0]) if row else None
    return {
        "commit": _commit(),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": ram_gib,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "loadavg_start": round(os.getloadavg()[0], 2),
    }


def _commit() -> str | None:
    """The checkout's commit, marked ``+dirty`` when src/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


# =============================================================================================
# Report
# =============================================================================================


@dataclass
class Results:
    """Everything measured, for the table and the JSON line."""

    n: int
    machine: dict[str, Any]
    http_workers: dict[str, int]
    http_clients: int
    baselines: dict[str, Baseline] = field(default_factory=dict)
    service: dict[str, list[Run]] = field(default_factory=dict)
    http: dict[str, Run] = field(default_factory=dict)
    latency: dict[str, Latency] = field(default_factory=dict)
    http_floor: dict[str, HttpFloor] = field(default_factory=dict)
    profile: Profile | None = None

    def best(self, backend: str) -> Run:
        """The fastest service-layer configuration on ``backend``."""
        return max(self.service[backend], key=lambda r: r.per_s)

    def figures(self) -> dict[str, Any]:
        """The machine-readable figures (the last line of the output)."""

        def r1(x: float) -> float:
            return round(x, 1)

        def r2(x: float) -> float:
            return round(x, 2)

        out: dict[str, Any] = {
            "service_sqlite_per_s": r1(self.best("sqlite").per_s),
            "service_postgres_per_s": r1(self.best("postgresql").per_s),
            "http_sqlite_per_s": r1(self.http["sqlite"].per_s),
            "http_postgres_per_s": r1(self.http["postgresql"].per_s),
            "lane_p50_ms": r2(self.latency["postgresql"].p(50)),
            "lane_p99_ms": r2(self.latency["postgresql"].p(99)),
            "lane_backend": "postgresql",
            "lane_rate_per_s": self.latency["postgresql"].rate,
            "lane_sqlite_p50_ms": r2(self.latency["sqlite"].p(50)),
            "lane_sqlite_p99_ms": r2(self.latency["sqlite"].p(99)),
            "service_postgres_config": self.best("postgresql").config,
        }
        for run in self.service["postgresql"]:
            key = run.config.split(",")[0].replace(" ", "_")
            out[f"service_postgres_{key}_per_s"] = r1(run.per_s)
        cpu: dict[str, dict[str, float]] = {}
        for name, run in [
            *((f"service_{b}", self.best(b)) for b in self.service),
            *((f"http_{b}", r) for b, r in self.http.items()),
        ]:
            cpu[name] = {g: r2(run.cpu_ms(g)) for g in run.cpu_s}
        for backend, lt in self.latency.items():
            cpu[f"lane_{backend}"] = {g: r2(lt.cpu_ms(g)) for g in lt.cpu_s}
        out["cpu_ms_per_declaration"] = cpu
        for backend, fl in self.http_floor.items():
            short = "postgres" if backend == "postgresql" else backend
            out[f"baseline_http_{short}_healthz_per_s"] = round(fl.per_s)
            out[f"baseline_http_{short}_server_cpu_ms_per_request"] = r2(fl.server_cpu_ms)
            run = self.http[backend]
            out[f"http_{short}_requests_per_declaration"] = r1(run.requests / run.n)
        for backend, base in self.baselines.items():
            short = "postgres" if backend == "postgresql" else backend
            out[f"baseline_{short}_empty_tx_ms"] = round(base.empty_tx_ms, 3)
            out[f"baseline_{short}_select1_ms"] = round(base.select1_ms, 3)
            out[f"baseline_{short}_floor_per_s"] = r1(base.floor_per_s)
            out[f"{short}_tx_per_declaration"] = r1(base.census.tx_per_decl)
            out[f"{short}_statements_per_declaration"] = r1(base.census.stmts_per_decl)
        out["http_workers"] = self.http_workers
        out["http_clients"] = self.http_clients
        out["declarations"] = self.n
        out["items_per_declaration"] = ITEMS_PER_DECLARATION
        out["machine"] = self.machine
        out["targets_met"] = {
            "service_postgres_per_s": out["service_postgres_per_s"]
            >= TARGET_SERVICE_POSTGRES_PER_S,
            "lane_p99_ms": out["lane_p99_ms"] < TARGET_LANE_P99_MS,
        }
        return out


def render(console: Console, res: Results) -> None:
    """Print the human-readable tables."""
    from rich.table import Table

    m = res.machine
    console.print(
        f"[bold]Clearance path[/bold] at {m['commit']}: {res.n} declarations x "
        f"{ITEMS_PER_DECLARATION} items; "
        f"{m['nproc']} cores, {m['cpu']}, {m['ram_gib']} GiB RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}, PostgreSQL {m['postgresql']} (fsync off); "
        f"load average {m['loadavg_start']} at start, {m.get('loadavg_end')} at end"
    )
    table = Table(title="Declarations from lodging to exit per second")
    for col in ("path", "backend", "configuration", "decl/s", "lane p50", "lane p99"):
        table.add_column(
            col, justify="left" if col in ("path", "backend", "configuration") else "right"
        )
    for col in ("CPU client", "CPU server", "CPU postgres"):
        table.add_column(col + " ms/decl", justify="right")
    table.add_column("green/yellow/red")

    def row(path: str, backend: str, run: Run, mark: str = "") -> None:
        table.add_row(
            path,
            backend,
            run.config + mark,
            f"{run.per_s:.1f}",
            f"{run.lane_ms(50):.1f} ms",
            f"{run.lane_ms(99):.1f} ms",
            *(_ms(run.cpu_ms(g)) for g in ("client", "server", "postgres")),
            _lanes(run.lanes),
        )

    for backend, runs in res.service.items():
        best = res.best(backend)
        for run in runs:
            row("service", backend, run, " (best)" if run is best and len(runs) > 1 else "")
    for backend, run in res.http.items():
        row("HTTP", backend, run)
    console.print(table)
    console.print(
        "  lane = time to the lane decision under this load: the submit transaction (service) "
        "or POST /declarations (HTTP).\n  CPU from /proc: client = the benchmark's process "
        "(or its worker processes), server = uvicorn, postgres = every backend of the cluster."
    )

    lat = Table(
        title=f"Lodging -> lane decision over HTTP, open loop at {LANE_RATE_PER_S:g} requests/s"
    )
    for col in ("backend", "requests", "completed /s", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        lat.add_column(col, justify="left" if col == "backend" else "right")
    for col in ("CPU server", "CPU postgres"):
        lat.add_column(col + " ms/req", justify="right")
    for backend, lt in res.latency.items():
        lat.add_row(
            backend,
            str(lt.sent),
            f"{lt.sent / lt.seconds:.1f}",
            f"{lt.p(50):.1f}",
            f"{lt.p(90):.1f}",
            f"{lt.p(99):.1f}",
            f"{max(lt.ms):.1f}",
            _ms(lt.cpu_ms("server")),
            _ms(lt.cpu_ms("postgres")),
        )
    console.print(lat)

    base = Table(title="Baseline, same run and databases: bare round trips, one thread")
    for col in ("backend", "empty tx", "SELECT 1", "tx/decl", "stmts/decl", "floor"):
        base.add_column(col, justify="left" if col == "backend" else "right")
    for col in ("floor decl/s", "measured 1-thread decl/s", "floor share"):
        base.add_column(col, justify="right")
    for backend, b in res.baselines.items():
        single = next(r for r in res.service[backend] if r.config == "1 thread")
        base.add_row(
            backend,
            f"{b.empty_tx_ms:.3f} ms",
            f"{b.select1_ms:.3f} ms",
            f"{b.census.tx_per_decl:.1f}",
            f"{b.census.stmts_per_decl:.1f}",
            f"{b.floor_ms:.2f} ms",
            f"{b.floor_per_s:.0f}",
            f"{single.per_s:.1f}",
            f"{b.floor_ms / (1000 / single.per_s):.0%}",
        )
    console.print(base)
    console.print(
        "  floor = tx/decl x empty unit of work + stmts/decl x SELECT 1: what the declaration "
        "would cost if every statement were trivial; the rest is product and library code."
    )
    hb = Table(title="HTTP baseline, same servers: GET /healthz (no database), keep-alive clients")
    for col in ("backend", "healthz req/s", "server CPU ms/req", "requests/decl"):
        hb.add_column(col, justify="left" if col == "backend" else "right")
    for col in ("framework floor ms/decl", "server CPU ms/decl", "floor share"):
        hb.add_column(col, justify="right")
    for backend, fl in res.http_floor.items():
        run = res.http[backend]
        per_decl = run.requests / run.n
        floor = per_decl * fl.server_cpu_ms
        hb.add_row(
            backend,
            f"{fl.per_s:.0f}",
            f"{fl.server_cpu_ms:.2f}",
            f"{per_decl:.1f}",
            f"{floor:.1f}",
            _ms(run.cpu_ms("server")),
            f"{floor / run.cpu_ms('server'):.0%}",
        )
    console.print(hb)
    for backend, b in res.baselines.items():
        steps = ", ".join(
            f"{k} {v / b.census.declarations:.1f}" for k, v in b.census.by_step.items()
        )
        console.print(f"  statements per declaration by step ({backend}): {steps}")

    if res.profile is not None:
        p = res.profile
        console.print(
            f"\n[bold]Profile[/bold] (cProfile, PostgreSQL, 1 thread, wall clock; "
            f"{p.seconds:.1f} s with the profiler's overhead). Own time by package: "
            + ", ".join(f"{k} {v:.0%}" for k, v in p.by_package)
        )
        prof = Table(title="Product functions by cumulative time per declaration")
        for col in ("function", "calls/decl", "ms/decl", "share"):
            prof.add_column(col, justify="left" if col == "function" else "right")
        for name, calls, ms, share in p.product:
            prof.add_row(name, f"{calls:.1f}", f"{ms:.2f}", f"{share:.0%}")
        console.print(prof)
        if p.stats_file is not None:
            console.print(f"  profile saved to {p.stats_file} (python -m pstats)")

    f = res.figures()
    met = {k: "met" if v else "NOT met" for k, v in f["targets_met"].items()}
    console.print(
        f"\nTargets: service layer on PostgreSQL >= {TARGET_SERVICE_POSTGRES_PER_S:g} decl/s: "
        f"{f['service_postgres_per_s']} ({met['service_postgres_per_s']}); "
        f"lane p99 over HTTP at {LANE_RATE_PER_S:g}/s < {TARGET_LANE_P99_MS:g} ms: "
        f"{f['lane_p99_ms']} ms ({met['lane_p99_ms']})"
    )


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _lanes(lanes: dict[str, int]) -> str:
    return "/".join(str(lanes.get(k, 0)) for k in ("green", "yellow", "red"))


# =============================================================================================
# Main
# =============================================================================================


def _terminate(_signum: int, _frame: object) -> None:
    """Turn SIGTERM into KeyboardInterrupt so that every cleanup runs."""
    raise KeyboardInterrupt


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=None, help="declarations per throughput run (500)")
    ap.add_argument("--quick", action="store_true", help="small and short: checks that it works")
    ap.add_argument("--lane-seconds", type=float, default=None, help="open-loop duration (20 s)")
    ap.add_argument("--http-clients", type=int, default=4, help="client threads (4)")
    ap.add_argument(
        "--http-workers",
        type=int,
        default=None,
        help="uvicorn worker processes (default: 1 on SQLite, which has one writer at a time, "
        "and one per core, at most 2, on PostgreSQL)",
    )
    ap.add_argument(
        "--pg-tcp",
        action="store_true",
        help="reach PostgreSQL over TCP on 127.0.0.1 (default: its Unix socket, as a server on "
        "the same host is reached)",
    )
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile pass")
    ap.add_argument("--profile-out", type=Path, default=None, help="keep the pstats file here")
    args = ap.parse_args(argv)
    if args.n is None:
        args.n = 100 if args.quick else 500
    if args.lane_seconds is None:
        args.lane_seconds = 5.0 if args.quick else 20.0
    if args.n < 10:
        ap.error("--n must be at least 10")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement, print the tables and the JSON line; clean up whatever happens."""
    from rich.console import Console

    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    out = Console() if sys.stdout.isatty() else Console(width=150)
    log = Console(stderr=True)
    n = args.n
    warm_n = max(10, n // 10)
    census_n = min(50, n)
    lane_n = int(LANE_RATE_PER_S * args.lane_seconds)

    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="manafidh-bench-"))
        stack.callback(shutil.rmtree, workdir, True)
        # Throwaway keys and files for every process of the run (workers and the server inherit
        # the environment): nothing is written outside the temporary directory.
        os.environ["MANAFIDH_AUDIT_KEY_FILE"] = str(workdir / "audit-ed25519.pem")
        from tests.pg_cluster import PgCluster, find_pg_bin

        cluster: PgCluster | None = None
        if find_pg_bin() is None and not os.environ.get("MANAFIDH_TEST_PG_URL"):
            raise BenchError("PostgreSQL binaries not found: apt-get install postgresql")
        log.print("starting a throwaway PostgreSQL cluster (fsync off)")
        cluster = stack.enter_context(PgCluster())
        dbs = Databases(workdir, cluster, tcp=args.pg_tcp)
        log.print("migrating and loading reference data into the templates")
        dbs.prepare()
        http_workers = {
            "sqlite": args.http_workers or 1,
            "postgresql": args.http_workers or min(2, os.cpu_count() or 1),
        }
        setup = {**machine(cluster), "postgres_via": "tcp" if args.pg_tcp else "unix socket"}
        res = Results(n, setup, http_workers, args.http_clients)
        pg_pids = postgres_pids(cluster)

        jobs = make_jobs(n, tag="M", seed=SEED)
        warm = make_jobs(warm_n, tag="W", seed=SEED)
        rewarm = make_jobs(warm_n, tag="V", seed=SEED)
        census = make_jobs(census_n, tag="C", seed=SEED)

        # -- service layer -------------------------------------------------------------------
        plans: dict[str, list[tuple[str, int]]] = {
            "sqlite": [("threads", 1)],
            "postgresql": [("threads", 1), ("threads", 2), ("processes", 2)],
        }
        for backend, plan in plans.items():
            res.service[backend] = []
            for kind, workers in plan:
                url = dbs.fresh(backend)
                c = make_container(url, SEED)
                try:
                    actors = create_actors(c)
                    if kind == "threads" and workers == 1:
                        log.print(f"{backend}: baseline and statement census")
                        res.baselines[backend] = measure_baseline(c, actors, census, 2000)
                finally:
                    c.engine.dispose()
                label = f"service {backend}, {workers} {kind if workers > 1 else kind[:-1]}"
                log.print(f"{label}: {n} declarations")
                db = pg_pids if backend == "postgresql" else None
                if kind == "threads":
                    run = run_service_threads(url, actors, warm, jobs, workers, label, db)
                else:
                    run = run_service_processes(
                        url, actors, (warm, rewarm), jobs, workers, label, db
                    )
                log.print(f"  {run.per_s:.1f} declarations/s  lanes {run.lanes}")
                res.service[backend].append(run)

        if not args.no_profile:
            url = dbs.fresh("postgresql")
            c = make_container(url, SEED)
            try:
                actors = create_actors(c)
            finally:
                c.engine.dispose()
            log.print("profiling the service path on PostgreSQL (1 thread)")
            res.profile = profile_service(url, actors, warm, jobs[: min(n, 200)], args.profile_out)

        # -- HTTP ----------------------------------------------------------------------------
        lane_jobs = make_jobs(lane_n, tag="L", seed=SEED)
        for backend in ("sqlite", "postgresql"):
            url = dbs.fresh(backend)
            c = make_container(url, SEED)
            try:
                create_actors(c)
            finally:
                c.engine.dispose()
            with Server(url, workdir, http_workers[backend]) as server:
                meter = _meter(
                    lambda: [os.getpid()], server.pids, pg_pids if backend == "postgresql" else None
                )
                tokens = sign_in(server.port)
                res.http_floor[backend] = http_floor(server.port, meter, args.http_clients, 3.0)
                label = f"http {backend}"
                log.print(f"{label}: {n} declarations, {args.http_clients} clients")
                run = run_http(server.port, tokens, warm, jobs, args.http_clients, label, meter)
                w = http_workers[backend]
                run.config += ", 1 uvicorn worker" if w == 1 else f", {w} uvicorn workers"
                log.print(f"  {run.per_s:.1f} declarations/s  lanes {run.lanes}")
                res.http[backend] = run
                time.sleep(1)  # let the server settle before the latency run
                log.print(f"{label}: lane latency, {lane_n} requests at {LANE_RATE_PER_S:g}/s")
                lat = lane_latency(server.port, tokens, lane_jobs, LANE_RATE_PER_S, meter)
                log.print(f"  p50 {lat.p(50):.2f} ms  p99 {lat.p(99):.2f} ms")
                res.latency[backend] = lat

        res.machine["loadavg_end"] = round(os.getloadavg()[0], 2)
        render(out, res)
        figures = res.figures()
    # Plain print, after every cleanup: nothing may follow this line on stdout.
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 0


def _entry() -> int:
    try:
        return main()
    except KeyboardInterrupt:
        print(
            "interrupted: servers stopped, PostgreSQL stopped, temp files removed", file=sys.stderr
        )
        return 130
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(_entry())
