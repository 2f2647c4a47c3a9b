"""Content re-weighed to the weighbridge's figure: masses sum exactly, nothing else moves."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from tests.factories import content, item

from manafidh.domain.tariff.remeasure import with_measured_mass

masses = st.decimals(min_value="1", max_value="40000", places=3)


@given(st.lists(masses, min_size=1, max_size=8), masses)
def test_line_masses_sum_to_the_measured_mass_and_values_stay_declared(grosses, measured):
    declared = content(
        items=[
            item(n, gross_mass_kg=g, net_mass_kg=(g * Decimal("0.95")).quantize(Decimal("0.001")))
            for n, g in enumerate(grosses, start=1)
        ]
    )
    out = with_measured_mass(declared, measured)
    assert sum(i.gross_mass_kg for i in out.items) == measured
    for before, after in zip(declared.items, out.items, strict=True):
        assert after.invoice_value == before.invoice_value
        assert after.hs_code == before.hs_code
        assert after.net_mass_kg <= after.gross_mass_kg
        assert after.net_mass_kg.as_tuple().exponent >= -3  # to the gram


def test_a_quantity_in_kilograms_follows_the_net_mass_and_other_units_do_not():
    declared = content(
        items=[
            item(1, unit="KGM", quantity=Decimal(1000), net_mass_kg=Decimal(1000),
                 gross_mass_kg=Decimal(1000)),
            item(2, unit="NAR", quantity=Decimal(50), net_mass_kg=Decimal(1000),
                 gross_mass_kg=Decimal(1000)),
        ]
    )  # fmt: skip
    out = with_measured_mass(declared, Decimal(3000))
    assert [i.quantity for i in out.items] == [Decimal("1500.000"), Decimal(50)]
