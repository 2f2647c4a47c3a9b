"""Writes held back for one round trip (ADR 0012) behave as if they had been sent at once:
later reads of the same unit of work see them, a failing one fails the whole unit of work with
the usual error, and a rolled-back unit of work leaves nothing queued for the next user of its
pooled connection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.write_queue import later

_AT = datetime(2026, 3, 15, 6, 0, tzinfo=UTC)
_INSERT_CHECK = insert(t.checks).inline()


def _check(declaration_id: str, notes: str) -> dict[str, object]:
    return {
        "declaration_id": declaration_id,
        "kind": "document",
        "actor": "officer",
        "at": _AT,
        "found": False,
        "fraud_kind": None,
        "notes": notes,
    }


def _lodged(container, make_user) -> str:
    from random import Random

    from tests.factories import content

    from manafidh.services import declarations

    trader = make_user("trader")
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=Random(1)
        )
    return decl.id


def _checks(container, declaration_id: str) -> list[str]:
    with container.uow(readonly=True) as uow:
        c = t.checks.c
        rows = uow.declarations.conn.execute(
            select(c.notes).where(c.declaration_id == declaration_id).order_by(c.id)
        )
        return [r.notes for r in rows]


def test_a_read_in_the_same_unit_of_work_sees_the_queued_writes(container, make_user):
    decl = _lodged(container, make_user)
    with container.uow() as uow:
        conn = uow.declarations.conn
        later(conn, _INSERT_CHECK, _check(decl, "first"))
        later(conn, _INSERT_CHECK, [_check(decl, "second"), _check(decl, "third")])
        seen = conn.execute(
            select(func.count()).select_from(t.checks).where(t.checks.c.declaration_id == decl)
        ).scalar_one()
        assert seen == 3
        uow.commit()
    assert _checks(container, decl) == ["first", "second", "third"]


def test_queued_writes_are_kept_only_when_the_unit_of_work_commits(container, make_user):
    decl = _lodged(container, make_user)
    with container.uow() as uow:
        later(uow.declarations.conn, _INSERT_CHECK, _check(decl, "never sent"))
        # leaving without commit rolls back: the queue goes with it
    with container.uow() as uow:
        later(uow.declarations.conn, _INSERT_CHECK, _check(decl, "kept"))
        uow.commit()
    assert _checks(container, decl) == ["kept"]


def test_a_failing_queued_write_fails_the_commit_and_keeps_nothing(container, make_user):
    decl = _lodged(container, make_user)
    with container.uow() as uow:
        conn = uow.declarations.conn
        later(conn, _INSERT_CHECK, _check(decl, "before the bad row"))
        later(conn, _INSERT_CHECK, _check("no-such-declaration", "breaks the foreign key"))
        uow.audit.append(
            at=_AT,
            actor="officer",
            role="officer",
            crossing="SHL",
            action="check.recorded",
            subject=f"declaration:{decl}",
            payload={"notes": "before the bad row"},
        )
        with pytest.raises(IntegrityError):
            uow.commit()
    assert _checks(container, decl) == []
    with container.uow(readonly=True) as uow:  # the audit entry went with the rest
        assert uow.audit.entries(
            subject=f"declaration:{decl}", actor="officer", action=None, since=None,
            until=None, limit=10, offset=0,
        ) == []  # fmt: skip


def test_a_queued_write_stores_the_same_values_as_sqlalchemys_own_path(container):
    from datetime import timedelta, timezone
    from decimal import Decimal

    from manafidh.adapters.db.driver_statements import plan

    baghdad = timezone(timedelta(hours=3))
    statement = insert(t.receipts).inline()

    def receipt(number: str) -> dict[str, object]:
        return {
            "number": number,
            "bank_transaction_id": f"TX-{number}",
            "order_reference": "RF18SHL26000000001",
            "declaration_reference": "SHL-2026-000001",
            "crossing_code": "SHL",
            "amount_iqd": Decimal("673995.250"),  # fils, stored as an integer count
            "paid_at": datetime(2026, 3, 15, 9, 30, tzinfo=baghdad),  # stored in UTC
            "issued_at": _AT,
        }

    with container.uow() as uow:
        conn = uow.declarations.conn
        assert plan(statement, conn.dialect, sorted(receipt("A"))) is not None  # the fast path
        later(conn, statement, receipt("QUEUED"))
        conn.execute(statement, receipt("DIRECT"))  # sends the queue first
        uow.commit()
    with container.uow(readonly=True) as uow:
        c = t.receipts.c
        rows = {
            r.number: tuple(r)[1:]
            for r in uow.declarations.conn.execute(select(t.receipts).order_by(c.number))
        }
    queued, direct = rows.pop("QUEUED"), rows.pop("DIRECT")
    assert queued[1:] == direct[1:]  # all but the transaction id, which differs by design
    assert queued[4] == Decimal("673995.250")
    assert queued[5] == datetime(2026, 3, 15, 6, 30, tzinfo=UTC)


def test_a_statement_that_needs_a_returned_id_gets_no_driver_plan(container):
    from manafidh.adapters.db.driver_statements import plan

    with container.uow(readonly=True) as uow:
        dialect = uow.declarations.conn.dialect
    names = sorted(_check("x", "y"))
    assert plan(insert(t.checks).inline(), dialect, names) is not None
    returning = insert(t.checks).returning(t.checks.c.id)
    assert plan(returning, dialect, names) is None


def test_a_queued_insert_that_would_return_its_generated_key_is_refused(container):
    # A queued write's result is never read; one with RETURNING (on PostgreSQL even the key
    # SQLAlchemy fetches back for a plain insert) would break the pipeline it travels in, so it
    # is refused by name.
    with container.uow() as uow:
        conn = uow.declarations.conn
        plain = insert(t.checks)  # SQLite hands the key over without RETURNING
        statement = plain if conn.dialect.name == "postgresql" else plain.returning(t.checks.c.id)
        later(conn, statement, _check("x", "not inline"))
        with pytest.raises(TypeError, match=r"\.inline\(\)"):
            uow.commit()
