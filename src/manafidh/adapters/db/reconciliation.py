"""Bank statements, their entries, and the exceptions queue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, func, insert, or_, select, update

from manafidh.adapters.db import tables as t
from manafidh.domain.revenue.statements import (
    Outcome,
    ReconciliationException,
    Resolution,
    Statement,
    StatementEntry,
)

_S = t.bank_statements
_E = t.statement_entries
_X = t.reconciliation_exceptions


class SqlReconciliationRepository:
    """Statements (each id once), entries (each statement + bank reference once), exceptions."""

    def __init__(self, conn: Connection, *, lock: bool = True) -> None:
        self.conn = conn
        self.lock = lock and conn.dialect.name == "postgresql"

    def statement_pk(self, statement_id: str) -> int | None:
        """The row id of a statement already imported, if any."""
        pk: Any = self.conn.execute(
            select(_S.c.id).where(_S.c.statement_id == statement_id)
        ).scalar_one_or_none()
        return int(pk) if pk is not None else None

    def add_statement(self, statement: Statement, *, at: datetime, by: str, digest: str) -> int:
        """Record a statement's header; returns its row id."""
        pk: Any = self.conn.execute(
            insert(_S).returning(_S.c.id),
            {
                "statement_id": statement.statement_id,
                "account": statement.account,
                "format": statement.format,
                "created_at": statement.created_at,
                "imported_at": at,
                "imported_by": by,
                "digest": digest,
            },
        ).scalar_one()
        return int(pk)

    def entry_refs(self, statement_pk: int) -> set[str]:
        """The bank references already recorded for this statement."""
        rows = self.conn.execute(select(_E.c.entry_ref).where(_E.c.statement_pk == statement_pk))
        return {r[0] for r in rows}

    def seen_credit(self, account: str, entry_ref: str) -> bool:
        """True when an earlier statement of ``account`` already listed this credit."""
        q = select(_E.c.id).where(
            _E.c.entry_ref == entry_ref, _E.c.account == account, _E.c.credit.is_(True)
        )
        return self.conn.execute(q.limit(1)).first() is not None

    def add_entry(
        self,
        statement_pk: int,
        account: str,
        entry: StatementEntry,
        *,
        reference: str | None,
        outcome: Outcome,
        order_id: str | None,
    ) -> int:
        """Record one entry and what it turned out to be; returns its row id."""
        pk: Any = self.conn.execute(
            insert(_E).returning(_E.c.id),
            {
                "statement_pk": statement_pk,
                "account": account,
                "entry_ref": entry.entry_ref,
                "booking_date": entry.booking_date,
                "value_date": entry.value_date,
                "amount_iqd": entry.amount_iqd,
                "credit": entry.credit,
                "remittance": entry.remittance[:1000],
                "reference": reference,
                "outcome": outcome.value,
                "order_id": order_id,
            },
        ).scalar_one()
        return int(pk)

    def open_exception(self, x: ReconciliationException) -> int:
        """Queue an exception; returns its id."""
        pk: Any = self.conn.execute(
            insert(_X).returning(_X.c.id),
            {
                "entry_id": x.entry_id,
                "kind": x.kind.value,
                "state": "open",
                "amount_iqd": x.amount_iqd,
                "held_iqd": x.held_iqd,
                "reference": x.reference,
                "order_id": x.order_id,
                "crossing_code": x.crossing_code,
                "opened_at": x.opened_at,
            },
        ).scalar_one()
        x.id = int(pk)
        return x.id

    def _query(self) -> Any:
        return select(_X, _E.c.entry_ref, _E.c.remittance).join(_E, _E.c.id == _X.c.entry_id)

    @staticmethod
    def _of(r: Row[Any]) -> ReconciliationException:
        return ReconciliationException(
            id=r.id,
            entry_id=r.entry_id,
            entry_ref=r.entry_ref,
            kind=Outcome(r.kind),
            amount_iqd=r.amount_iqd,
            held_iqd=r.held_iqd,
            reference=r.reference,
            order_id=r.order_id,
            crossing_code=r.crossing_code,
            opened_at=r.opened_at,
            remittance=r.remittance,
            state=r.state,
            resolved_at=r.resolved_at,
            resolved_by=r.resolved_by,
            resolution=Resolution(r.resolution) if r.resolution else None,
            reason=r.reason,
        )

    def exception(self, exception_id: int) -> ReconciliationException | None:
        """One exception (locked for writing on PostgreSQL)."""
        q = self._query().where(_X.c.id == exception_id)
        if self.lock:
            q = q.with_for_update(of=_X)
        row = self.conn.execute(q).first()
        return self._of(row) if row is not None else None

    def exceptions(
        self, *, state: str | None, kind: str | None, limit: int, offset: int
    ) -> list[ReconciliationException]:
        """The queue, oldest first."""
        q = self._query()
        if state is not None:
            q = q.where(_X.c.state == state)
        if kind is not None:
            q = q.where(_X.c.kind == kind)
        rows = self.conn.execute(q.order_by(_X.c.id).limit(limit).offset(offset))
        return [self._of(r) for r in rows]

    def open_partials(self, order_id: str) -> list[ReconciliationException]:
        """Open 'partial' exceptions of one order."""
        q = self._query().where(
            _X.c.order_id == order_id, _X.c.state == "open", _X.c.kind == Outcome.PARTIAL.value
        )
        return [self._of(r) for r in self.conn.execute(q)]

    def save_resolution(self, x: ReconciliationException) -> None:
        """Store how an exception was closed."""
        self.conn.execute(
            update(_X)
            .where(_X.c.id == x.id)
            .values(
                state=x.state,
                resolved_at=x.resolved_at,
                resolved_by=x.resolved_by,
                resolution=x.resolution.value if x.resolution else None,
                reason=x.reason,
            )
        )

    def outcome_counts(self) -> dict[str, int]:
        """How many credit entries ended in each outcome."""
        rows = self.conn.execute(
            select(_E.c.outcome, func.count()).where(_E.c.credit.is_(True)).group_by(_E.c.outcome)
        )
        return {r[0]: int(r[1]) for r in rows}

    def open_count(self) -> int:
        """How many exceptions are still open."""
        n: Any = self.conn.execute(
            select(func.count()).select_from(_X).where(_X.c.state == "open")
        ).scalar_one()
        return int(n)

    def officer_count(self) -> int:
        """Exceptions that are open or were closed by a person (not by a later credit)."""
        n: Any = self.conn.execute(
            select(func.count())
            .select_from(_X)
            .where(or_(_X.c.resolution.is_(None), _X.c.resolution != Resolution.SETTLED.value))
        ).scalar_one()
        return int(n)

    def held_total(self) -> Decimal:
        """Money still held by open exceptions."""
        n: Any = self.conn.execute(
            select(func.sum(_X.c.held_iqd)).where(_X.c.state == "open")
        ).scalar_one()
        return n if n is not None else Decimal("0.000")

    def statements(self, *, limit: int) -> list[tuple[str, str, str, datetime, str, int, Decimal]]:
        """Statements, newest import first: (id, account, format, imported at, by, entries,
        credits in IQD)."""
        credits = func.coalesce(func.sum(_E.c.amount_iqd).filter(_E.c.credit.is_(True)), 0)
        rows = self.conn.execute(
            select(
                _S.c.statement_id,
                _S.c.account,
                _S.c.format,
                _S.c.imported_at,
                _S.c.imported_by,
                func.count(_E.c.id),
                credits,
            )
            .select_from(_S.outerjoin(_E, _E.c.statement_pk == _S.c.id))
            .group_by(_S.c.id)
            .order_by(_S.c.imported_at.desc(), _S.c.id.desc())
            .limit(limit)
        )
        return [(r[0], r[1], r[2], r[3], r[4], int(r[5]), Decimal(r[6])) for r in rows]


def orders_a_bank_would_see(conn: Connection) -> list[tuple[str, Decimal, datetime, str | None]]:
    """(reference, amount, when, callback transaction id) for the statement simulator: each
    payment announced by callback, and each open order's outstanding amount."""
    o, p = t.payment_orders.c, t.payments.c
    out: list[tuple[str, Decimal, datetime, str | None]] = [
        (r.reference, r.amount_iqd, r.received_at, r.bank_transaction_id)
        for r in conn.execute(
            select(o.reference, p.amount_iqd, p.received_at, p.bank_transaction_id)
            .select_from(t.payment_orders)
            .join(t.payments, p.order_id == o.id)
            .where(p.channel == "bank_transfer")
            .order_by(p.id)
        )
    ]
    paid: dict[str, Decimal] = {}
    for oid, amount in conn.execute(select(p.order_id, p.amount_iqd)):
        paid[oid] = paid.get(oid, Decimal(0)) + amount
    for r in conn.execute(
        select(o.id, o.reference, o.amount_iqd, o.created_at)
        .where(o.state == "open")
        .order_by(o.id)
    ):
        due = r.amount_iqd - paid.get(r.id, Decimal(0))
        if due > 0:
            out.append((r.reference, due, r.created_at, None))
    return out
