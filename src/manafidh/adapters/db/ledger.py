"""The revenue ledger's tables: postings, their lines, and daily movements kept in step."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.write_queue import later
from manafidh.domain.clock import local_date
from manafidh.domain.revenue.ledger import ZERO, Kind, Line, Posting

_P = t.ledger_postings
_L = t.ledger_lines
_D = t.ledger_daily


def _new_posting(insert_for: Any) -> Any:
    # A key already in the books inserts nothing: a repeated business event never counts twice.
    return insert_for(_P).on_conflict_do_nothing(index_elements=[_P.c.key]).inline()


# Built once per dialect: building a statement per unit of work cost more than running it.
_ADD = {"postgresql": _new_posting(pg_insert), "sqlite": _new_posting(sqlite_insert)}
_INSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def _rows(count: int) -> Any:
    """The posting ``:key`` (only while it has no lines: just inserted, not found again) joined
    with ``count`` rows of ``(n, account, amount_iqd)`` given as parameters."""
    rows = union_all(
        *(
            select(
                literal_column(str(i), Integer).label("n"),
                bindparam(f"account_{i}", type_=_L.c.account.type).label("account"),
                bindparam(f"amount_{i}", type_=_L.c.amount_iqd.type).label("amount_iqd"),
            )
            for i in range(count)
        )
    ).subquery("v")
    lines = _L.alias("x")
    new = ~exists().where(lines.c.posting_id == _P.c.id)
    return rows, (_P.c.key == bindparam("key")) & new


@functools.cache
def _lines(count: int) -> Any:
    """INSERT the ``count`` lines of the posting ``:key``, unless it has lines already."""
    rows, new = _rows(count)
    query = select(_P.c.id, rows.c.account, rows.c.amount_iqd).where(new).order_by(rows.c.n)
    return insert(_L).from_select(["posting_id", "account", "amount_iqd"], query)


@functools.cache
def _daily(dialect: str, count: int) -> Any:
    """Add ``count`` accounts' amounts to their day, unless the posting ``:key`` has lines
    already (it must run before the lines are written)."""
    rows, new = _rows(count)
    query = select(
        rows.c.account,
        _P.c.crossing_code,
        bindparam("day", type_=_D.c.day.type),
        _P.c.kind,
        rows.c.amount_iqd,
    ).where(new)
    # In the given order (sorted by account): concurrent postings lock the same rows in the
    # same order, whatever join the planner picks.
    query = query.order_by(rows.c.n)
    stmt = _INSERTS[dialect](_D).from_select(
        ["account", "crossing_code", "day", "kind", "amount_iqd"], query
    )
    return stmt.on_conflict_do_update(
        index_elements=[_D.c.account, _D.c.crossing_code, _D.c.day, _D.c.kind],
        set_={"amount_iqd": _D.c.amount_iqd + stmt.excluded.amount_iqd},
    )


class SqlLedgerRepository:
    """Postings, each written once with its lines and its effect on the daily movements."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._dialect = conn.dialect.name
        self._add = _ADD[self._dialect]

    def has(self, key: str) -> bool:
        """True when a posting with this key exists."""
        return self.conn.execute(select(_P.c.id).where(_P.c.key == key)).first() is not None

    def add(self, posting: Posting) -> None:
        """Write a posting, its lines and the daily movements, unless its key is in already.

        Three queued statements, no round trip of their own: the lines and the day's movements
        are written only while the posting has no lines, that is when this transaction has
        just inserted it, and not when its key was found in the books already.
        """
        key = posting.key
        later(
            self.conn,
            self._add,
            {
                "key": key,
                "kind": posting.kind.value,
                "at": posting.at,
                "crossing_code": posting.crossing_code,
                "actor": posting.actor,
                "declaration_id": posting.declaration_id,
                "order_id": posting.order_id,
                "memo": posting.memo,
            },
        )
        # One row per account, sorted: one statement may not update a day's row twice, and
        # concurrent postings lock the rollup rows in the same order.
        by_account: dict[str, Decimal] = {}
        for line in posting.lines:
            by_account[line.account] = by_account.get(line.account, ZERO) + line.amount
        moved = sorted(by_account.items())
        later(
            self.conn,
            _daily(self._dialect, len(moved)),
            {
                "key": key,
                "day": local_date(posting.at),
                **_numbered(moved),
            },
        )
        later(
            self.conn,
            _lines(len(posting.lines)),
            {"key": key, **_numbered([(x.account, x.amount) for x in posting.lines])},
        )

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


def _numbered(pairs: Sequence[tuple[str, Decimal]]) -> dict[str, Any]:
    """The parameters ``account_<n>`` and ``amount_<n>`` of ``_rows``."""
    out: dict[str, Any] = {}
    for i, (account, amount) in enumerate(pairs):
        out[f"account_{i}"] = account
        out[f"amount_{i}"] = amount
    return out
