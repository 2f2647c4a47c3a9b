"""The quota ledger in SQL: whatever the charges, usage never exceeds the cap nor goes below 0."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from manafidh.adapters.db.engine import make_engine
from manafidh.adapters.db.exemptions import SqlExemptionRepository
from manafidh.adapters.db.migrate import upgrade
from manafidh.domain.tariff.exemptions import BeneficiaryKind, Exemption, Quota

kgs = st.decimals(min_value=0, max_value=5000, places=3)
values = st.decimals(min_value=0, max_value=10_000_000, places=3)


def test_a_quota_never_goes_negative_nor_past_its_cap(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    counter = iter(range(10_000))

    @settings(max_examples=30, deadline=None)
    @given(
        max_kg=st.one_of(st.none(), kgs),
        max_value=values,
        charges=st.lists(st.tuples(kgs, values), max_size=12),
    )
    def check(max_kg, max_value, charges):
        with engine.begin() as conn:
            repo = SqlExemptionRepository(conn)
            e = repo.add(
                Exemption(
                    0,
                    f"EX-{next(counter)}",
                    BeneficiaryKind.IMPORTER,
                    "x",
                    "IQ-1",
                    "law",
                    date(2026, 1, 1),
                    None,
                    quotas=(Quota(0, "69", max_kg, max_value),),
                )
            )
            quota_id = e.quotas[0].id
            taken_kg, taken_value = Decimal(0), Decimal(0)
            for kg, value in charges:
                if repo.charge(quota_id, kg, value):
                    taken_kg += kg
                    taken_value += value
            (q,) = repo.get(e.reference).quotas
            assert q.used_kg == taken_kg
            assert q.used_value_iqd == taken_value
            assert q.used_kg >= 0
            assert q.used_value_iqd >= 0
            assert max_kg is None or q.used_kg <= max_kg
            assert q.used_value_iqd <= max_value

    try:
        check()
    finally:
        engine.dispose()
