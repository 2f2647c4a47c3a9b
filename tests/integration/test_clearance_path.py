"""The clearance path through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from tests.factories import content, item

from manafidh.domain.declarations.model import Lane
from manafidh.domain.declarations.states import State
from manafidh.domain.errors import ExitWithoutRelease, Forbidden, IllegalTransition
from manafidh.services import clearance, declarations, payments


def _pay(container, decl):
    with container.uow() as uow:
        order = uow.payments.orders_for(decl.id)[-1]
    with container.uow() as uow:
        return payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                bank_transaction_id=f"TX-{decl.reference}",
                payment_reference=order.reference,
                amount_iqd=order.amount_iqd,
                paid_at=container.clock.now(),
            ),
        )


def test_a_green_declaration_goes_from_lodging_to_exit(container, make_user):
    trader = make_user("trader")
    officer = make_user("officer", crossings=["SHL"])
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=random.Random(1)
        )
    assert decl.state is State.LANE_SELECTED
    assert decl.lane is Lane.GREEN
    _pay(container, decl)
    with container.uow() as uow:
        assert uow.declarations.get(decl.id).state is State.PAID
        clearance.release(uow=uow, actor=officer, declaration_id=decl.reference)
    with container.uow() as uow:
        out = clearance.record_exit(
            uow=uow, actor=officer, crossing_code="SHL", plate="ir-12-b-345", declaration_ref=None
        )
    assert out.state is State.EXITED
    with container.uow() as uow:
        history = [t.to_state for t in uow.declarations.transitions(decl.id)]
    assert history == [
        State.LODGED,
        State.ASSESSED,
        State.LANE_SELECTED,
        State.PAID,
        State.RELEASED,
        State.EXITED,
    ]


def test_assessment_converts_at_the_rate_of_the_acceptance_date_and_explains_each_line(
    container, make_user
):
    trader = make_user("trader")
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(
                items=[item(1), item(2, hs_code="392310", invoice_value=Decimal("500.00"))]
            ),
            rng=random.Random(1),
        )
    with container.uow() as uow:
        a = uow.declarations.latest_assessment(decl.id)
    # 2026-03-15: USD at 1310 IQD; freight+insurance 215 USD split 1500:500.
    assert a.exchange_rate == Decimal("1310")
    assert [line.customs_value_iqd for line in a.lines] == [
        Decimal("1500.00") * 1310 + Decimal("161.25") * 1310,
        Decimal("500.00") * 1310 + Decimal("53.75") * 1310,
    ]
    assert a.duty_iqd == sum(line.duty_iqd for line in a.lines)
    assert "Cabinet Decision No. 957 of 2025" in a.lines[0].explanation
    assert a.lines[0].rate_valid_from.isoformat() == "2026-01-01"


def test_an_exit_without_release_is_refused_and_raises_an_alarm(container, make_user):
    trader = make_user("trader")
    officer = make_user("officer", crossings=["SHL"])
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=random.Random(1)
        )
    with container.uow() as uow, pytest.raises(ExitWithoutRelease):
        clearance.record_exit(
            uow=uow,
            actor=officer,
            crossing_code="SHL",
            plate="IR 12 B 345",
            declaration_ref=decl.reference,
        )
    with container.uow() as uow:
        alarms = uow.gate.alarms(["SHL"], "open")
        assert uow.declarations.get(decl.id).state is State.LANE_SELECTED
    assert [a.kind.value for a in alarms] == ["exit_without_release"]
    assert alarms[0].severity.value == "critical"


def test_an_officer_of_one_crossing_cannot_release_at_another(container, make_user):
    trader = make_user("trader")
    officer = make_user("officer", crossings=["ZRB"])
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=random.Random(1)
        )
    _pay(container, decl)
    with container.uow() as uow, pytest.raises(Forbidden):
        clearance.release(uow=uow, actor=officer, declaration_id=decl.id)


def test_release_before_payment_is_an_illegal_transition(container, make_user):
    trader = make_user("trader")
    officer = make_user("officer", crossings=["SHL"])
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=random.Random(1)
        )
    with container.uow() as uow, pytest.raises(IllegalTransition):
        clearance.release(uow=uow, actor=officer, declaration_id=decl.id)


def test_an_amendment_keeps_the_old_version_and_the_lane(container, make_user, clock):
    trader = make_user("trader")
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=random.Random(1)
        )
    clock.advance(timedelta(minutes=5))
    heavier = content(
        items=[
            item(
                1,
                net_mass_kg=Decimal("32000"),
                gross_mass_kg=Decimal("32300"),
                invoice_value=Decimal("1600.00"),
            )
        ]
    )
    with container.uow() as uow:
        declarations.amend(
            uow=uow,
            actor=trader,
            declaration_id=decl.id,
            content=heavier,
            reason="weight corrected",
            rng=random.Random(99),
        )
    with container.uow() as uow:
        again = uow.declarations.get(decl.id)
        orders = uow.payments.orders_for(decl.id)
    assert [v.number for v in again.versions] == [1, 2]
    assert again.versions[0].content.items[0].net_mass_kg == Decimal("30000")
    assert again.lane is decl.lane
    assert [o.state.value for o in orders] == ["superseded", "open"]
