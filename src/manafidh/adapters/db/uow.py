"""The unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import Connection, Engine

from manafidh.adapters.db import write_queue
from manafidh.adapters.db.audit import SqlAuditLog
from manafidh.adapters.db.audit_records import SqlAuditRecords
from manafidh.adapters.db.deferred import SqlDeferredAccountRepository
from manafidh.adapters.db.devices import SqlDeviceRepository
from manafidh.adapters.db.exemptions import SqlExemptionRepository
from manafidh.adapters.db.floor import SqlFloorRepository
from manafidh.adapters.db.gate_control import SqlGateControlRepository, SqlMonitoringReads
from manafidh.adapters.db.generation import ReferenceGeneration
from manafidh.adapters.db.investment import SqlInvestmentRepository
from manafidh.adapters.db.ledger import SqlLedgerRepository
from manafidh.adapters.db.receipts import SqlReceiptRepository
from manafidh.adapters.db.reconciliation import SqlReconciliationRepository
from manafidh.adapters.db.refunds import SqlRefundRepository
from manafidh.adapters.db.repositories import (
    SqlDeclarationRepository,
    SqlGateRepository,
    SqlPaymentRepository,
    SqlReferenceRepository,
    SqlReportRepository,
    SqlUserRepository,
)
from manafidh.adapters.db.revenue_reports import SqlRevenueRollupRepository
from manafidh.adapters.db.risk_repository import SqlRiskRepository
from manafidh.adapters.db.tariff import SqlTariffRepository
from manafidh.adapters.db.valuation import SqlValuationRepository
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
    devices: SqlDeviceRepository
    gate_control: SqlGateControlRepository
    monitoring: SqlMonitoringReads
    tariff: SqlTariffRepository
    exemptions: SqlExemptionRepository
    ledger: SqlLedgerRepository
    reconciliation: SqlReconciliationRepository
    valuation: SqlValuationRepository
    investment: SqlInvestmentRepository
    revenue_rollup: SqlRevenueRollupRepository
    receipts: SqlReceiptRepository
    refunds: SqlRefundRepository
    risk: SqlRiskRepository
    generation: ReferenceGeneration
    floor: SqlFloorRepository
    deferred: SqlDeferredAccountRepository

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
        write_queue.discard(conn)  # nothing a pooled connection's last user left behind
        conn.begin()
        self._conn = conn
        for name in _REPOSITORIES:  # a unit of work entered again starts afresh
            self.__dict__.pop(name, None)
        return self

    def __getattr__(self, name: str) -> Any:
        """Make a repository the first time a use case asks for it (most ask for few)."""
        make = _REPOSITORIES.get(name)
        if make is None or self.__dict__.get("_conn") is None:
            raise AttributeError(name)
        repository = make(self, self._conn)
        setattr(self, name, repository)
        return repository

    def __exit__(self, exc_type: object, *exc: object) -> None:
        assert self._conn is not None
        try:
            if not self._conn.in_transaction():
                pass
            elif self.readonly and exc_type is None:
                # Ending a read with COMMIT, not ROLLBACK, keeps psycopg's prepared statements:
                # psycopg forgets all of them on every ROLLBACK, and then plans each statement
                # afresh (measured: about half of PostgreSQL's time on the clearance path).
                self._conn.commit()
            else:
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None

    def commit(self) -> None:
        """Write the pending audit entries, then make every change durable, all at once."""
        assert self._conn is not None
        self.audit.flush()
        write_queue.send(self._conn)  # what the audit flush did not take (no entries)
        self._conn.commit()

    def rollback(self) -> None:
        """Discard every change of this unit of work (audit entries included)."""
        assert self._conn is not None
        self.audit.discard()
        write_queue.discard(self._conn)
        self._conn.rollback()


def _audit_log(u: SqlUnitOfWork, conn: Connection) -> SqlAuditLog:
    a = u.audit_settings
    return SqlAuditLog(
        conn,
        clock=u.clock,
        keys=a.keys,
        readonly=u.readonly,
        checkpoint_every=a.checkpoint_every,
        checkpoint_minutes=a.checkpoint_minutes,
    )


# The repositories of a unit of work, made on first use: a unit of work that lodges a
# declaration uses a handful of the twenty, and making all of them cost more than a query.
_REPOSITORIES: dict[str, Callable[[SqlUnitOfWork, Connection], Any]] = {
    "generation": lambda u, c: ReferenceGeneration(c),
    "reference": lambda u, c: SqlReferenceRepository(c, u.generation),
    "declarations": lambda u, c: SqlDeclarationRepository(c, lock=not u.readonly),
    "users": lambda u, c: SqlUserRepository(c),
    "payments": lambda u, c: SqlPaymentRepository(c, lock=not u.readonly),
    "gate": lambda u, c: SqlGateRepository(c),
    "reports": lambda u, c: SqlReportRepository(c),
    "audit": _audit_log,
    "audit_records": lambda u, c: SqlAuditRecords(c),
    "devices": lambda u, c: SqlDeviceRepository(c),
    "gate_control": lambda u, c: SqlGateControlRepository(c),
    "monitoring": lambda u, c: SqlMonitoringReads(c),
    "tariff": lambda u, c: SqlTariffRepository(c, u.generation),
    "exemptions": lambda u, c: SqlExemptionRepository(c, u.generation),
    "ledger": lambda u, c: SqlLedgerRepository(c),
    "reconciliation": lambda u, c: SqlReconciliationRepository(c, lock=not u.readonly),
    "valuation": lambda u, c: SqlValuationRepository(c, u.generation),
    "investment": lambda u, c: SqlInvestmentRepository(c),
    "revenue_rollup": lambda u, c: SqlRevenueRollupRepository(c),
    "receipts": lambda u, c: SqlReceiptRepository(c),
    "refunds": lambda u, c: SqlRefundRepository(c, lock=not u.readonly),
    "risk": lambda u, c: SqlRiskRepository(c, u.generation),
    "floor": lambda u, c: SqlFloorRepository(c),
    "deferred": lambda u, c: SqlDeferredAccountRepository(c, lock=not u.readonly),
}


class UnitOfWorkFactory:
    """Makes units of work bound to one engine and clock (wired in bootstrap)."""

    def __init__(self, engine: Engine, clock: Clock, audit: AuditSettings = NO_AUDIT) -> None:
        self.engine = engine
        self.clock = clock
        self.audit = audit

    def __call__(self, *, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, readonly=readonly, audit=self.audit)
