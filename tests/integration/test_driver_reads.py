"""Hot reads on the driver's cursor (ADR 0014) give what SQLAlchemy's own path gives: the same
rows, the same values of the same types (exact decimals, aware instants, booleans, dates),
read by column name, and they see the writes their unit of work has queued."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from random import Random

from sqlalchemy import bindparam, insert, select
from tests.factories import content

from manafidh.adapters.db import driver_reads
from manafidh.adapters.db import repositories as r
from manafidh.adapters.db import tables as t
from manafidh.adapters.db.driver_statements import plan
from manafidh.adapters.db.generation import _COUNTER_VALUE
from manafidh.adapters.db.write_queue import later
from manafidh.services import declarations


def _lodged(container, make_user):
    trader = make_user("trader")
    with container.uow() as uow:
        return declarations.submit_lodgement(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=Random(1)
        )


def _same(conn, statement, parameters) -> list[tuple[object, ...]]:
    """Read both ways; assert equal rows and value types; return the rows."""
    assert plan(statement, conn.dialect, sorted(parameters), reads=True) is not None
    fast = driver_reads.rows(conn, statement, parameters)
    slow = conn.execute(statement, parameters).all()
    assert [tuple(x) for x in fast] == [tuple(x) for x in slow]
    for a, b in zip(fast, slow, strict=True):
        assert [type(v) for v in a] == [type(v) for v in b]
        for name in b._fields:
            assert getattr(a, name) == getattr(b, name)
    return [tuple(x) for x in fast]


def test_hot_reads_return_what_sqlalchemy_returns(container, make_user):
    lodged = _lodged(container, make_user)
    decl, order = lodged.declaration, lodged.order
    assert order is not None
    with container.uow() as uow:
        conn = uow.declarations.conn
        for full in (r._BY_ID, r._BY_REFERENCE, r._BY_KEY):
            key = decl.reference if full is r._BY_REFERENCE else decl.id
            (head,) = _same(conn, r._HEAD_OF[full], {"key": key})
            _same(conn, r._LOCKED_HEAD[r._HEAD_OF[full]], {"key": key})
        assert decl.reference in head
        assert any(isinstance(v, datetime) and v.tzinfo is not None for v in head)
        assert any(isinstance(v, bool) for v in head)
        (row,) = _same(conn, r._ORDER_BY_REFERENCE, {"key": order.reference})
        assert Decimal(order.amount_iqd) in row  # fils read back as exact IQD
        _same(conn, r._PAYMENTS_OF_ONE, {"id": order.id})
        _same(conn, _COUNTER_VALUE, {"name": "reference_generation"})


_RECEIPT_BY_NUMBER = select(t.receipts).where(t.receipts.c.number == bindparam("number"))


def test_a_hot_read_sees_the_writes_its_unit_of_work_queued(container):
    with container.uow() as uow:
        conn = uow.declarations.conn
        later(
            conn,
            insert(t.receipts).inline(),
            {
                "number": "R-QUEUED",
                "bank_transaction_id": "TX-QUEUED",
                "order_reference": "RF18SHL26000000001",
                "declaration_reference": "SHL-2026-000001",
                "crossing_code": "SHL",
                "amount_iqd": Decimal("12.500"),
                "paid_at": datetime(2026, 3, 15, 9, 30, tzinfo=UTC),
                "issued_at": datetime(2026, 3, 15, 9, 31, tzinfo=UTC),
            },
        )
        found = driver_reads.rows(conn, _RECEIPT_BY_NUMBER, {"number": "R-QUEUED"})
        assert [(x.number, x.amount_iqd) for x in found] == [("R-QUEUED", Decimal("12.500"))]
        assert found[0].paid_at == datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
        uow.rollback()
    with container.uow(readonly=True) as uow:
        conn = uow.declarations.conn
        assert driver_reads.rows(conn, _RECEIPT_BY_NUMBER, {"number": "R-QUEUED"}) == []


def test_counters_number_from_one_and_never_twice(container):
    with container.uow() as uow:
        taken = [uow.declarations.next_number("test:counter") for _ in range(3)]
        uow.commit()
    with container.uow() as uow:
        taken.append(uow.declarations.next_number("test:counter"))
        uow.commit()
    assert taken == [1, 2, 3, 4]
