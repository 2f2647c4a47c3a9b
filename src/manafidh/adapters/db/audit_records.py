"""The business records audit entries fix, read back as domain objects for comparison."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import Connection, select

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.repositories import SqlDeclarationRepository, SqlUserRepository
from manafidh.domain.declarations.model import Content, Lane
from manafidh.domain.identity import User
from manafidh.domain.payments.orders import Payment
from manafidh.domain.risk.lanes import LaneDecision
from manafidh.domain.tariff.assessment import Assessment

BATCH = 500


class SqlAuditRecords:
    """Reads declarations, versions, lanes, assessments, orders, payments, checks, users."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def declarations(self) -> Iterator[tuple[str, str, str, str | None]]:
        """(id, reference, state, lane) of every declaration."""
        c = t.declarations.c
        for r in self.conn.execute(select(c.id, c.reference, c.state, c.lane).order_by(c.id)):
            yield r.id, r.reference, r.state, r.lane

    def versions(self) -> Iterator[tuple[str, str, int, Content]]:
        """(declaration id, reference, version number, content) of every version."""
        c = t.declarations.c
        refs = {r.id: r.reference for r in self.conn.execute(select(c.id, c.reference))}
        ids = sorted(refs)
        repo = SqlDeclarationRepository(self.conn, lock=False)
        for n in range(0, len(ids), BATCH):
            for decl_id, versions in repo._versions(ids[n : n + BATCH]).items():
                for v in versions:
                    yield decl_id, refs[decl_id], v.number, v.content

    def lane_decisions(self) -> Iterator[tuple[str, str, LaneDecision]]:
        """(declaration id, reference, decision) of every stored lane decision."""
        ld, d = t.lane_decisions.c, t.declarations.c
        rows = self.conn.execute(
            select(t.lane_decisions, d.reference)
            .join(t.declarations, d.id == ld.declaration_id)
            .order_by(ld.id)
        )
        for r in rows:
            decision = LaneDecision(
                Lane(r.lane),
                list(r.reasons),
                list(r.matched_rule_ids),
                r.random_draw,
                r.random_rate,
                r.random_selected,
            )
            yield r.declaration_id, r.reference, decision

    def assessments(self) -> Iterator[tuple[str, Assessment]]:
        """(declaration reference, assessment without lines) of every assessment."""
        a, d = t.assessments.c, t.declarations.c
        rows = self.conn.execute(
            select(t.assessments, d.reference)
            .join(t.declarations, d.id == a.declaration_id)
            .order_by(a.assessed_at, a.id)
        )
        for r in rows:
            yield (
                r.reference,
                Assessment(
                    id=r.id,
                    declaration_id=r.declaration_id,
                    version_number=r.version_number,
                    assessed_at=r.assessed_at,
                    acceptance_date=r.acceptance_date,
                    invoice_currency=r.invoice_currency,
                    exchange_rate=r.exchange_rate,
                    exchange_rate_source=r.exchange_rate_source,
                    exchange_rate_valid_from=r.exchange_rate_valid_from,
                    customs_value_iqd=r.customs_value_iqd,
                    duty_iqd=r.duty_iqd,
                    total_due_iqd=r.total_due_iqd,
                ),
            )

    def orders(self) -> Iterator[tuple[str, str, str, Decimal]]:
        """(declaration id, declaration reference, order reference, amount) of every order."""
        o, d = t.payment_orders.c, t.declarations.c
        rows = self.conn.execute(
            select(o.declaration_id, d.reference.label("declaration"), o.reference, o.amount_iqd)
            .join(t.declarations, d.id == o.declaration_id)
            .order_by(o.created_at, o.id)
        )
        for r in rows:
            yield r.declaration_id, r.declaration, r.reference, r.amount_iqd

    def payments(self) -> Iterator[tuple[str, str, str, Payment]]:
        """(order reference, declaration id, declaration reference, payment) of every payment."""
        p, o, d = t.payments.c, t.payment_orders.c, t.declarations.c
        rows = self.conn.execute(
            select(
                t.payments,
                o.reference.label("order_reference"),
                o.declaration_id,
                d.reference.label("declaration"),
            )
            .join(t.payment_orders, o.id == p.order_id)
            .join(t.declarations, d.id == o.declaration_id)
            .order_by(p.id)
        )
        for r in rows:
            payment = Payment(
                r.bank_transaction_id, r.amount_iqd, r.paid_at, r.received_at, r.channel
            )
            yield r.order_reference, r.declaration_id, r.declaration, payment

    def checks(self) -> Iterator[tuple[str, str, int, str, bool, str | None]]:
        """(declaration id, reference, check id, kind, found, fraud kind) of every check."""
        k, d = t.checks.c, t.declarations.c
        rows = self.conn.execute(
            select(t.checks, d.reference)
            .join(t.declarations, d.id == k.declaration_id)
            .order_by(k.id)
        )
        for r in rows:
            yield r.declaration_id, r.reference, r.id, r.kind, r.found, r.fraud_kind

    def users(self) -> Iterator[User]:
        """Every user, as the users table holds it."""
        yield from SqlUserRepository(self.conn).all()
