"""A per-process cache of slowly changing data, invalidated by one database counter.

Every write to reference data, rates, parameters, rules, tariff measures, valuation references,
exemptions or risk models bumps the 'reference_generation' counter in the same transaction.
A unit of work reads the counter once (one indexed read) and then trusts what the process has
cached under that generation, so lodging a declaration reads none of those tables.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from manafidh.adapters.db import driver_reads
from manafidh.adapters.db import tables as t

T = TypeVar("T")

GENERATION = "reference_generation"
_cache: dict[tuple[str, str], tuple[int, Any]] = {}
_cache_lock = threading.Lock()
_database_keys: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()

# Built once: building a Core statement costs more CPU than running it.
_COUNTER_VALUE = select(t.counters.c.value).where(t.counters.c.name == bindparam("name"))
_BUMP = (
    update(t.counters).where(t.counters.c.name == GENERATION).values(value=t.counters.c.value + 1)
)


def database_key(engine: Engine) -> str:
    """The database's key in this process's caches: its URL, rendered once per engine (hashing
    a URL object renders it as text every time, which cost more than the cache saved)."""
    key = _database_keys.get(engine)
    if key is None:
        key = _database_keys[engine] = engine.url.render_as_string(hide_password=True)
    return key


def read_generation(conn: Connection) -> int:
    """The generation the database is at, as this transaction sees it."""
    row = driver_reads.first(conn, _COUNTER_VALUE, {"name": GENERATION})
    return int(row.value) if row is not None else 0


def bump_generation(conn: Connection) -> None:
    """Mark every process's cache stale once this transaction commits."""
    if conn.execute(_BUMP).rowcount == 0:
        conn.execute(insert(t.counters).values(name=GENERATION, value=1))


class ReferenceGeneration:
    """The generation as one unit of work sees it, shared by its repositories."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._seen: int | None = None
        self._wrote = False

    def current(self) -> int:
        """The generation, read once per unit of work."""
        if self._seen is None:
            self._seen = read_generation(self.conn)
        return self._seen

    def bump(self) -> None:
        """Record a write to cached data: later reads in this unit of work see the change."""
        bump_generation(self.conn)
        self._seen = None
        # What this transaction reads after its own write may still roll back; it must never
        # be cached under a generation number that another transaction may reach first.
        self._wrote = True

    def cached(self, kind: str, build: Callable[[], T]) -> T:
        """``build()``'s value for ``kind``, from the process cache when still current."""
        if self._wrote:
            return build()
        generation = self.current()
        key = (database_key(self.conn.engine), kind)
        with _cache_lock:
            hit = _cache.get(key)
        if hit is not None and hit[0] == generation:
            value: T = hit[1]
            return value
        value = build()
        with _cache_lock:
            _cache[key] = (generation, value)
        return value
