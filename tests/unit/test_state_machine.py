"""The declaration lifecycle: legal paths, illegal moves, holds and amendments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.factories import content

from manafidh.domain.declarations.model import Declaration, Lane
from manafidh.domain.declarations.states import State
from manafidh.domain.errors import IllegalTransition, ValidationFailed

T0 = datetime(2026, 3, 15, 8, tzinfo=UTC)


def _lodged(lane: Lane) -> Declaration:
    d = Declaration.draft(
        reference="SHL-2026-000001",
        crossing_code="SHL",
        declarant_id="u1",
        content=content(),
        at=T0,
    )
    d.lodge(at=T0, acceptance_date=date(2026, 3, 15), actor="u1")
    d.mark_assessed(at=T0, actor="system")
    d.select_lane(lane, at=T0, actor="system", reason="test")
    return d


def test_green_goes_to_paid_on_settlement_and_then_to_release():
    d = _lodged(Lane.GREEN)
    d.record_settlement(at=T0, actor="bank")
    d.release(at=T0, actor="officer")
    d.exit(at=T0, actor="officer")
    assert d.state is State.EXITED


def test_red_paid_before_inspection_becomes_paid_only_when_inspected():
    d = _lodged(Lane.RED)
    d.record_settlement(at=T0, actor="bank")
    assert d.state is State.LANE_SELECTED
    with pytest.raises(IllegalTransition):
        d.release(at=T0, actor="officer")
    d.complete_checks(at=T0, actor="inspector", reason="nothing found")
    assert d.state is State.PAID


def test_a_finding_on_a_paid_declaration_waits_for_the_supplementary_declaration():
    d = _lodged(Lane.RED)
    d.record_settlement(at=T0, actor="bank")
    d.complete_checks(at=T0, actor="inspector", reason="undervalued", finding=True)
    assert d.state is State.INSPECTED, "money paid on the false papers must not settle it"
    d.amend(content(), at=T0, actor="u1", reason="supplementary declaration")
    assert d.state is State.LODGED
    assert not d.finding_open


def test_a_dismissed_finding_lets_the_payment_settle():
    d = _lodged(Lane.RED)
    d.record_settlement(at=T0, actor="bank")
    d.complete_checks(at=T0, actor="inspector", reason="seal mismatch", finding=True)
    d.dismiss_finding(at=T0, actor="sup", reason="seal number misread by the inspector")
    assert d.state is State.PAID


def test_a_hold_returns_to_the_state_it_interrupted():
    d = _lodged(Lane.YELLOW)
    d.hold(at=T0, actor="sup", reason="tip-off")
    with pytest.raises(IllegalTransition):
        d.complete_checks(at=T0, actor="officer", reason="ok")
    d.unhold(at=T0, actor="sup", reason="tip-off checked")
    assert d.state is State.LANE_SELECTED


def test_holds_and_cancellations_need_a_reason():
    d = _lodged(Lane.GREEN)
    with pytest.raises(ValidationFailed):
        d.hold(at=T0, actor="sup", reason="  ")


def test_an_exited_declaration_cannot_be_amended():
    d = _lodged(Lane.GREEN)
    d.record_settlement(at=T0, actor="bank")
    d.release(at=T0, actor="o")
    d.exit(at=T0, actor="o")
    with pytest.raises(IllegalTransition):
        d.amend(content(), at=T0, actor="u1", reason="too late")


def test_an_amendment_keeps_every_earlier_version_and_the_lane():
    d = _lodged(Lane.YELLOW)
    d.amend(
        content(importer_name="Corrected Name Co."),
        at=T0 + timedelta(minutes=1),
        actor="u1",
        reason="typo",
    )
    assert d.state is State.LODGED
    assert [v.number for v in d.versions] == [1, 2]
    assert d.versions[0].content.importer_name != d.content.importer_name
    d.mark_assessed(at=T0, actor="system")
    d.select_lane(Lane.GREEN, at=T0, actor="system", reason="redraw")
    assert d.lane is Lane.YELLOW, "an amendment must not buy a new lane draw"


ACTIONS = [
    "lodge",
    "assess",
    "lane",
    "check",
    "settle",
    "release",
    "exit",
    "hold",
    "unhold",
    "cancel",
]


@given(st.lists(st.sampled_from(ACTIONS), max_size=25), st.sampled_from(list(Lane)))
def test_no_sequence_of_actions_releases_unpaid_or_unchecked_goods(actions, lane):
    d = Declaration.draft(
        reference="R", crossing_code="SHL", declarant_id="u", content=content(), at=T0
    )
    for name in actions:
        before = (d.state, len(d.transitions))
        try:
            {
                "lodge": lambda: d.lodge(at=T0, acceptance_date=date(2026, 3, 15), actor="u"),
                "assess": lambda: d.mark_assessed(at=T0, actor="s"),
                "lane": lambda: d.select_lane(lane, at=T0, actor="s", reason="r"),
                "check": lambda: d.complete_checks(at=T0, actor="o", reason="r"),
                "settle": lambda: d.record_settlement(at=T0, actor="b"),
                "release": lambda: d.release(at=T0, actor="o"),
                "exit": lambda: d.exit(at=T0, actor="o"),
                "hold": lambda: d.hold(at=T0, actor="s", reason="r"),
                "unhold": lambda: d.unhold(at=T0, actor="s", reason="r"),
                "cancel": lambda: d.cancel(at=T0, actor="u", reason="r"),
            }[name]()
        except (IllegalTransition, ValidationFailed):
            assert (d.state, len(d.transitions)) == before, "a refused move changed the record"
        if d.state in (State.RELEASED, State.EXITED):
            assert d.settled
            assert d.checks_done
