"""Lane rules on what the system knows at lodging, through the clearance path on both backends:
an importer's first declarations, the declarant, the hour, an exemption, a valuation flag and a
weighing that disagrees with the papers."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tests.factories import content, item
from tests.integration.test_exemptions import exemption
from tests.integration.test_valuation import _cleared

from manafidh.domain.declarations.model import Lane
from manafidh.domain.devices.gate import normalise_plate
from manafidh.domain.devices.visits import Visit
from manafidh.domain.risk.lanes import LaneRule
from manafidh.services import declarations, exemptions, risk_rules, valuation

TODAY = date(2026, 3, 15)  # the test clock's day


def _rule(container, **conditions) -> LaneRule:
    rule = LaneRule(0, "test rule", Lane.RED, TODAY, None, **conditions)
    with container.uow() as uow:
        return risk_rules.add_rule(uow=uow, actor=None, rule=rule, reason="tested here")


def _submit(container, trader, **over):
    with container.uow() as uow:
        return declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(**over),
            rng=random.Random(1),
        )


def _reasons(container, decl) -> list[str]:
    with container.uow(readonly=True) as uow:
        return uow.declarations.lane_decision(decl.id)["reasons"]


def test_an_importers_first_declarations_go_red_then_the_rules_lane_applies(container, make_user):
    trader = make_user("trader")
    rule = _rule(container, first_declarations=2)
    lanes = []
    for _ in range(3):
        lanes.append(_submit(container, trader, importer_tax_id="IQ-555000111").lane)
        container.clock.advance(timedelta(minutes=1))
    assert lanes == [Lane.RED, Lane.RED, Lane.GREEN]
    other = _submit(container, trader, importer_tax_id="IQ-555000222")
    assert other.lane is Lane.RED  # a new importer's first
    assert f"rule {rule.id} 'test rule' -> red" in _reasons(container, other)
    with container.uow(readonly=True) as uow:
        tried = risk_rules.backtest_rule(uow=uow, actor=None, rule=rule, since=TODAY, until=TODAY)
    assert (tried.declarations, tried.hits) == (4, 3)


def test_a_declarant_rule_selects_that_declarants_lodgings_only(container, make_user):
    watched, other = make_user("trader"), make_user("trader")
    _rule(container, declarant_id=watched.id)
    assert _submit(container, watched).lane is Lane.RED
    assert _submit(container, other).lane is Lane.GREEN


def test_a_night_rule_selects_lodgings_in_its_hours_at_the_crossing(container, make_user):
    trader = make_user("trader")
    _rule(container, hour_from=20, hour_to=6)
    assert _submit(container, trader).lane is Lane.GREEN  # 09:00 in Baghdad
    container.clock.set(datetime(2026, 3, 15, 20, 30, tzinfo=UTC))  # 23:30 in Baghdad
    assert _submit(container, trader).lane is Lane.RED


def test_an_exemption_use_rule_selects_declarations_that_claim_relief(container, make_user):
    trader = make_user("trader")
    with container.uow() as uow:
        exemptions.grant(uow=uow, actor=None, exemption=exemption())
    _rule(container, exemption_use=True)
    assert _submit(container, trader).lane is Lane.RED  # the factories' importer is exempt
    assert _submit(container, trader, importer_tax_id="IQ-999888777").lane is Lane.GREEN


def test_a_valuation_flag_rule_selects_a_line_far_below_its_reference(container, make_user):
    trader = make_user("trader")
    officer = make_user("officer", crossings=["SHL"])
    for v in ("1400.00", "1500.00", "1500.00", "1600.00", "1550.00", "1450.00"):
        _cleared(container, trader, officer, v)
    with container.uow() as uow:
        assert valuation.refresh_reference_values(uow=uow, actor=None) == 1
    _rule(container, valuation_flag=True)
    low = _submit(container, trader, items=[item(1, invoice_value=Decimal("500.00"))])
    fair = _submit(container, trader, items=[item(1, invoice_value=Decimal("1450.00"))])
    assert (low.lane, fair.lane) == (Lane.RED, Lane.GREEN)


def test_a_weight_mismatch_rule_selects_a_truck_the_weighbridge_contradicts(container, make_user):
    trader = make_user("trader")
    _rule(container, weight_mismatch=True)

    def weighed(plate: str, entry_kg: int) -> None:
        with container.uow() as uow:
            uow.gate_control.add_visits(
                [
                    Visit(
                        id=f"visit-{plate}",
                        crossing_code="SHL",
                        lane="1",
                        plate=normalise_plate(plate),
                        opened_at=container.clock.now(),
                        opened_by="scale-1:1",
                        entry_gross_kg=entry_kg,
                    )
                ]
            )
            uow.gate_control.add_tare(
                plate=normalise_plate(plate),
                kg=14_000,
                at=container.clock.now(),
                by="tests",
                reason="registered tare",
            )
            uow.commit()

    # The papers say 30,300 kg gross: the tolerance is 2 % (606 kg).
    weighed("IR 11 B 111", 14_000 + 36_000)
    weighed("IR 22 B 222", 14_000 + 30_500)
    heavy = _submit(container, trader, vehicle_plates=["IR 11 B 111"])
    fine = _submit(container, trader, vehicle_plates=["IR 22 B 222"])
    unweighed = _submit(container, trader, vehicle_plates=["IR 33 B 333"])
    assert (heavy.lane, fine.lane, unweighed.lane) == (Lane.RED, Lane.GREEN, Lane.GREEN)
