"""Exemptions at assessment: relief, quotas charged atomically, life cycle, decrees, reports."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tests.factories import content, item

from manafidh.adapters.db import tables as t
from manafidh.domain.errors import Conflict, Forbidden, ValidationFailed
from manafidh.domain.tariff.exemptions import (
    BeneficiaryKind,
    Exemption,
    ExemptionAction,
    ExemptionState,
    Quota,
)
from manafidh.services import declarations, exemptions

TAX_ID = "IQ-100200300"  # the factories' importer
# Tiles (HS 69, 20% in the illustrative schedule); 1500 USD at 1310 + 215 USD costs.


def exemption(reference="EX-1", **over):
    values = {
        "id": 0,
        "reference": reference,
        "beneficiary_kind": BeneficiaryKind.INSTITUTION,
        "beneficiary_name": "Ministry of Housing",
        "beneficiary_tax_id": TAX_ID,
        "legal_basis": "Customs Law No. 23 of 1984, art. 182 (test)",
        "valid_from": date(2026, 1, 1),
        "valid_to": None,
    } | over
    return Exemption(**values)


def _grant(container, e, actor=None):
    with container.uow() as uow:
        return exemptions.grant(uow=uow, actor=actor, exemption=e)


def _submit(container, trader, items, tax_id=TAX_ID, crossing="SHL"):
    with container.uow() as uow:
        return declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code=crossing,
            content=content(items=items, importer_tax_id=tax_id),
            rng=random.Random(1),
        )


def _assessment(container, decl):
    with container.uow() as uow:
        a = uow.declarations.latest_assessment(decl.id)
        return a, uow.exemptions.uses_of(a.id)


def test_a_full_exemption_relieves_the_duty_and_records_what_was_foregone(container, make_user):
    _grant(container, exemption(codes=("69",)))
    trader = make_user("trader")
    decl = _submit(container, trader, [item(1), item(2, hs_code="392310")])
    a, uses = _assessment(container, decl)
    assert a.lines[0].duty_iqd == 0
    assert a.lines[1].duty_iqd > 0  # chapter 39 is outside the scope
    assert [u["line_no"] for u in uses] == [1]
    assert uses[0]["foregone_iqd"] == uses[0]["duty_before_iqd"] > 0
    assert a.total_due_iqd == a.lines[1].duty_iqd
    assert "exemption EX-1" in a.lines[0].explanation
    with container.uow() as uow:
        (order,) = uow.payments.orders_for(decl.id)
    assert order.amount_iqd == a.total_due_iqd


def test_a_partial_exemption_relieves_its_share_only(container, make_user):
    _grant(container, exemption(relief_percent=Decimal("50")))
    decl = _submit(container, make_user("trader"), [item(1)])
    a, uses = _assessment(container, decl)
    assert uses[0]["foregone_iqd"] == a.lines[0].duty_iqd == uses[0]["duty_before_iqd"] / 2


def test_another_importer_does_not_benefit(container, make_user):
    _grant(container, exemption())
    decl = _submit(container, make_user("trader"), [item(1)], tax_id="IQ-999")
    a, uses = _assessment(container, decl)
    assert uses == []
    assert a.lines[0].duty_iqd > 0


def test_a_quota_exhausted_in_the_middle_of_a_declaration_exempts_only_what_fits(
    container, make_user
):
    quota = Quota(0, "6907", max_kg=Decimal("40000"), max_value_iqd=None)
    _grant(container, exemption(quotas=(quota,)))
    decl = _submit(container, make_user("trader"), [item(1), item(2), item(3, hs_code="392310")])
    a, uses = _assessment(container, decl)
    assert [u["line_no"] for u in uses] == [1, 3]  # 30,000 kg fit; the next 30,000 do not
    assert a.lines[1].duty_iqd > 0
    assert "quota on 6907 exhausted" in a.lines[1].explanation
    with container.uow() as uow:
        (q,) = uow.exemptions.get("EX-1").quotas
    assert q.used_kg == Decimal("30000")


def test_an_amendment_gives_back_the_quota_it_took_before_charging_again(container, make_user):
    quota = Quota(0, "69", max_kg=Decimal("35000"), max_value_iqd=None)
    _grant(container, exemption(codes=("69",), quotas=(quota,)))
    trader = make_user("trader")
    taxed = item(2, hs_code="392310")  # outside the scope: something stays due, so amendable
    decl = _submit(container, trader, [item(1), taxed])
    with container.uow() as uow:
        declarations.amend(
            uow=uow,
            actor=trader,
            declaration_id=decl.id,
            content=content(
                items=[
                    item(1, net_mass_kg=Decimal("34000"), gross_mass_kg=Decimal("34100")),
                    taxed,
                ]
            ),
            reason="weighed again",
            rng=random.Random(1),
        )
    a, uses = _assessment(container, decl)
    assert len(uses) == 1
    assert a.lines[0].duty_iqd == 0
    with container.uow() as uow:
        (q,) = uow.exemptions.get("EX-1").quotas
    assert q.used_kg == Decimal("34000")


def test_concurrent_declarations_never_overdraw_a_quota(container, make_user):
    # Room for exactly 3 of the 8 trucks of 30,000 kg. Each lodges at its own crossing, so that
    # nothing else (the numbering counter of a crossing) serialises them before the quota does.
    _grant(container, exemption(quotas=(Quota(0, "69", Decimal("90000"), None),)))
    crossings = ["SHL", "SHB", "ZRB", "MNT", "MND", "PWK", "BSH", "HJO"]
    traders = [make_user("trader") for _ in crossings]

    def lodge(n):
        decl = _submit(container, traders[n], [item(1)], crossing=crossings[n])
        return _assessment(container, decl)[0].lines[0].duty_iqd == 0

    with ThreadPoolExecutor(8) as pool:
        exempted = list(pool.map(lodge, range(8)))
    assert exempted.count(True) == 3
    with container.uow() as uow:
        (q,) = uow.exemptions.get("EX-1").quotas
    assert q.used_kg == Decimal("90000")
    with container.engine.connect() as conn:
        uses = conn.execute(select(func.count()).select_from(t.exemption_uses)).scalar()
    assert uses == 3


def test_suspension_revocation_and_reinstatement_are_recorded_and_take_effect(container, make_user):
    _grant(container, exemption())
    trader = make_user("trader")

    def change(action):
        with container.uow() as uow:
            return exemptions.change_state(
                uow=uow,
                actor=None,
                reference="EX-1",
                action=action,
                reason=f"{action.value} for the test",
                legal_reference="Decision 5 of 2026 (test)",
            )

    assert change(ExemptionAction.SUSPEND).state is ExemptionState.SUSPENDED
    assert _assessment(container, _submit(container, trader, [item(1)]))[1] == []
    with pytest.raises(Conflict):
        change(ExemptionAction.SUSPEND)
    change(ExemptionAction.REINSTATE)
    assert len(_assessment(container, _submit(container, trader, [item(1)]))[1]) == 1
    change(ExemptionAction.REVOKE)
    a, uses = _assessment(container, _submit(container, trader, [item(1)]))
    assert uses == []
    assert a.lines[0].duty_iqd > 0
    with container.uow() as uow:
        e = uow.exemptions.get("EX-1")
        events = uow.exemptions.events(e.id)
    assert [ev["action"] for ev in events] == ["grant", "suspend", "reinstate", "revoke"]
    assert events[-1]["legal_reference"] == "Decision 5 of 2026 (test)"


def test_a_change_without_reason_or_legal_reference_is_refused_and_changes_nothing(container):
    _grant(container, exemption())
    with container.uow() as uow, pytest.raises(ValidationFailed):
        exemptions.change_state(
            uow=uow,
            actor=None,
            reference="EX-1",
            action=ExemptionAction.REVOKE,
            reason="",
            legal_reference="Decree 1",
        )
    with container.uow() as uow:
        assert uow.exemptions.get("EX-1").state is ExemptionState.ACTIVE


def test_revocation_by_decree_previews_then_revokes_the_named_kinds(container):
    old = {"valid_from": date(2015, 1, 1)}
    _grant(container, exemption("EX-STATE", beneficiary_kind=BeneficiaryKind.FOREIGN_STATE, **old))
    _grant(container, exemption("EX-INST", **old))
    _grant(container, exemption("EX-OLD", valid_to=date(2020, 10, 31), **old))
    _grant(container, exemption("EX-IMP", beneficiary_kind=BeneficiaryKind.IMPORTER, **old))
    kinds = [BeneficiaryKind.FOREIGN_STATE, BeneficiaryKind.INSTITUTION]
    with container.uow() as uow:
        preview = exemptions.revoke_by_decree(
            uow=uow,
            actor=None,
            kinds=kinds,
            as_of=date(2020, 11, 1),
            decree="Decree 1 of 2020 (test)",
            reason="decree",
            apply=False,
        )
    assert sorted(e.reference for e in preview.affected) == ["EX-INST", "EX-STATE"]
    with container.uow() as uow:
        assert uow.exemptions.get("EX-INST").state is ExemptionState.ACTIVE  # preview only
        exemptions.revoke_by_decree(
            uow=uow,
            actor=None,
            kinds=kinds,
            as_of=date(2020, 11, 1),
            decree="Decree 1 of 2020 (test)",
            reason="decree",
            apply=True,
        )
    with container.uow() as uow:
        states = {e.reference: e.state for e in uow.exemptions.all()}
    assert states == {
        "EX-STATE": ExemptionState.REVOKED,
        "EX-INST": ExemptionState.REVOKED,
        "EX-OLD": ExemptionState.ACTIVE,
        "EX-IMP": ExemptionState.ACTIVE,
    }


def test_foregone_revenue_is_reported_by_chapter_beneficiary_and_month(container, make_user):
    _grant(container, exemption())
    trader = make_user("trader")
    _submit(container, trader, [item(1), item(2, hs_code="392310")])
    with container.uow() as uow:
        chapters = exemptions.foregone_report(uow=uow, actor=None, by="chapter")
        people = exemptions.foregone_report(uow=uow, actor=None, by="beneficiary")
        months = exemptions.foregone_report(uow=uow, actor=None, by="month")
        with pytest.raises(ValidationFailed):
            exemptions.foregone_report(uow=uow, actor=None, by="colour")
    assert sorted(c[0] for c in chapters) == ["39", "69"]
    assert people[0][0] == "institution: Ministry of Housing"
    assert people[0][3] == 2
    assert months == [("2026-03", people[0][1], people[0][2], 2)]


def test_only_administrators_grant_exemptions(container, make_user):
    for role in ("trader", "officer", "supervisor", "analyst", "auditor"):
        with pytest.raises(Forbidden):
            _grant(container, exemption(f"EX-{role}"), actor=make_user(role, crossings=["SHL"]))
    assert _grant(container, exemption(), actor=make_user("admin")).id > 0


def test_a_negative_quota_or_unknown_code_is_refused(container):
    with pytest.raises(ValidationFailed):
        Quota(0, "69", max_kg=Decimal("-1"), max_value_iqd=None)
    with pytest.raises(ValidationFailed):
        _grant(container, exemption(codes=("123456",)))
    with container.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.exemptions)).scalar() == 0
