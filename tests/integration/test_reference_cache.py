"""The per-process cache of tariff measures, exemptions and other slow data never shows stale
or rolled-back data: every write bumps the generation in its own transaction."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from tests.factories import content, item

from manafidh.adapters.db import tables as t
from manafidh.bootstrap import bootstrap
from manafidh.domain.tariff.measures import Measure, MeasureType
from manafidh.services import declarations, tariff


def _row(code: str, expression: str) -> dict[str, str]:
    return {
        "code": code,
        "measure_type": "import_duty",
        "origin": "ALL",
        "valid_from": "2026-01-01",
        "valid_to": "",
        "legal_reference": "Decision 12 of 2026 (test)",
        "expression": expression,
    }


def _codes(container) -> list[str]:
    with container.uow(readonly=True) as uow:
        return [m.expression for m in uow.tariff.measures_for(["690721"])]


def test_a_rolled_back_import_never_reaches_another_unit_of_work(container):
    assert _codes(container) == []  # cached now, under the current generation
    measure = Measure(
        0, "690721", MeasureType.IMPORT_DUTY, "ALL", date(2026, 1, 1), None, "test", "7%"
    )
    with container.uow() as uow:
        uow.tariff.add_import(
            import_id="rolled-back",
            at=container.clock.now(),
            actor="t",
            source="a.csv",
            measures=[measure],
        )
        # The unit of work that wrote sees its own write...
        assert [m.expression for m in uow.tariff.measures_for(["690721"])] == ["7%"]
        uow.rollback()
    # ...nobody else ever does, even once another import reaches the same generation number.
    with container.uow() as uow:
        tariff.import_measures(uow=uow, actor=None, rows=[(2, _row("6907", "9%"))], source="b.csv")
    assert _codes(container) == ["9%"]


def test_a_measure_imported_by_another_process_applies_to_the_next_lodging(
    container, make_user, clock
):
    trader = make_user("trader")
    lines = [item(hs_code="690721", invoice_value=Decimal("1000.00"), origin_country="IR")]

    def lodge():
        with container.uow() as uow:
            decl = declarations.submit(
                uow=uow,
                actor=trader,
                crossing_code="SHL",
                content=content(items=lines, freight=Decimal(0), insurance=Decimal(0)),
                rng=random.Random(1),
            )
        with container.uow(readonly=True) as uow:
            return uow.declarations.latest_assessment(decl.id)

    before = lodge()  # this process has cached the measures (none for 6907)
    other = bootstrap(container.settings, clock=clock)  # another server on the same database
    with other.uow() as uow:
        tariff.import_measures(
            uow=uow, actor=None, rows=[(2, _row("6907", "50%"))], source="decree.csv"
        )
    after = lodge()
    assert after.duty_iqd > before.duty_iqd
    other.engine.dispose()
    with container.engine.connect() as conn:
        used = conn.execute(select(func.count()).select_from(t.assessment_measures)).scalar()
    assert used >= 1  # the second assessment stored the measure it applied
