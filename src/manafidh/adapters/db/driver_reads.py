"""Hot reads run on the driver's own cursor, past ``Connection.execute`` (ADR 0014).

The clearance path reads a few rows per step: the reference generation, a declaration's own
row, its payment orders, the next number of a counter. Through ``Connection.execute`` each of
these costs about 50 µs of client CPU besides the driver's work: result set-up, events,
parameter processing per call. :func:`rows` runs such a statement on the DBAPI cursor instead:
SQLAlchemy's compiler renders it once per dialect and set of parameter names (the plans of
``driver_statements``), the column types' own bind processors convert the parameters, and the
types' own result processors convert the values read, chosen, as SQLAlchemy chooses them, from
the type codes of the driver's ``cursor.description``. A statement that needs more (expanding
``IN`` parameters, literal rendering) runs through ``Connection.execute`` as before.

Writes queued with ``write_queue.later`` are sent first, as the engine event does for every
statement through SQLAlchemy: a read always sees the writes of its own unit of work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect

from manafidh.adapters.db import write_queue
from manafidh.adapters.db.driver_statements import Plan, plan

Processor = Callable[[Any], Any] | None
_RowType = Callable[..., Any]
_Reader = tuple[_RowType, tuple[Processor, ...] | None]
# plan -> (row type, a processor per column or None for none at all). A statement's columns
# have the same types at every execution, so the driver's description (whose making costs
# more than the read itself) is asked for once per plan.
_readers: dict[int, _Reader] = {}
_lock = threading.Lock()


def rows(conn: Connection, statement: Any, parameters: Mapping[str, Any]) -> list[Any]:
    """``conn.execute(statement, parameters).all()``: rows whose values are read by name, as
    attributes, converted by the columns' types exactly as SQLAlchemy converts them."""
    found = plan(statement, conn.dialect, tuple(sorted(parameters)), reads=True)
    if found is None:
        return list(conn.execute(statement, parameters).all())
    write_queue.send(conn)
    driver_error = conn.dialect.loaded_dbapi.Error
    cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(found.sql, found.values(parameters))
        fetched = cursor.fetchall()
        reader = _readers.get(id(found))  # plans live as long as the process: ids stay theirs
        if reader is None:
            codes = tuple(d[1] for d in cursor.description)
            reader = _reader(found, statement, conn.dialect, codes)
    except driver_error as e:
        raise exc.DBAPIError.instance(found.sql, None, e, driver_error) from e
    finally:
        cursor.close()
    make, processors = reader
    if processors is None:
        return [make(*r) for r in fetched]
    return [make(*[p(v) if p else v for p, v in zip(processors, r, strict=True)]) for r in fetched]


def first(conn: Connection, statement: Any, parameters: Mapping[str, Any]) -> Any | None:
    """The first row of :func:`rows`, or None."""
    found = rows(conn, statement, parameters)
    return found[0] if found else None


def _reader(found: Plan, statement: Any, dialect: Dialect, codes: tuple[Any, ...]) -> _Reader:
    """Make and keep the row type and result processors of a plan."""
    columns = _columns(statement)
    if len(columns) != len(codes):
        raise TypeError(f"{len(codes)} columns read, {len(columns)} described: {found.sql}")
    processors = tuple(
        column["type"].dialect_impl(dialect).result_processor(dialect, code)
        for column, code in zip(columns, codes, strict=True)
    )
    names = [column["name"] for column in columns]
    made: _Reader = (
        NamedTuple("Row", [(name, Any) for name in names]),  # type: ignore[misc]
        processors if any(processors) else None,
    )
    with _lock:
        _readers[id(found)] = made
    return made


def _columns(statement: Any) -> list[dict[str, Any]]:
    """Name and type of each column the statement returns, in order (SQLAlchemy's public
    descriptions of a SELECT's columns or of an INSERT/UPDATE's RETURNING)."""
    if hasattr(statement, "returning_column_descriptions"):
        return list(statement.returning_column_descriptions)
    return list(statement.column_descriptions)
