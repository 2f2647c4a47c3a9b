"""The revenue ledger's tables: postings, their lines, and daily movements kept in step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.write_queue import later
from manafidh.domain.clock import local_date
from manafidh.domain.revenue.ledger import ZERO, Kind, Line, Posting

_P = t.ledger_postings
_L = t.ledger_lines
_D = t.ledger_daily


def _daily_upsert(insert_for: Any) -> Any:
    stmt = insert_for(_D)
    return stmt.on_conflict_do_update(
        index_elements=[_D.c.account, _D.c.crossing_code, _D.c.day, _D.c.kind],
        set_={"amount_iqd": _D.c.amount_iqd + stmt.excluded.amount_iqd},
    )


def _posting_insert(insert_for: Any) -> Any:
    # A key already in the books inserts nothing and returns no row: one statement, where
    # asking first and then inserting took two round trips on every posting.
    return insert_for(_P).on_conflict_do_nothing(index_elements=[_P.c.key]).returning(_P.c.id)


# Built once per dialect: building a statement per unit of work cost more than running it.
_BUMP = {"postgresql": _daily_upsert(pg_insert), "sqlite": _daily_upsert(sqlite_insert)}
_INSERT_LINE = insert(_L).inline()
_ADD = {"postgresql": _posting_insert(pg_insert), "sqlite": _posting_insert(sqlite_insert)}


class SqlLedgerRepository:
    """Postings, each written once with its lines and its effect on the daily movements."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._bump = _BUMP[conn.dialect.name]
        self._add = _ADD[conn.dialect.name]

    def has(self, key: str) -> bool:
        """True when a posting with this key exists."""
        return self.conn.execute(select(_P.c.id).where(_P.c.key == key)).first() is not None

    def add(self, posting: Posting) -> bool:
        """Write a posting, its lines and the daily movements; False if its key is in already."""
        pid = self.conn.execute(
            self._add,
            {
                "key": posting.key,
                "kind": posting.kind.value,
                "at": posting.at,
                "crossing_code": posting.crossing_code,
                "actor": posting.actor,
                "declaration_id": posting.declaration_id,
                "order_id": posting.order_id,
                "memo": posting.memo,
            },
        ).scalar()
        if pid is None:
            return False
        later(
            self.conn,
            _INSERT_LINE,
            [
                {"posting_id": pid, "account": x.account, "amount_iqd": x.amount}
                for x in posting.lines
            ],
        )
        day = local_date(posting.at)
        # Sorted, so that concurrent postings lock the rollup rows in the same order; queued,
        # and sent with the unit of work's next statement that waits for the server.
        later(
            self.conn,
            self._bump,
            [
                {
                    "account": line.account,
                    "crossing_code": posting.crossing_code,
                    "day": day,
                    "kind": posting.kind.value,
                    "amount_iqd": line.amount,
                }
                for line in sorted(posting.lines, key=lambda x: x.account)
            ],
        )
        return True

    def postings(
        self, *, order_id: str | None = None, declaration_id: str | None = None
    ) -> list[Posting]:
        """Postings of one order or declaration (or all), oldest first."""
        q = select(_P).order_by(_P.c.id)
        if order_id is not None:
            q = q.where(_P.c.order_id == order_id)
        if declaration_id is not None:
            q = q.where(_P.c.declaration_id == declaration_id)
        rows = self.conn.execute(q).all()
        if not rows:
            return []
        lines: dict[int, list[Line]] = {}
        for r in self.conn.execute(
            select(_L).where(_L.c.posting_id.in_([r.id for r in rows])).order_by(_L.c.id)
        ):
            lines.setdefault(r.posting_id, []).append(Line(r.account, r.amount_iqd))
        return [
            Posting(
                key=r.key,
                kind=Kind(r.kind),
                at=r.at,
                crossing_code=r.crossing_code,
                actor=r.actor,
                lines=tuple(lines.get(r.id, [])),
                declaration_id=r.declaration_id,
                order_id=r.order_id,
                memo=r.memo,
            )
            for r in rows
        ]

    def balances(self) -> dict[str, Decimal]:
        """Balance of every account, summed from the lines themselves (not the rollup)."""
        rows = self.conn.execute(
            select(_L.c.account, func.sum(_L.c.amount_iqd)).group_by(_L.c.account)
        )
        return {r[0]: r[1] if r[1] is not None else ZERO for r in rows}

    def daily(
        self, *, since: date, until: date, crossing_code: str | None = None
    ) -> list[tuple[str, str, date, str, Decimal]]:
        """(account, crossing, day, kind, movement) rows of the rollup, days inclusive."""
        q = select(_D.c.account, _D.c.crossing_code, _D.c.day, _D.c.kind, _D.c.amount_iqd).where(
            _D.c.day >= since, _D.c.day <= until
        )
        if crossing_code is not None:
            q = q.where(_D.c.crossing_code == crossing_code)
        return [(r[0], r[1], r[2], r[3], r[4]) for r in self.conn.execute(q)]

    def monthly(
        self, *, since: date, until: date, accounts: Sequence[str], account_prefix: str
    ) -> list[tuple[str, str, str, str, Decimal]]:
        """(account, crossing, month YYYY-MM, kind, movement) summed per month in SQL, for the
        named accounts and those starting with ``account_prefix``."""
        if self.conn.dialect.name == "postgresql":
            month = func.to_char(_D.c.day, "YYYY-MM")
        else:
            month = func.strftime("%Y-%m", _D.c.day)
        m = month.label("month")
        q = (
            select(_D.c.account, _D.c.crossing_code, m, _D.c.kind, func.sum(_D.c.amount_iqd))
            .where(_D.c.day >= since, _D.c.day <= until)
            .where(or_(_D.c.account.in_(list(accounts)), _D.c.account.startswith(account_prefix)))
            .group_by(_D.c.account, _D.c.crossing_code, m, _D.c.kind)
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in self.conn.execute(q)]

    def count(self) -> int:
        """How many postings exist."""
        n: Any = self.conn.execute(select(func.count()).select_from(_P)).scalar_one()
        return int(n)
