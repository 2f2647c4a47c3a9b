"""The LightGBM risk model: learns a planted pattern, explains scores, refuses a bad file."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from manafidh.adapters.risk_model import RiskModel, RiskModelUnavailable, train
from manafidh.domain.risk.features import RiskRecord

KEYS = ("importer", "hs6")
GRID = {"history": [True], "num_leaves": [7], "learning_rate": [0.1], "min_child_samples": [5]}


def _records(n: int, start: date, seed: int) -> list[RiskRecord]:
    """Importer 'CHEAT' undervalues: low value per kg and usually a finding."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        cheat = rng.random() < 0.2
        importer = "CHEAT" if cheat else f"T{rng.randrange(30)}"
        value_per_kg = rng.uniform(0.5, 2.0) if cheat else rng.uniform(1.5, 10.0)
        out.append(
            RiskRecord(
                key=f"{seed}-{i}",
                day=start + timedelta(days=i // 20),
                entities={"importer": importer, "hs6": rng.choice(["100110", "252310"])},
                categories={"origin": rng.choice(["IR", "TR"])},
                numbers={"value_per_kg": value_per_kg},
                found=rng.random() < (0.8 if cheat else 0.05),
            )
        )
    return out


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return train(
        _records(1200, date(2025, 1, 1), 1),
        _records(400, date(2025, 3, 1), 2),
        entity_keys=KEYS,
        threads=1,
        grid=GRID,
    )


def test_it_ranks_the_cheating_importer_first(model):
    test = _records(400, date(2025, 4, 1), 3)
    scores = model.score(test)
    top = sorted(range(len(test)), key=lambda i: -scores[i])[:40]
    assert sum(test[i].entities["importer"] == "CHEAT" for i in top) >= 36


def test_a_score_names_its_top_factors(model):
    record = _records(1, date(2025, 4, 1), 4)[0]
    factors = model.explain(record, top=3)
    assert 1 <= len(factors) <= 3
    assert all(name in model.feature_names for name, _ in factors)


def test_the_model_file_round_trips_with_its_metadata(model, tmp_path):
    path = tmp_path / "risk.json"
    model.save(path)
    again = RiskModel.load(path)
    test = _records(50, date(2025, 4, 1), 5)
    assert again.score(test) == model.score(test)
    assert again.metadata["train_window"] == ["2025-01-01", "2025-03-01"]
    assert again.metadata["features"] == model.feature_names
    assert set(again.metadata["valid_metrics"]) >= {"p5", "p10", "auc"}


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(RiskModelUnavailable, match="cannot be read"):
        RiskModel.load(tmp_path / "nowhere.json")


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "{}",  # not a model
        lambda text: text.replace('"booster": "', '"booster": "garbage'),
        lambda text: text.replace("threshold=", "threshold=9", 1),  # a split silently moved
    ],
    ids=["truncated", "not-a-model", "bad-booster", "tampered-split"],
)
def test_a_damaged_model_file_is_a_clear_error(model, tmp_path, damage):
    path = tmp_path / "risk.json"
    path.write_text(damage(model.dumps()), encoding="utf-8")
    with pytest.raises(RiskModelUnavailable):
        RiskModel.load(path)


def test_it_refuses_to_train_without_any_finding():
    records = [
        RiskRecord(str(i), date(2025, 1, 1), {"importer": "A"}, {}, {"x": 1.0}, found=False)
        for i in range(10)
    ]
    with pytest.raises(RiskModelUnavailable, match="no inspection outcome"):
        train(records, [], entity_keys=("importer",), grid=GRID)


def test_a_score_from_its_factors_equals_the_plain_score(model):
    record = _records(1, date(2025, 4, 1), 6)[0]
    value, _ = model.assess(record)
    assert value == pytest.approx(model.score([record])[0], rel=1e-9)
