"""Device events benchmark: signed events verified and stored per second, gate decision latency.

Run from the repository root::

    python bench/devices.py [--n 20000] [--batch 200] [--quick]

What it measures, each on a fresh database copied from a migrated template with the shipped
reference data (SQLite file in WAL mode; PostgreSQL in a throwaway cluster from
``tests/pg_cluster.py``, ``fsync=off``):

* **events/s** - ``services.device_events.submit_events`` called directly with batches of signed
  weighings from 8 weighbridges, as a device resending its buffer or a lane concentrator would:
  every signature verified, every event checked against the registry and the stored sequence
  numbers, stored, and journaled in the audit log, one transaction per batch. The events are
  signed before the clock starts (signing is the devices' work, not the server's).
* **single events/s** - the same with one event per transaction (a device online, sending as it
  weighs), for comparison.
* **baseline** - Ed25519 verifications per second on one core of this machine in the same run:
  the ceiling no server can pass on one core.
* **gate decision latency** - ``GET /api/v1/gate/decision`` through the real app in process,
  timed per request (p50, p99), for trucks with released declarations.

Progress goes to stderr; stdout gets a table and, as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``tests`` (PgCluster, _prepare) lives at the repository root
    sys.path.insert(0, str(ROOT))

PG_TEMPLATE = "bench_devices_template"
DEVICES = 8
TARGET_POSTGRES_PER_S = 2000.0


class BenchError(RuntimeError):
    """The benchmark could not run, or the product answered something unexpected."""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def make_container(url: str) -> Any:
    """The wired application on ``url`` with the system clock."""
    from manafidh.bootstrap import bootstrap
    from manafidh.config import Settings

    return bootstrap(Settings(database_url=url, fast_password_hashing=True))


def register(c: Any) -> list[tuple[str, Any]]:
    """Register the weighbridges; returns (device id, private key) pairs."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from manafidh.adapters import device_keys
    from manafidh.domain.devices.registry import DeviceKind, Position
    from manafidh.services import devices

    made = []
    for n in range(DEVICES):
        key = Ed25519PrivateKey.generate()
        device_id = f"SHL-L{n + 1}-WB"
        with c.uow() as uow:
            devices.register_device(
                uow=uow,
                actor=None,
                device_id=device_id,
                crossing_code="SHL",
                lane=f"L{n + 1}",
                kind=DeviceKind.WEIGHBRIDGE,
                position=Position.ENTRY,
                public_key=device_keys.raw_public(key),
                reason="bench",
            )
        made.append((device_id, key))
    return made


def signed_events(devices: list[tuple[str, Any]], n: int, first_seq: int) -> list[Any]:
    """``n`` signed weighings spread over the devices, as the service receives them."""
    from manafidh.adapters import device_keys
    from manafidh.domain.devices.events import SubmittedEvent

    now = datetime.now(UTC) + timedelta(seconds=5)  # registered just before
    out = []
    for i in range(n):
        device_id, key = devices[i % len(devices)]
        at = (now + timedelta(milliseconds=i)).isoformat(timespec="milliseconds")
        body = device_keys.signed_event(
            key,
            device_id=device_id,
            sequence=first_seq + i // len(devices),
            device_time=at.replace("+00:00", "Z"),
            kind="weighing",
            # A new truck per weighing (each run its own plates): the path of a first weighing.
            payload={
                "plate": f"{first_seq % 997:03d} {i:06d} BSR",
                "gross_kg": 30_000 + i % 10_000,
            },
        )
        out.append(SubmittedEvent(**body))
    return out


def _submit(c: Any, events: list[Any], batch: int) -> None:
    """Submit ``events`` in batches; every one must be accepted."""
    from manafidh.adapters import device_keys
    from manafidh.services import device_events

    for i in range(0, len(events), batch):
        with c.uow() as uow:
            outcomes = device_events.submit_events(
                uow=uow, events=events[i : i + batch], verify=device_keys.verify
            )
        bad = [o for o in outcomes if o.status != device_events.ACCEPTED]
        if bad:
            raise BenchError(f"event refused: {bad[0].error}")


