"""Refunds and their approval."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from manafidh.adapters.db import tables as t
from manafidh.domain.revenue.refunds import Refund

_F = t.refunds


class SqlRefundRepository:
    """Refunds, locked when loaded for approval on PostgreSQL."""

    def __init__(self, conn: Connection, *, lock: bool = True) -> None:
        self.conn = conn
        self.lock = lock and conn.dialect.name == "postgresql"

    def add(self, refund: Refund) -> None:
        """Store a proposed refund."""
        self.conn.execute(insert(_F), [vars(refund)])

    def get(self, refund_id: str) -> Refund | None:
        """One refund."""
        q = select(_F).where(_F.c.id == refund_id)
        if self.lock:
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return Refund(**row._mapping) if row is not None else None

    def of_declaration(self, declaration_id: str) -> list[Refund]:
        """Every refund of a declaration."""
        rows = self.conn.execute(select(_F).where(_F.c.declaration_id == declaration_id))
        return [Refund(**r._mapping) for r in rows]

    def save(self, refund: Refund) -> None:
        """Store an approval."""
        self.conn.execute(
            update(_F)
            .where(_F.c.id == refund.id)
            .values(
                state=refund.state,
                approved_by=refund.approved_by,
                approved_at=refund.approved_at,
                approval_reason=refund.approval_reason,
            )
        )
