"""Core statements compiled once and run on the driver's own cursor (ADR 0012).

Running a statement through ``Connection.execute`` costs about 55 µs of CPU on PostgreSQL
besides the driver's own work (result set-up, events, parameter processing per call). The
queued writes of ``write_queue`` read no result, so they skip that path: SQLAlchemy's compiler
renders each statement once per dialect and set of parameter names, the column types' own bind
processors convert the values (exact decimals, fils, instants), and the DBAPI cursor runs it.
A statement that needs more than that (Python-side defaults, ``RETURNING``, expanding
parameters) gets no plan; the caller runs it through ``Connection.execute`` instead. Hot reads
use the same plans (``driver_reads``, ADR 0014).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect


@dataclass(frozen=True)
class Plan:
    """A statement rendered for one dialect, with what turns parameters into driver values."""

    sql: str
    compiled: Any  # sqlalchemy.sql.compiler.SQLCompiler
    processors: Mapping[str, Callable[[Any], Any]]
    order: tuple[str, ...] | None  # the parameters' order for a positional paramstyle

    def values(self, parameters: Mapping[str, Any]) -> Any:
        """The driver's parameters for one row."""
        values = self.compiled.construct_params(parameters)
        for name, process in self.processors.items():
            values[name] = process(values[name])
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


# (statement, dialect, names, whether its rows are read)
_plans: dict[tuple[Any, str, tuple[str, ...], bool], Plan | None] = {}
_lock = threading.Lock()


def plan(
    statement: Any, dialect: Dialect, names: Sequence[str], *, reads: bool = False
) -> Plan | None:
    """The plan of ``statement`` for parameters named ``names``, or None when it needs
    SQLAlchemy's full execution path; with ``reads``, for a statement whose rows are read
    (a SELECT, or RETURNING). Statements must be long-lived (module constants): the plans are
    kept per statement object."""
    key = (statement, f"{dialect.name}+{dialect.driver}", tuple(names), reads)
    try:
        return _plans[key]
    except KeyError:
        pass
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(names))
    needs_more = (
        # Set for INSERT and UPDATE only: values SQLAlchemy computes or fetches around them.
        getattr(compiled, "insert_prefetch", None)
        or getattr(compiled, "update_prefetch", None)
        # (columns set by SQL expressions: a read has them back through its RETURNING)
        or (getattr(compiled, "postfetch", None) and not reads)
        or (compiled.returning and not reads)
        or compiled.escaped_bind_names
        or compiled.literal_execute_params
        or compiled.post_compile_params
    )
    made = None
    if not needs_more:
        made = Plan(
            sql=compiled.string,
            compiled=compiled,
            # The same processors SQLAlchemy applies on its own path (the types' bind_processor).
            processors={k: v for k, v in compiled._bind_processors.items() if v is not None},
            order=tuple(compiled.positiontup) if compiled.positional else None,
        )
    with _lock:
        _plans[key] = made
    return made