def warm_split(events: list[Any], batch: int) -> tuple[list[Any], list[Any]]:
    """The first batch (or tenth) warms connections and statement caches, untimed."""
    k = min(batch, max(1, len(events) // 10))
    return events[:k], events[k:]


def store(c: Any, events: list[Any], batch: int) -> float:
    """Events per second stored in batches after a warm-up; all must be stored."""
    warm, timed = warm_split(events, batch)
    _submit(c, warm, batch)
    with c.uow(readonly=True) as uow:
        before = uow.devices.count_events()
    start = time.perf_counter()
    _submit(c, timed, batch)
    elapsed = time.perf_counter() - start
    with c.uow(readonly=True) as uow:
        stored = uow.devices.count_events() - before
    if stored != len(timed):
        raise BenchError(f"{len(timed)} events sent, {stored} stored")
    return len(timed) / elapsed


def _worker(url: str, events: list[Any], batch: int, barrier: Any) -> tuple[float, float, int]:
    """One process storing its share after a warm-up: (start, end, events timed)."""
    c = make_container(url)
    try:
        warm, timed = warm_split(events, batch)
        _submit(c, warm, batch)
        barrier.wait()
        start = time.monotonic()
        _submit(c, timed, batch)
        return start, time.monotonic(), len(timed)
    finally:
        c.engine.dispose()


def store_processes(url: str, events: list[Any], batch: int, workers: int) -> float:
    """Events per second with ``workers`` processes, each sending whole devices' streams."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    shares: list[list[Any]] = [[] for _ in range(workers)]
    for e in events:
        shares[int(e.device_id.split("-L")[1].split("-")[0]) % workers].append(e)
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(workers)
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = [pool.submit(_worker, url, share, batch, barrier) for share in shares]
            spans = [f.result() for f in futures]
    elapsed = max(e for _, e, _ in spans) - min(s for s, _, _ in spans)
    return sum(n for _, _, n in spans) / elapsed


def verify_baseline(k: int) -> float:
    """Ed25519 verifications per second on one core (fresh messages, one key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    pairs = [(m, key.sign(m)) for m in (os.urandom(200) for _ in range(k))]
    start = time.perf_counter()
    for m, s in pairs:
        public.verify(s, m)
    return k / (time.perf_counter() - start)


def released_trucks(c: Any, trucks: int) -> tuple[list[tuple[str, str]], Any]:
    """Clear ``trucks`` declarations up to release (not exit); returns (crossing, plate) pairs
    and the officer who asks the gate."""
    import random

    from bench.clearance import SEED, create_actors, make_jobs
    from manafidh.domain.declarations.model import Lane
    from manafidh.domain.payments.orders import OrderState
    from manafidh.services import clearance, declarations, payments

    actors = create_actors(c)
    rng = random.Random(SEED)
    out = []
    for job in make_jobs(trucks, tag="G", seed=SEED):
        with c.uow() as uow:
            decl = declarations.submit(
                uow=uow,
                actor=actors.trader,
                crossing_code=job.crossing,
                content=job.content,
                rng=rng,
            )
        with c.uow() as uow:
            if decl.lane is Lane.YELLOW:
                clearance.record_document_check(
                    uow=uow, actor=actors.officer, declaration_id=decl.id, found=False, notes=""
                )
            elif decl.lane is Lane.RED:
                clearance.record_inspection(
                    uow=uow,
                    actor=actors.inspector,
                    declaration_id=decl.id,
                    found=False,
                    fraud_kind=None,
                    notes="",
                )
        with c.uow(readonly=True) as uow:
            orders = [o for o in uow.payments.orders_for(decl.id) if o.state is OrderState.OPEN]
        for order in orders:
            with c.uow() as uow:
                payments.confirm_bank_payment(
                    uow=uow,
                    confirmation=payments.Confirmation(
                        bank_transaction_id=f"TX-{decl.reference}",
                        payment_reference=order.reference,
                        amount_iqd=order.outstanding_iqd,
                        paid_at=c.clock.now(),
                    ),
                )
        with c.uow() as uow:
            clearance.release(uow=uow, actor=actors.officer, declaration_id=decl.id)
        out.append((job.crossing, job.plate))
    return out, actors.officer


def gate_latency(c: Any, trucks: int, requests: int) -> list[float]:
    """Milliseconds per ``GET /api/v1/gate/decision`` for trucks with released declarations,
    through the real app in process (FastAPI TestClient, bearer token)."""
    from fastapi.testclient import TestClient

    from manafidh.web.app import create_app

    pairs, officer = released_trucks(c, trucks)
    with TestClient(create_app(c)) as client:
        r = client.post(
            "/api/v1/auth/token",
            json={"username": officer.username, "password": "bench password 2026"},
        )
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        times = []
        for i in range(requests):
            crossing, plate = pairs[i % len(pairs)]
            began = time.perf_counter()
            r = client.get(
                "/api/v1/gate/decision",
                params={"crossing": crossing, "lane": "L1", "plate": plate},
                headers=headers,
            )
            times.append((time.perf_counter() - began) * 1000)
            if r.status_code != 200 or r.json()["decision"] != "open":
                raise BenchError(f"gate decision failed: {r.status_code} {r.text}")
    return times


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=20_000, help="events per backend (batched)")
    p.add_argument("--single", type=int, default=1_000, help="events sent one per transaction")
    p.add_argument("--batch", type=int, default=200, help="events per transaction")
    p.add_argument("--gate", type=int, default=500, help="gate decisions timed")
    p.add_argument("--quick", action="store_true", help="a small run to check it works")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.single, args.gate = 2_000, 200, 100
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements, print the table and the JSON line."""
    from rich.console import Console
    from rich.table import Table

    args = parse_args(argv)
    out = Console() if sys.stdout.isatty() else Console(width=120)
    log = Console(stderr=True)
    figures: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="manafidh-bench-devices-"))
        stack.callback(shutil.rmtree, workdir, True)
        os.environ["MANAFIDH_AUDIT_KEY_FILE"] = str(workdir / "audit-ed25519.pem")
        from tests.conftest import _prepare
        from tests.pg_cluster import PgCluster, find_pg_bin

        if find_pg_bin() is None and not os.environ.get("MANAFIDH_TEST_PG_URL"):
            raise BenchError("PostgreSQL binaries not found: apt-get install postgresql")
        log.print("starting a throwaway PostgreSQL cluster (fsync off)")
        cluster = stack.enter_context(PgCluster())
        sqlite_template = workdir / "template.db"
        _prepare(f"sqlite+pysqlite:///{sqlite_template}")
        cluster.drop_database(PG_TEMPLATE)
        cluster.create_database(PG_TEMPLATE)
        _prepare(cluster.url(PG_TEMPLATE))

        log.print("baseline: Ed25519 verifications per second")
        figures["verify_per_s_one_core"] = round(verify_baseline(5_000))
        for backend in ("sqlite", "postgresql"):
            if backend == "sqlite":
                target = workdir / "run.db"
                shutil.copyfile(sqlite_template, target)
                url = f"sqlite+pysqlite:///{target}"
            else:
                cluster.create_database("bench_devices_run", template=PG_TEMPLATE)
                url = cluster.url("bench_devices_run")
            c = make_container(url)
            try:
                devices = register(c)
                batched = signed_events(devices, args.n, first_seq=1)
                single = signed_events(devices, args.single, first_seq=10_000_000)
                log.print(f"{backend}: {args.n} events in batches of {args.batch}")
                figures[f"events_per_s_{backend}"] = round(store(c, batched, args.batch))
                log.print(f"{backend}: {args.single} events one per transaction")
                figures[f"single_events_per_s_{backend}"] = round(store(c, single, 1))
                if backend == "postgresql":
                    log.print(f"{backend}: {args.n} events in batches, 2 processes")
                    two = signed_events(devices, args.n, first_seq=20_000_000)
                    figures["events_per_s_postgresql_2_processes"] = round(
                        store_processes(url, two, args.batch, 2)
                    )
                    figures["events_per_s_postgresql_1_process"] = figures[
                        "events_per_s_postgresql"
                    ]
                    figures["events_per_s_postgresql"] = max(
                        figures["events_per_s_postgresql"],
                        figures["events_per_s_postgresql_2_processes"],
                    )
                    log.print(f"{backend}: {args.gate} gate decisions")
                    lat = gate_latency(c, 50, args.gate)
                    figures["gate_p50_ms"] = round(percentile(lat, 50), 2) if lat else None
                    figures["gate_p99_ms"] = round(percentile(lat, 99), 2) if lat else None
            finally:
                c.engine.dispose()
    figures["events_per_s_postgres"] = figures.pop("events_per_s_postgresql")
    figures["single_events_per_s_postgres"] = figures.pop("single_events_per_s_postgresql")
    # Against the machine's own verification rate: the share of a core's signature checks the
    # whole path (checks, store, journal, visits) keeps; steadier than raw figures on a busy host.
    figures["postgres_per_verify_core"] = round(
        figures["events_per_s_postgres"] / figures["verify_per_s_one_core"], 2
    )
    figures["batch"] = args.batch
    figures["n"] = args.n
    figures["target_postgres_per_s"] = TARGET_POSTGRES_PER_S

    table = Table("figure", "value", title="Signed device events")
    for k, v in figures.items():
        table.add_row(k, str(v))
    out.print(table)
    print(
        json.dumps(
            {
                "events_per_s_sqlite": figures["events_per_s_sqlite"],
                "events_per_s_postgres": figures["events_per_s_postgres"],
                "gate_p99_ms": figures.get("gate_p99_ms"),
                **{k: v for k, v in figures.items() if k not in ("gate_p99_ms",)},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
