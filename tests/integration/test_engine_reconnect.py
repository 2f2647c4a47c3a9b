"""A PostgreSQL connection the server dropped while it sat in the pool is replaced unseen."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from manafidh.adapters.db import engine as engines


@pytest.mark.postgres
def test_a_connection_dropped_while_idle_is_replaced_before_use(pg_database_url, monkeypatch):
    eng = engines.make_engine(pg_database_url)
    admin = engines.make_engine(pg_database_url)
    try:
        with eng.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as conn:  # a server restart or an idle timeout does the same
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            conn.commit()
        monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 0.0)
        with eng.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        eng.dispose()
        admin.dispose()
