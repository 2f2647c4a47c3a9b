"""Alembic migrations build exactly the schema the code expects, on both backends."""

from __future__ import annotations

from sqlalchemy import inspect

from manafidh.adapters.db.engine import make_engine
from manafidh.adapters.db.migrate import drift, upgrade
from manafidh.adapters.db.tables import metadata


def test_migrations_and_models_do_not_drift(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    assert drift(engine) == []
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_upgrading_twice_changes_nothing(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert drift(engine) == []
    engine.dispose()
