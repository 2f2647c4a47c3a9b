"""History features: computed only from outcomes known before the declaration's day."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from manafidh.domain.risk.features import History, RiskRecord, frozen, sweep
from manafidh.domain.risk.metrics import precision_at, recall_at

KEYS = ("importer", "hs6")
START = date(2025, 1, 1)


def rec(key: str, day: int, importer: str, hs6: str, found: bool | None, lag: int = 0):
    d = START + timedelta(days=day)
    return RiskRecord(
        key=key,
        day=d,
        entities={"importer": importer, "hs6": hs6},
        categories={},
        numbers={},
        found=found,
        outcome_day=d + timedelta(days=lag) if found is not None else None,
    )


records_strategy = st.lists(
    st.builds(
        rec,
        key=st.uuids().map(str),
        day=st.integers(0, 30),
        importer=st.sampled_from(["A", "B", "C"]),
        hs6=st.sampled_from(["100110", "252310"]),
        found=st.one_of(st.none(), st.booleans()),
        lag=st.integers(0, 5),
    ),
    min_size=2,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(records=records_strategy, data=st.data())
def test_a_history_feature_never_uses_an_outcome_known_on_or_after_the_declarations_day(
    records, data
):
    features, _ = sweep(records, KEYS)
    target = data.draw(st.integers(0, len(records) - 1))
    day = records[target].day
    # Flip every outcome that became known on or after the target's day: its features must
    # not move. (Anything dated before may, and usually does, change them.)
    flipped = [
        replace(r, found=not r.found)
        if r.found is not None and (r.outcome_day or r.day) >= day
        else r
        for r in records
    ]
    again, _ = sweep(flipped, KEYS)
    assert again[target] == features[target]


def test_a_past_finding_raises_the_importers_rate_and_a_same_day_one_does_not():
    records = [
        rec("1", 0, "A", "100110", True),
        rec("2", 0, "B", "100110", False),
        rec("3", 1, "A", "100110", None),  # A's finding of day 0 is known
        rec("4", 1, "B", "100110", None),
        rec("5", 1, "A", "100110", True),  # same day as 3: invisible to 3
    ]
    features, _ = sweep(records, KEYS)
    assert features[2]["hist.importer.rate"] > features[3]["hist.importer.rate"]
    assert features[2]["hist.importer.inspected"] == features[3]["hist.importer.inspected"]
    # A declaration lodged on day 0 knows nothing yet.
    assert features[0]["hist.importer.inspected"] == 0.0


def test_an_outcome_counts_from_the_day_it_became_known_not_the_declarations_day():
    records = [
        rec("1", 0, "A", "100110", True, lag=10),
        rec("2", 5, "A", "100110", None),
        rec("3", 11, "A", "100110", None),
    ]
    features, _ = sweep(records, KEYS)
    assert features[1]["hist.importer.inspected"] == 0.0
    assert features[2]["hist.importer.inspected"] > 0.0


def test_a_rare_importer_is_pulled_towards_the_overall_rate():
    records = [rec(str(i), 0, "BIG", "100110", i % 2 == 0) for i in range(200)]
    records += [rec("x", 0, "RARE", "100110", True), rec("y", 1, "RARE", "100110", None)]
    records += [rec("z", 1, "BIG", "100110", None)]
    features, _ = sweep(records, KEYS)
    rare = features[-2]["hist.importer.rate"]
    # One finding in one inspection: a raw rate of 100 %, smoothed to near the ~50 % overall.
    assert 0.5 < rare < 0.6


def test_the_history_survives_its_json_form():
    records = [rec(str(i), i, "A" if i % 3 else "B", "100110", i % 2 == 0) for i in range(20)]
    _, history = sweep(records, KEYS)
    copy = History.from_json(history.to_json())
    later = [rec("n", 40, "A", "100110", None), rec("m", 40, "NEW", "999999", None)]
    assert frozen(later, copy) == frozen(later, history)


def test_precision_and_recall_at_a_share_count_the_top_scored():
    scores = [0.9, 0.8, 0.7, 0.1, 0.05, 0.3, 0.2, 0.6, 0.4, 0.5]
    labels = [True, False, True, False, False, False, False, False, True, False]
    assert precision_at(scores, labels, 0.2) == 0.5  # top 2: 0.9 yes, 0.8 no
    assert recall_at(scores, labels, 0.3) == 2 / 3  # top 3 catch 2 of 3
