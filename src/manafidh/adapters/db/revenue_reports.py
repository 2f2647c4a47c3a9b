"""Revenue rollups by HS chapter, origin and trader, and the queries the reports run."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.write_queue import later
from manafidh.services.ports import Delta

_R = t.revenue_rollup


def _rollup_upsert(insert_for: Any) -> Any:
    stmt = insert_for(_R)
    return stmt.on_conflict_do_update(
        index_elements=[_R.c.dimension, _R.c.key, _R.c.crossing_code, _R.c.month],
        set_={
            "duty_iqd": _R.c.duty_iqd + stmt.excluded.duty_iqd,
            "customs_value_iqd": _R.c.customs_value_iqd + stmt.excluded.customs_value_iqd,
            "item_count": _R.c.item_count + stmt.excluded.item_count,
        },
    )


# Built once per dialect: building a statement per unit of work cost more than running it.
_BUMP = {"postgresql": _rollup_upsert(pg_insert), "sqlite": _rollup_upsert(sqlite_insert)}


class SqlRevenueRollupRepository:
    """The assessment rollup: one row per dimension, key, crossing and month."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._bump = _BUMP[conn.dialect.name]

    def bump(
        self,
        crossing_code: str,
        month: str,
        deltas: Sequence[Delta],
    ) -> None:
        """Add (dimension, key, duty, customs value, items) deltas, in key order (no deadlocks)."""
        if not deltas:
            return
        # Queued, and sent with the unit of work's next statement that waits for the server.
        later(
            self.conn,
            self._bump,
            [
                {
                    "dimension": dimension,
                    "key": key,
                    "crossing_code": crossing_code,
                    "month": month,
                    "duty_iqd": duty,
                    "customs_value_iqd": value,
                    "item_count": items,
                }
                for dimension, key, duty, value, items in sorted(deltas)
            ],
        )

    def by_dimension(
        self, dimension: str, *, since: str, until: str, crossing_code: str | None
    ) -> list[tuple[str, Decimal, Decimal, int]]:
        """(key, duty, customs value, items) over the months ``since``..``until`` inclusive."""
        q = (
            select(
                _R.c.key,
                func.sum(_R.c.duty_iqd),
                func.sum(_R.c.customs_value_iqd),
                func.sum(_R.c.item_count),
            )
            .where(_R.c.dimension == dimension, _R.c.month >= since, _R.c.month <= until)
            .group_by(_R.c.key)
        )
        if crossing_code is not None:
            q = q.where(_R.c.crossing_code == crossing_code)
        else:
            q = q.where(_R.c.crossing_code != "*")  # the traders' all-crossings rows
        return [(r[0], r[1], r[2], int(r[3])) for r in self.conn.execute(q)]

    def by_crossing_month(
        self, dimension: str, *, since: str, until: str
    ) -> list[tuple[str, str, Decimal, Decimal, int]]:
        """(crossing, month, duty, customs value, items) of one dimension summed over its keys,
        months ``since``..``until`` inclusive."""
        q = (
            select(
                _R.c.crossing_code,
                _R.c.month,
                func.sum(_R.c.duty_iqd),
                func.sum(_R.c.customs_value_iqd),
                func.sum(_R.c.item_count),
            )
            .where(_R.c.dimension == dimension, _R.c.month >= since, _R.c.month <= until)
            .where(_R.c.crossing_code != "*")
            .group_by(_R.c.crossing_code, _R.c.month)
        )
        return [(r[0], r[1], r[2], r[3], int(r[4])) for r in self.conn.execute(q)]
