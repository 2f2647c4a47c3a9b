"""The database fixtures hand out working, empty and isolated databases on every backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from tests.pg_cluster import PgCluster

SHARED_TABLE = "isolation_probe"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """Yield an engine on the test's fresh database, disposed afterwards."""
    eng = create_engine(database_url)
    try:
        yield eng
    finally:
        eng.dispose()


def test_database_url_names_the_backend_of_its_parametrisation(
    database_url: str, db_backend: str
) -> None:
    """The URL's dialect matches the parametrisation id."""
    assert database_url.startswith(f"{db_backend}+")


def test_fresh_database_starts_empty(engine: Engine) -> None:
    """No table exists in a database handed to a test."""
    assert inspect(engine).get_table_names() == []


def test_rows_written_can_be_read_back(engine: Engine) -> None:
    """A table can be created, filled and queried, including non-Latin text."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE crossing (id INTEGER PRIMARY KEY, name VARCHAR(80))"))
        conn.execute(
            text("INSERT INTO crossing (id, name) VALUES (:id, :name)"),
            [{"id": 1, "name": "Ibrahim Khalil"}, {"id": 2, "name": "منفذ إبراهيم الخليل"}],
        )
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name FROM crossing ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, "Ibrahim Khalil"), (2, "منفذ إبراهيم الخليل")]


@pytest.mark.parametrize("run", ["first", "second"])
def test_tables_of_one_test_are_invisible_to_the_next(engine: Engine, run: str) -> None:
    """Both runs create the same table, which only works if neither sees the other's."""
    with engine.begin() as conn:
        assert SHARED_TABLE not in inspect(conn).get_table_names()
        conn.execute(text(f"CREATE TABLE {SHARED_TABLE} (run VARCHAR(10))"))
        conn.execute(text(f"INSERT INTO {SHARED_TABLE} (run) VALUES (:run)"), {"run": run})
    with engine.connect() as conn:
        runs = conn.execute(text(f"SELECT run FROM {SHARED_TABLE}")).scalars().all()
    assert runs == [run]


@pytest.mark.postgres
def test_postgres_database_is_dropped_after_the_test_even_with_open_connections(
    pg_cluster: PgCluster,
) -> None:
    """Dropping a test database terminates sessions still connected to it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg_cluster.create_database(name)
    eng = create_engine(pg_cluster.url(name))
    leftover = eng.connect()
    try:
        leftover.execute(text("SELECT 1"))
        pg_cluster.drop_database(name)
        admin = create_engine(pg_cluster.url("postgres"))
        try:
            with admin.connect() as conn:
                found = conn.execute(
                    text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
                ).scalar_one()
        finally:
            admin.dispose()
        assert found == 0
    finally:
        leftover.invalidate()  # its server session was terminated: no reset on close
        leftover.close()
        eng.dispose()
