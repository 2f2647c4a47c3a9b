"""Receipts issued for payments."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.write_queue import later
from manafidh.domain.revenue.receipts import Receipt

_R = t.receipts
_INSERT = insert(_R).inline()


class SqlReceiptRepository:
    """One receipt per payment (the bank's transaction id is unique)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, receipt: Receipt) -> None:
        """Store a new receipt."""
        later(self.conn, _INSERT, vars(receipt))

    def get(self, number: str) -> Receipt | None:
        """The receipt with this number."""
        row = self.conn.execute(select(_R).where(_R.c.number == number)).first()
        return Receipt(**row._mapping) if row is not None else None

    def of_payment(self, bank_transaction_id: str) -> Receipt | None:
        """The receipt of one payment."""
        row = self.conn.execute(
            select(_R).where(_R.c.bank_transaction_id == bank_transaction_id)
        ).first()
        return Receipt(**row._mapping) if row is not None else None
