"""Investment projects: approved goods as quotas, the implementation rule, lagging reports."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from tests.factories import content, item

from manafidh.domain.errors import Forbidden, ValidationFailed
from manafidh.domain.tariff.exemptions import ExemptionState
from manafidh.domain.tariff.investment import (
    ApprovedGoods,
    ImplementationReport,
    InvestmentProject,
)
from manafidh.services import declarations, investment

TAX_ID = "IQ-100200300"


def project(**over):
    values = {
        "licence_number": "NIC-2023-0042",
        "name": "Basra Residential City",
        "sector": "housing",
        "tax_id": TAX_ID,
        "approved_on": date(2023, 6, 1),
        "window_from": date(2023, 6, 1),
        "window_to": date(2027, 5, 31),
        "goods": (ApprovedGoods("6907", Decimal("45000"), None),),
    } | over
    return InvestmentProject(**values)


def _register(container, p=None, actor=None):
    with container.uow() as uow:
        return investment.register_project(
            uow=uow,
            actor=actor,
            project=p or project(),
            legal_basis="Investment Law No. 13 of 2006, art. 17",
        )


def _report(container, on, rate):
    with container.uow() as uow:
        investment.report_implementation(
            uow=uow,
            actor=None,
            licence_number="NIC-2023-0042",
            report=ImplementationReport(on, Decimal(rate), "NIC field visit (test)"),
        )


def _lodge(container, trader):
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=[item(1)]),
            rng=random.Random(1),
        )
    with container.uow() as uow:
        return uow.declarations.latest_assessment(decl.id)


def test_the_approved_goods_are_exempt_up_to_the_approved_quantity(container, make_user):
    e = _register(container)
    assert (e.reference, e.project_id) == ("INV-NIC-2023-0042", "NIC-2023-0042")
    trader = make_user("trader")
    assert _lodge(container, trader).lines[0].duty_iqd == 0  # 30,000 of 45,000 kg
    assert _lodge(container, trader).lines[0].duty_iqd > 0  # 30,000 more do not fit
    with container.uow() as uow:
        assert investment.over_quantity(uow=uow, actor=None) == []


def test_a_project_at_or_below_the_threshold_after_the_grace_period_is_suspended(
    container, make_user
):
    _register(container)
    _report(container, date(2025, 6, 1), "60")
    _report(container, date(2026, 1, 10), "35")  # at the threshold: lags
    with container.uow() as uow:
        before_grace = investment.lagging_projects(uow=uow, actor=None, as_of=date(2025, 5, 30))
        preview = investment.apply_suspension_rule(
            uow=uow, actor=None, as_of=date(2026, 3, 15), apply=False
        )
    assert before_grace == []
    assert [(lag.project.licence_number, lag.rate_percent) for lag in preview] == [
        ("NIC-2023-0042", Decimal("35"))
    ]
    with container.uow() as uow:
        investment.apply_suspension_rule(uow=uow, actor=None, as_of=date(2026, 3, 15), apply=True)
    with container.uow() as uow:
        e = uow.exemptions.get("INV-NIC-2023-0042")
        events = uow.exemptions.events(e.id)
    assert e.state is ExemptionState.SUSPENDED
    assert "35% at or below 35%" in events[-1]["reason"]
    assert events[-1]["legal_reference"].startswith("Council of Ministers decision of April 2021")
    assert _lodge(container, make_user("trader")).lines[0].duty_iqd > 0


def test_a_project_above_the_threshold_is_not_lagging(container):
    _register(container)
    _report(container, date(2026, 1, 10), "35.01")
    with container.uow() as uow:
        assert investment.lagging_projects(uow=uow, actor=None, as_of=date(2026, 3, 15)) == []


def test_only_administrators_register_projects_and_bad_input_changes_nothing(container, make_user):
    with pytest.raises(Forbidden):
        _register(container, actor=make_user("supervisor", crossings=["SHL"]))
    with pytest.raises(ValidationFailed):
        project(window_to=date(2020, 1, 1))
    with pytest.raises(ValidationFailed):
        ImplementationReport(date(2026, 1, 1), Decimal("120"), "x")
    with container.uow() as uow:
        assert uow.investment.all() == []
