"""Payment references (ISO 11649) and lane selection with its random control sample."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from tests.factories import content, item

from manafidh.domain.declarations.model import Lane
from manafidh.domain.payments.orders import creditor_reference, is_valid_reference
from manafidh.domain.risk.lanes import LaneRule, select_lane


def test_creditor_reference_matches_the_iso_11649_example():
    # The standard's own example: RF18 5390 0754 7034.
    assert creditor_reference("539007547034") == "RF18539007547034"


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=0, max_size=4),
    st.text(alphabet="0123456789", min_size=1, max_size=17),
    st.data(),
)
def test_every_reference_validates_and_a_mistyped_digit_does_not(prefix, digits, data):
    ref = creditor_reference(prefix + digits)
    assert is_valid_reference(ref)
    # Mod 97 catches every single-digit substitution (what a bank clerk's typo usually is).
    pos = data.draw(st.integers(4 + len(prefix), len(ref) - 1))
    typo = data.draw(st.sampled_from([d for d in "0123456789" if d != ref[pos]]))
    assert not is_valid_reference(ref[:pos] + typo + ref[pos + 1 :])


RULES = [
    LaneRule(1, "cement", Lane.YELLOW, date(2020, 1, 1), None, hs_prefix="2523"),
    LaneRule(2, "tobacco", Lane.RED, date(2020, 1, 1), None, hs_prefix="24"),
    LaneRule(3, "expired", Lane.RED, date(2020, 1, 1), date(2020, 12, 31), origin_country="IR"),
]


def _select(c, rng=None, rate="0"):
    return select_lane(
        content=c,
        crossing_code="SHL",
        customs_value_iqd=Decimal(1000),
        day=date(2026, 3, 15),
        rules=RULES,
        random_rate=Decimal(rate),
        rng=rng or random.Random(1),
    )


def test_the_strictest_matching_rule_wins_and_is_named_in_the_reasons():
    d = _select(content(items=[item(1, hs_code="252329"), item(2, hs_code="240220")]))
    assert d.lane is Lane.RED
    assert d.matched_rule_ids == [1, 2]
    assert any("tobacco" in r for r in d.reasons)


def test_a_rule_out_of_its_validity_does_not_apply():
    assert _select(content()).lane is Lane.GREEN


def test_the_random_control_rate_holds_over_many_declarations():
    rng = random.Random(2026)
    n = 20_000
    red = sum(_select(content(), rng, "0.02").random_selected for _ in range(n))
    assert 0.016 < red / n < 0.024
