"""The unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from sqlalchemy import Connection, Engine

from manafidh.adapters.db.audit import SqlAuditLog
from manafidh.adapters.db.audit_records import SqlAuditRecords
from manafidh.adapters.db.devices import SqlDeviceRepository
from manafidh.adapters.db.exemptions import SqlExemptionRepository
from manafidh.adapters.db.gate_control import SqlGateControlRepository, SqlMonitoringReads
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
        self.devices = SqlDeviceRepository(conn)
        self.gate_control = SqlGateControlRepository(conn)
        self.monitoring = SqlMonitoringReads(conn)
        self.tariff = SqlTariffRepository(conn)
        self.exemptions = SqlExemptionRepository(conn)
        self.ledger = SqlLedgerRepository(conn)
        self.reconciliation = SqlReconciliationRepository(conn, lock=not self.readonly)
        self.valuation = SqlValuationRepository(conn)
        self.investment = SqlInvestmentRepository(conn)
        self.revenue_rollup = SqlRevenueRollupRepository(conn)
        self.receipts = SqlReceiptRepository(conn)
        self.refunds = SqlRefundRepository(conn, lock=not self.readonly)
        self.risk = SqlRiskRepository(conn)
        return self

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
