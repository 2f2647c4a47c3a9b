"""The unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from sqlalchemy import Connection, Engine

from manafidh.adapters.db.audit import SqlAuditLog
from manafidh.adapters.db.audit_records import SqlAuditRecords
from manafidh.adapters.db.repositories import (
    SqlDeclarationRepository,
    SqlGateRepository,
    SqlPaymentRepository,
    SqlReferenceRepository,
    SqlReportRepository,
    SqlUserRepository,
)
from manafidh.adapters.db.risk_repository import SqlRiskRepository
from manafidh.domain.clock import Clock
from manafidh.services.ports import AuditKeys


@dataclass(frozen=True)
class AuditSettings:
    """The audit key and how often tree heads are signed while appending."""

    keys: AuditKeys | None
    checkpoint_every: int = 1000
    checkpoint_minutes: int = 10


NO_AUDIT = AuditSettings(None)


class SqlUnitOfWork:
    """A database transaction exposing the repositories the services use."""

    reference: SqlReferenceRepository
    declarations: SqlDeclarationRepository
    users: SqlUserRepository
    payments: SqlPaymentRepository
    gate: SqlGateRepository
    reports: SqlReportRepository
    audit: SqlAuditLog
    audit_records: SqlAuditRecords
    risk: SqlRiskRepository

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        readonly: bool = False,
        audit: AuditSettings = NO_AUDIT,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.readonly = readonly
        self.audit_settings = audit
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
        a = self.audit_settings
        self.audit = SqlAuditLog(
            conn,
            clock=self.clock,
            keys=a.keys,
            readonly=self.readonly,
            checkpoint_every=a.checkpoint_every,
            checkpoint_minutes=a.checkpoint_minutes,
        )
        self.audit_records = SqlAuditRecords(conn)
        self.risk = SqlRiskRepository(conn)
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
        """Write the pending audit entries, then make every change durable, all at once."""
        assert self._conn is not None
        self.audit.flush()
        self._conn.commit()

    def rollback(self) -> None:
        """Discard every change of this unit of work (audit entries included)."""
        assert self._conn is not None
        self.audit.discard()
        self._conn.rollback()


class UnitOfWorkFactory:
    """Makes units of work bound to one engine and clock (wired in bootstrap)."""

    def __init__(self, engine: Engine, clock: Clock, audit: AuditSettings = NO_AUDIT) -> None:
        self.engine = engine
        self.clock = clock
        self.audit = audit

    def __call__(self, *, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, readonly=readonly, audit=self.audit)
