"""The unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Connection, Engine

from manafidh.adapters.db.repositories import (
    SqlDeclarationRepository,
    SqlGateRepository,
    SqlPaymentRepository,
    SqlReferenceRepository,
    SqlReportRepository,
    SqlUserRepository,
)
from manafidh.domain.clock import Clock


class SqlUnitOfWork:
    """A database transaction exposing the repositories the services use."""

    reference: SqlReferenceRepository
    declarations: SqlDeclarationRepository
    users: SqlUserRepository
    payments: SqlPaymentRepository
    gate: SqlGateRepository
    reports: SqlReportRepository

    def __init__(self, engine: Engine, clock: Clock, *, readonly: bool = False) -> None:
        self.engine = engine
        self.clock = clock
        self.readonly = readonly
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        conn = self.engine.connect()
        if self.readonly and conn.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="DEFERRED")
        conn.begin()
        self._conn = conn
        self.reference = SqlReferenceRepository(conn)
        self.declarations = SqlDeclarationRepository(conn, lock=not self.readonly)
        self.users = SqlUserRepository(conn)
        self.payments = SqlPaymentRepository(conn, lock=not self.readonly)
        self.gate = SqlGateRepository(conn)
        self.reports = SqlReportRepository(conn)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None

    def commit(self) -> None:
        """Make every change of this unit of work durable, all at once."""
        assert self._conn is not None
        self._conn.commit()

    def rollback(self) -> None:
        """Discard every change of this unit of work."""
        assert self._conn is not None
        self._conn.rollback()


class UnitOfWorkFactory:
    """Makes units of work bound to one engine and clock (wired in bootstrap)."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def __call__(self, *, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, readonly=readonly)
