"""The declarative duty cases of tests/cases/tariff_assessment.yaml, lodged for real."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from tests.factories import content, item

from manafidh.domain.tariff.exemptions import (
    BeneficiaryKind,
    Exemption,
    ExemptionAction,
    Quota,
)
from manafidh.services import declarations, exemptions, tariff

CASES = yaml.safe_load(
    (Path(__file__).parents[1] / "cases" / "tariff_assessment.yaml").read_text(encoding="utf-8")
)["cases"]
TAX_ID = "IQ-100200300"


def _d(text):
    return None if text is None else date.fromisoformat(text)


def _measure_row(spec):
    return {
        "code": spec["code"],
        "measure_type": spec.get("measure_type", "import_duty"),
        "origin": spec.get("origin", "ALL"),
        "valid_from": spec.get("valid_from", "2026-01-01"),
        "valid_to": spec.get("valid_to", ""),
        "legal_reference": "Case decision (test)",
        "expression": spec.get("expression", ""),
    }


def _exemption(n, spec):
    quotas = tuple(
        Quota(
            0,
            q["code"],
            Decimal(q["max_kg"]) if "max_kg" in q else None,
            Decimal(q["max_value_iqd"]) if "max_value_iqd" in q else None,
        )
        for q in spec.get("quotas", ())
    )
    return Exemption(
        id=0,
        reference=f"EX-{n}",
        beneficiary_kind=BeneficiaryKind(spec.get("kind", "institution")),
        beneficiary_name="Beneficiary (test)",
        beneficiary_tax_id=TAX_ID,
        legal_basis="Exemption law (test)",
        valid_from=_d(spec.get("valid_from", "2026-01-01")),
        valid_to=_d(spec.get("valid_to")),
        relief_percent=Decimal(spec.get("relief", "100")),
        quotas=quotas,
    )


def _item(n, spec):
    kg = Decimal(spec.get("kg", "30000"))
    return item(
        n,
        hs_code=spec.get("hs_code", "690721"),
        origin_country=spec.get("origin", "IR"),
        invoice_value=Decimal(spec.get("value", "1000000.000")),
        net_mass_kg=kg,
        gross_mass_kg=kg,
        quantity=kg,
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_duty_case(case, container, make_user):
    day = date.fromisoformat(case["date"])
    container.clock.set(datetime(day.year, day.month, day.day, 6, tzinfo=UTC))
    if case.get("measures"):
        with container.uow() as uow:
            tariff.import_measures(
                uow=uow,
                actor=None,
                rows=[(n, _measure_row(m)) for n, m in enumerate(case["measures"], start=2)],
                source="case.yaml",
            )
    for n, spec in enumerate(case.get("exemptions", ()), start=1):
        with container.uow() as uow:
            exemptions.grant(uow=uow, actor=None, exemption=_exemption(n, spec))
        if spec.get("revoked"):
            with container.uow() as uow:
                exemptions.change_state(
                    uow=uow,
                    actor=None,
                    reference=f"EX-{n}",
                    action=ExemptionAction.REVOKE,
                    reason="case",
                    legal_reference="Decree (test)",
                )
    trader = make_user("trader")
    items = [_item(n, spec) for n, spec in enumerate(case["items"], start=1)]
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(
                items=items,
                invoice_currency="IQD",
                freight=Decimal(0),
                insurance=Decimal(0),
                importer_tax_id=TAX_ID,
            ),
            rng=random.Random(1),
        )
    with container.uow() as uow:
        a = uow.declarations.latest_assessment(decl.id)
        uses = uow.exemptions.uses_of(a.id)
    expected = case["expected"]
    assert [line.duty_iqd for line in a.lines] == [Decimal(x) for x in expected["duties"]]
    if "total" in expected:
        assert a.total_due_iqd == Decimal(expected["total"])
    if "foregone" in expected:
        assert [u["foregone_iqd"] for u in uses] == [Decimal(x) for x in expected["foregone"]]
