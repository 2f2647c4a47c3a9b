"""Inspector assignment constraints: rotation per importer, balanced workloads, random."""

from __future__ import annotations

import random
from collections import Counter

from manafidh.domain.risk.assignment import choose_inspector

INSPECTORS = ["i1", "i2", "i3", "i4"]


def test_an_inspector_who_saw_the_importer_lately_is_not_drawn():
    rng = random.Random(1)
    for _ in range(200):
        a = choose_inspector(
            inspectors=INSPECTORS,
            recently_saw_importer={"i1", "i3"},
            workload={},
            gap_days=30,
            rng=rng,
        )
        assert a is not None
        assert a.inspector_id in {"i2", "i4"}
    assert "2 excluded: same importer within 30 days" in a.reasons


def test_the_least_loaded_inspectors_are_drawn_so_workloads_stay_balanced():
    rng = random.Random(2)
    load: Counter[str] = Counter()
    for _ in range(400):
        a = choose_inspector(
            inspectors=INSPECTORS, recently_saw_importer=set(), workload=load, gap_days=30, rng=rng
        )
        load[a.inspector_id] += 1
    assert max(load.values()) - min(load.values()) <= 1


def test_the_draw_is_random_among_equals():
    rng = random.Random(3)
    picks = Counter(
        choose_inspector(
            inspectors=INSPECTORS, recently_saw_importer=set(), workload={}, gap_days=30, rng=rng
        ).inspector_id
        for _ in range(4000)
    )
    assert set(picks) == set(INSPECTORS)
    assert all(800 <= n <= 1200 for n in picks.values())


def test_when_every_inspector_saw_the_importer_the_rule_is_waived_and_said():
    a = choose_inspector(
        inspectors=["i1"],
        recently_saw_importer={"i1"},
        workload={},
        gap_days=30,
        rng=random.Random(4),
    )
    assert a.inspector_id == "i1"
    assert any("rule waived" in r for r in a.reasons)


def test_a_crossing_without_inspectors_gets_no_assignment():
    assert (
        choose_inspector(
            inspectors=[],
            recently_saw_importer=set(),
            workload={},
            gap_days=30,
            rng=random.Random(5),
        )
        is None
    )
