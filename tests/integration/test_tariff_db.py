"""Tariff measures in the database: import, assessment at lodging, explanation, rollback."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tests.factories import content, item

from manafidh.adapters.db import tables as t
from manafidh.domain.errors import Forbidden, ValidationFailed
from manafidh.domain.tariff.measures import GoodsProhibited
from manafidh.services import declarations, tariff

D = date(2026, 3, 15)  # the container clock's day


def _row(**over):
    return {
        "code": "690721",
        "measure_type": "import_duty",
        "origin": "ALL",
        "valid_from": "2026-01-01",
        "valid_to": "",
        "legal_reference": "Decision 12 of 2026 (test)",
        "expression": "5%",
    } | over


def _import(container, *rows, actor=None, source="test.csv"):
    with container.uow() as uow:
        return tariff.import_measures(
            uow=uow, actor=actor, rows=list(enumerate(rows, start=2)), source=source
        )


def _count(container, table):
    with container.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def _submit(container, trader, items):
    with container.uow() as uow:
        return declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=items, freight=Decimal(0), insurance=Decimal(0)),
            rng=random.Random(1),
        )


def test_lodging_assesses_under_the_measures_and_stores_the_ones_it_used(container, make_user):
    _import(
        container,
        _row(expression="10% + 2 USD / 100 kg"),
        _row(code="39", expression="3%", origin="IR"),
    )
    trader = make_user("trader")
    decl = _submit(
        container,
        trader,
        [
            item(1, invoice_value=Decimal("1000.00")),
            item(2, hs_code="392310", invoice_value=Decimal("500.00")),
            item(3, hs_code="010121", invoice_value=Decimal("100.00")),  # schedule fallback
        ],
    )
    with container.uow() as uow:
        a = uow.declarations.latest_assessment(decl.id)
        uses = uow.tariff.uses_of(a.id)
    # Line 1: 10% of 1,310,000 + 2 USD x 300 = 600 USD = 786,000 IQD.
    assert a.lines[0].duty_iqd == Decimal("917000")
    assert a.lines[1].duty_iqd == Decimal("19650")  # 3% of 655,000, for origin IR
    assert a.lines[2].legal_reference.startswith("Customs Tariff Law") or a.lines[2].rate_id
    assert [(u["line_no"], u["expression"]) for u in uses] == [
        (1, "10% + 2 USD / 100 kg"),
        (2, "3%"),
    ]
    assert uses[0]["duty_iqd"] == Decimal("917000")
    assert "USD at 1310 IQD" in a.lines[0].explanation


def test_an_assessment_keeps_its_measures_after_a_rollback(container, make_user):
    _import(container, _row(expression="7%"))
    trader = make_user("trader")
    decl = _submit(container, trader, [item(1, invoice_value=Decimal("1000.00"))])
    with container.uow() as uow:
        tariff.roll_back(
            uow=uow,
            actor=None,
            since=container.clock.now() - timedelta(minutes=1),
            reason="wrong file",
            apply=True,
        )
    with container.uow() as uow:
        a = uow.declarations.latest_assessment(decl.id)
        assert uow.tariff.uses_of(a.id)[0]["expression"] == "7%"
        assert uow.tariff.all_measures() == []
        ops = [o["operation"] for o in uow.tariff.operations(uow.tariff.imports()[0].id)]
    assert a.lines[0].duty_iqd == Decimal("91700")
    assert ops == ["create", "delete"]


def test_a_bad_file_is_refused_whole_with_every_line_named(container):
    before = _count(container, t.tariff_measures), _count(container, t.audit_entries)
    with pytest.raises(ValidationFailed) as caught:
        _import(
            container,
            _row(),
            _row(code="123456"),
            _row(expression="five percent"),
            _row(valid_from="2026-02-01"),
        )
    rows = caught.value.details["rows"]
    assert [r["line"] for r in rows] == [3, 4, 5]
    assert "unknown commodity code 123456" in rows[0]["reason"]
    assert (_count(container, t.tariff_measures), _count(container, t.audit_entries)) == before
    assert _count(container, t.tariff_imports) == 0


def test_only_reference_managers_change_the_tariff(container, make_user):
    for role in ("trader", "officer", "supervisor", "analyst"):
        with pytest.raises(Forbidden):
            _import(container, _row(), actor=make_user(role, crossings=["SHL"]))
    done = _import(container, _row(), actor=make_user("admin"))
    assert done.measures == 1


def test_rollback_to_an_instant_undoes_only_later_imports_and_previews_first(container, make_user):
    _import(container, _row(expression="5%"), source="first.csv")
    container.clock.advance(timedelta(days=1))
    _import(container, _row(code="6907", expression="8%"), source="second.csv")
    since = container.clock.now() - timedelta(hours=1)
    with container.uow() as uow:
        preview = tariff.roll_back(uow=uow, actor=None, since=since, reason="", apply=False)
    assert [i.source for i in preview] == ["second.csv"]
    assert _count(container, t.tariff_measures) == 2  # a preview changes nothing
    with container.uow() as uow:
        tariff.roll_back(uow=uow, actor=None, since=since, reason="decree withdrawn", apply=True)
    with container.uow() as uow:
        left = uow.tariff.all_measures()
        imports = {i.source: i for i in uow.tariff.imports()}
        entries = uow.audit.entries(
            subject="tariff:measures",
            actor=None,
            action=None,
            since=None,
            until=None,
            limit=10,
            offset=0,
        )
    assert [x.expression for x in left] == ["5%"]
    assert imports["second.csv"].rollback_reason == "decree withdrawn"
    assert imports["first.csv"].rolled_back_at is None
    assert [e.action for e in entries].count("tariff.rolled_back") == 1


def test_show_explains_what_applies_on_a_day_for_an_origin(container):
    _import(
        container,
        _row(code="6907", expression="8%"),
        _row(origin="IR", expression="2%", valid_to="2026-03-15"),
    )
    with container.uow() as uow:
        on_last_day = tariff.show(uow=uow, code="69072100", day=D, origin="ir")
        after = tariff.show(uow=uow, code="69072100", day=D + timedelta(days=1), origin="IR")
        other = tariff.show(uow=uow, code="010121", day=D, origin="IR")
    assert on_last_day.applicable.duty.expression == "2%"
    assert after.applicable.duty.expression == "8%"
    assert any("not in force or not for origin IR" in line for line in after.lines())
    assert "the schedule's" in other.lines()[-1]


def test_prohibited_goods_cannot_be_lodged_and_nothing_is_written(container, make_user):
    _import(container, _row(measure_type="prohibition", expression="", origin="IR"))
    trader = make_user("trader")
    before = _count(container, t.declarations)
    with pytest.raises(GoodsProhibited):
        _submit(container, trader, [item(1)])
    assert _count(container, t.declarations) == before


def test_an_origin_group_measure_applies_to_its_members(container, make_user):
    with container.uow() as uow:
        tariff.define_origin_group(
            uow=uow, actor=None, code="GAFTA", description="Arab FTA", countries=["JO", "SA"]
        )
    _import(container, _row(origin="GAFTA", expression="0%"), _row(expression="9%"))
    with container.uow() as uow:
        jo = tariff.show(uow=uow, code="690721", day=D, origin="JO")
        ir = tariff.show(uow=uow, code="690721", day=D, origin="IR")
    assert (jo.applicable.duty.expression, ir.applicable.duty.expression) == ("0%", "9%")


def test_a_per_truck_fee_in_force_is_added_to_what_is_due_with_its_legal_reference(
    container, make_user
):
    from manafidh.domain.parameters import ParameterValue

    with container.uow() as uow:
        uow.reference.put_parameters(
            [
                ParameterValue(
                    "charge.per_truck.crossing_fee",
                    date(2026, 1, 1),
                    date(2026, 3, 15),
                    Decimal("25000"),
                    "Border Ports Commission fee order 3 of 2025 (test)",
                ),
                ParameterValue(
                    "charge.per_truck.crossing_fee",
                    date(2026, 3, 16),
                    None,
                    Decimal("30000"),
                    "Border Ports Commission fee order 1 of 2026 (test)",
                ),
            ]
        )
        uow.commit()
    trader = make_user("trader")
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(vehicle_plates=["IR 12 B 345", "IR 99 C 100"]),
            rng=random.Random(1),
        )
    with container.uow() as uow:
        a = uow.declarations.latest_assessment(decl.id)
        (fee,) = uow.tariff.charges_of(a.id)
        (order,) = uow.payments.orders_for(decl.id)
    assert fee["amount_iqd"] == Decimal("50000")  # two plates, the value of 2026-03-15
    assert fee["legal_reference"].startswith("Border Ports Commission fee order 3")
    assert a.total_due_iqd == a.duty_iqd + Decimal("50000")
    assert order.amount_iqd == a.total_due_iqd
