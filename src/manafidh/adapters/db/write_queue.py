"""Writes whose result nobody reads, held back and sent together (ADR 0012).

A use case writes many rows whose outcome it never reads back in the same step: a
declaration's items and transitions, assessment lines, ledger lines, rollup increments.
Sending each one and waiting for the server's answer costs a round trip apiece. Instead a
repository hands such a write to :func:`later`; the queue is sent, in order, just before the
next statement that does wait for an answer on the same connection (so every read sees every
earlier write), and at the latest just before COMMIT. On PostgreSQL the queue travels as one
psycopg pipeline: one round trip for all of it. On SQLite the statements run one by one.

A write that fails fails the statement it was sent with, or the commit: the unit of work
rolls back whole, as before, and nothing of it is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event, exc

from manafidh.adapters.db.driver_statements import plan

_QUEUE = "manafidh.write_queue"


def later(conn: Connection, statement: Any, parameters: Any) -> None:
    """Queue ``conn.execute(statement, parameters)``; its result is never read."""
    conn.info.setdefault(_QUEUE, []).append((statement, parameters))


def has_queued(conn: Connection) -> bool:
    """True when writes wait in the connection's queue."""
    return bool(conn.info.get(_QUEUE))


def send(conn: Connection) -> None:
    """Execute the queued writes now, in the order they were queued, in one round trip."""
    if conn.info.get(_QUEUE):
        with pipeline(conn):
            send_in_pipeline(conn)


def send_in_pipeline(conn: Connection) -> None:
    """Execute the queued writes inside the caller's ``pipeline`` block (which waits for them
    when it ends, or at the first statement whose result is read)."""
    queue = conn.info.get(_QUEUE)
    if not queue:
        return
    conn.info[_QUEUE] = []  # emptied first: the statements below pass through on_execute
    cursor: Any = None
    driver_error = conn.dialect.loaded_dbapi.Error
    try:
        for statement, parameters in queue:
            rows = parameters if isinstance(parameters, list) else [parameters]
            names = tuple(sorted(rows[0])) if rows else ()
            found = plan(statement, conn.dialect, names) if rows else None
            if found is None or any(r.keys() != rows[0].keys() for r in rows[1:]):
                _refuse_rows(statement, conn, names)
                conn.execute(statement, parameters)  # SQLAlchemy's full path
                continue
            if cursor is None:
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            values = [found.values(r) for r in rows]
            if len(values) == 1:
                cursor.execute(found.sql, values[0])
            else:
                cursor.executemany(found.sql, values)
    except driver_error as e:
        raise exc.DBAPIError.instance(None, None, e, driver_error) from e
    finally:
        if cursor is not None:
            cursor.close()


def _refuse_rows(statement: Any, conn: Connection, names: tuple[str, ...]) -> None:
    """A queued statement must not return rows (nobody reads them, and a pipeline cannot):
    an INSERT with a generated key is built with ``.inline()``."""
    if statement.compile(dialect=conn.dialect, column_keys=list(names)).returning:
        raise TypeError(f"a queued statement returns rows; build it with .inline(): {statement}")


def discard(conn: Connection) -> None:
    """Forget queued writes (the transaction is rolling back)."""
    conn.info.pop(_QUEUE, None)


@contextmanager
def pipeline(conn: Connection) -> Iterator[None]:
    """The driver's pipeline mode for the block (psycopg; SQLite: nothing).

    A statement sent in the block fails when the pipeline is synchronised, outside SQLAlchemy:
    the driver's error is raised as SQLAlchemy's (an IntegrityError stays an IntegrityError).
    """
    dbapi: Any = conn.connection.driver_connection
    if not hasattr(dbapi, "pipeline"):
        yield
        return
    driver_error = conn.dialect.loaded_dbapi.Error
    try:
        with dbapi.pipeline():
            yield
    except driver_error as e:
        raise exc.DBAPIError.instance(None, None, e, driver_error) from e


def install(engine: Engine) -> None:
    """Send a connection's queue before any other statement runs on it; drop it on rollback."""

    @event.listens_for(engine, "before_execute")
    def on_execute(conn: Connection, *_args: Any) -> None:
        if conn.info.get(_QUEUE):
            send(conn)

    @event.listens_for(engine, "rollback")
    def on_rollback(conn: Connection) -> None:
        discard(conn)
