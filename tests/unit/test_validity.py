"""Effective dating: inclusive ends, open ends, overlap detection."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from manafidh.domain.validity import Period, applies_on, find_overlap, overlaps

D = date(2026, 1, 1)


def test_a_period_applies_on_its_first_and_last_day():
    p = Period(D, D + timedelta(days=30))
    assert applies_on(p, D)
    assert applies_on(p, D + timedelta(days=30))
    assert not applies_on(p, D - timedelta(days=1))
    assert not applies_on(p, D + timedelta(days=31))


def test_an_open_period_applies_forever_after_its_start():
    assert applies_on(Period(D), date(2099, 12, 31))


def test_periods_touching_end_to_start_do_not_overlap_but_sharing_a_day_does():
    a = Period(D, D + timedelta(days=9))
    assert not overlaps(a, Period(D + timedelta(days=10)))
    assert overlaps(a, Period(D + timedelta(days=9)))


periods = st.builds(
    lambda start, length: Period(
        D + timedelta(days=start), None if length is None else D + timedelta(days=start + length)
    ),
    st.integers(0, 400),
    st.one_of(st.none(), st.integers(0, 200)),
)


@given(st.lists(periods, max_size=8))
def test_find_overlap_agrees_with_comparing_every_pair(ps):
    any_pair = any(overlaps(a, b) for i, a in enumerate(ps) for b in ps[i + 1 :])
    assert (find_overlap(ps) is not None) == any_pair
