"""Deferred-payment accounts, their events, charges and monthly statements."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from manafidh.adapters.db import tables as t
from manafidh.domain.revenue.deferred import (
    ZERO,
    AccountAction,
    AccountState,
    DeferredAccount,
    DeferredCharge,
    MonthlyStatement,
)

_A = t.deferred_accounts
_E = t.deferred_account_events
_C = t.deferred_charges
_S = t.deferred_statements


def _account(row: Any) -> DeferredAccount:
    m = dict(row._mapping)
    m["state"] = AccountState(m["state"])
    return DeferredAccount(**m)


def _statement(row: Any) -> MonthlyStatement:
    return MonthlyStatement(**row._mapping)


class SqlDeferredAccountRepository:
    """Accounts (locked when loaded for a change on PostgreSQL, so that two charges at once
    cannot both pass the limit), their events, charges and statements."""

    def __init__(self, conn: Connection, *, lock: bool = True) -> None:
        self.conn = conn
        self.lock = lock and conn.dialect.name == "postgresql"

    def add(self, account: DeferredAccount) -> None:
        """Store a newly approved account."""
        self.conn.execute(insert(_A), [{**vars(account), "state": account.state.value}])

    def get(self, number: str) -> DeferredAccount | None:
        """One account by its number."""
        q = select(_A).where(_A.c.number == number)
        if self.lock:
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return _account(row) if row is not None else None

    def all(self) -> list[DeferredAccount]:
        """Every account, by number."""
        return [_account(r) for r in self.conn.execute(select(_A).order_by(_A.c.number))]

    def save_state(self, number: str, state: AccountState) -> None:
        """Store a suspension or reinstatement (the event says who and why)."""
        self.conn.execute(update(_A).where(_A.c.number == number).values(state=state.value))

    def add_event(
        self, number: str, action: AccountAction, *, at: datetime, actor: str, reason: str
    ) -> None:
        """Record a change of the account with who, when and why."""
        self.conn.execute(
            insert(_E),
            [{"account": number, "action": action.value, "at": at, "actor": actor,
              "reason": reason}],
        )  # fmt: skip

    def events(self, number: str) -> list[dict[str, Any]]:
        """The account's changes, oldest first."""
        rows = self.conn.execute(
            select(_E.c.action, _E.c.at, _E.c.actor, _E.c.reason)
            .where(_E.c.account == number)
            .order_by(_E.c.id)
        )
        return [dict(r._mapping) for r in rows]

    def balance(self, number: str) -> Decimal:
        """What the trader owes: every charge less what transfers settled."""
        charged: Any = self.conn.execute(
            select(func.sum(_C.c.amount_iqd)).where(_C.c.account == number)
        ).scalar_one()
        settled: Any = self.conn.execute(
            select(func.sum(_S.c.settled_iqd)).where(_S.c.account == number)
        ).scalar_one()
        return (charged or ZERO) - (settled or ZERO)

    def add_charge(self, charge: DeferredCharge, month: str) -> None:
        """Store one order paid from the account."""
        self.conn.execute(insert(_C), [{**vars(charge), "month": month}])

    def charges(self, number: str, month: str) -> list[DeferredCharge]:
        """The charges of one month, oldest first."""
        rows = self.conn.execute(
            select(_C).where(_C.c.account == number, _C.c.month == month).order_by(_C.c.id)
        )
        return [
            DeferredCharge(
                account=r.account,
                order_reference=r.order_reference,
                declaration_reference=r.declaration_reference,
                crossing_code=r.crossing_code,
                amount_iqd=r.amount_iqd,
                charged_at=r.charged_at,
                charged_by=r.charged_by,
                statement_month=r.statement_month,
            )
            for r in rows
        ]

    def add_statement(self, s: MonthlyStatement) -> None:
        """Store a statement and tie the month's charges to it."""
        self.conn.execute(insert(_S), [vars(s)])
        self.conn.execute(
            update(_C)
            .where(_C.c.account == s.account, _C.c.month == s.month)
            .values(statement_month=s.month)
        )

    def statement(self, number: str, month: str) -> MonthlyStatement | None:
        """One month's statement of an account."""
        q = select(_S).where(_S.c.account == number, _S.c.month == month)
        row = self.conn.execute(q).first()
        return _statement(row) if row is not None else None

    def statement_by_reference(self, reference: str) -> MonthlyStatement | None:
        """The statement a bank transfer quotes (locked for the settlement on PostgreSQL)."""
        q = select(_S).where(_S.c.reference == reference)
        if self.lock:
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return _statement(row) if row is not None else None

    def statements(self, number: str) -> list[MonthlyStatement]:
        """Every statement of an account, by month."""
        rows = self.conn.execute(select(_S).where(_S.c.account == number).order_by(_S.c.month))
        return [_statement(r) for r in rows]

    def save_settled(self, s: MonthlyStatement) -> None:
        """Store what transfers have settled of a statement."""
        self.conn.execute(
            update(_S)
            .where(_S.c.account == s.account, _S.c.month == s.month)
            .values(settled_iqd=s.settled_iqd)
        )
