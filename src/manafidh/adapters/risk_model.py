"""The learned risk score: a LightGBM model on the features of ``domain/risk/features.py``.

One model file (JSON) holds everything needed to score and explain: the booster, the category
codes, the feature list, the history snapshot the scores use, and the training metadata
(window, metrics, parameters). A missing or damaged file raises :class:`RiskModelUnavailable`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.metrics import roc_auc_score

from manafidh.domain.risk.features import History, RiskRecord, frozen, sweep
from manafidh.domain.risk.metrics import precision_at, recall_at
from manafidh.domain.risk.scoring import RiskModelUnavailable

FORMAT = "manafidh-risk-model/1"
# A category value seen fewer times than this in training is coded as missing: LightGBM would
# otherwise fit a split to a handful of rows.
MIN_CATEGORY_COUNT = 10
SHARES = {"p1": 0.01, "p2": 0.02, "p5": 0.05, "p10": 0.10}


def evaluate(scores: Sequence[float], labels: Sequence[bool]) -> dict[str, float]:
    """precision@1/2/5/10 %, recall@1/2/5/10 % and AUC of scores against outcomes."""
    out = {name: precision_at(scores, labels, s) for name, s in SHARES.items()}
    out.update({f"r{name[1:]}": recall_at(scores, labels, s) for name, s in SHARES.items()})
    out["auc"] = float(roc_auc_score(labels, scores)) if 0 < sum(labels) < len(labels) else 0.5
    return out


@dataclass
class RiskModel:
    """A trained model with what it needs to turn records into scores and reasons."""

    booster: lgb.Booster
    entity_keys: tuple[str, ...]
    categories: dict[str, dict[str, int]]
    numbers: list[str]
    history_names: list[str]
    history: History
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        """Every model input, in matrix column order."""
        return (
            [f"cat.{c}" for c in self.categories]
            + [f"num.{n}" for n in self.numbers]
            + self.history_names
        )

    def matrix(self, records: Sequence[RiskRecord], hist: Sequence[Mapping[str, float]]) -> Any:
        """The input matrix: category codes (NaN when unknown), numbers, history features."""
        cats = list(self.categories)
        x = np.full((len(records), len(self.feature_names)), np.nan, dtype=np.float64)
        for row, (r, h) in enumerate(zip(records, hist, strict=True)):
            for col, c in enumerate(cats):
                code = self.categories[c].get(r.categories.get(c, ""))
                if code is not None:
                    x[row, col] = code
            base = len(cats)
            for j, n in enumerate(self.numbers):
                v = r.numbers.get(n)
                if v is not None and math.isfinite(v):
                    x[row, base + j] = v
            base += len(self.numbers)
            for j, n in enumerate(self.history_names):
                x[row, base + j] = h[n]
        return x

    def score(self, records: Sequence[RiskRecord], history: History | None = None) -> list[float]:
        """Probability of a finding for each record, with history as known at training time."""
        hist = frozen(records, history or self.history)
        try:
            return [float(p) for p in self.booster.predict(self.matrix(records, hist))]
        except (lgb.basic.LightGBMError, ValueError) as e:
            raise RiskModelUnavailable(f"risk model cannot score: {e}") from e

    def explain(
        self, record: RiskRecord, top: int = 5, history: History | None = None
    ) -> list[tuple[str, float]]:
        """The ``top`` inputs that pushed this record's score most, with their log-odds share."""
        return self.assess(record, top, history)[1]

    def assess(
        self, record: RiskRecord, top: int = 5, history: History | None = None
    ) -> tuple[float, list[tuple[str, float]]]:
        """The score and its ``top`` factors from one pass (contributions sum to the log-odds)."""
        hist = frozen([record], history or self.history)
        try:
            contrib = self.booster.predict(self.matrix([record], hist), pred_contrib=True)[0]
        except (lgb.basic.LightGBMError, ValueError) as e:
            raise RiskModelUnavailable(f"risk model cannot score: {e}") from e
        value = 1.0 / (1.0 + math.exp(-float(sum(contrib))))
        pairs = sorted(
            zip(self.feature_names, (float(c) for c in contrib[:-1]), strict=True),
            key=lambda p: -abs(p[1]),
        )
        return value, [(name, round(v, 4)) for name, v in pairs[:top] if v != 0.0]

    # -- the model file -------------------------------------------------------------------------
    def dumps(self) -> str:
        """The model file's text, with a checksum so a damaged file is refused, not misread."""
        body = self._body()
        return json.dumps({**body, "sha256": _digest(body)}, sort_keys=True)

    def _body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "metadata": self.metadata,
            "entity_keys": list(self.entity_keys),
            "categories": self.categories,
            "numbers": self.numbers,
            "history_names": self.history_names,
            "history": self.history.to_json(),
            "booster": self.booster.model_to_string(),
        }

    def save(self, path: Path) -> None:
        """Write the model file atomically (a reader never sees half a model)."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.dumps(), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def loads(cls, text: str) -> RiskModel:
        """A model from its file text; RiskModelUnavailable when it is not a valid model."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError("not a Manafidh risk model file")
            if data.pop("sha256", None) != _digest(data):
                raise ValueError("checksum mismatch (the file is damaged)")
            booster = lgb.Booster(model_str=data["booster"])
            model = cls(
                booster=booster,
                entity_keys=tuple(data["entity_keys"]),
                categories={k: dict(v) for k, v in data["categories"].items()},
                numbers=list(data["numbers"]),
                history_names=list(data["history_names"]),
                history=History.from_json(data["history"]),
                metadata=dict(data["metadata"]),
            )
            if booster.num_feature() != len(model.feature_names):
                raise ValueError("feature list does not match the booster")
        except (ValueError, KeyError, TypeError, AssertionError, lgb.basic.LightGBMError) as e:
            raise RiskModelUnavailable(f"risk model is unusable: {e}") from e
        return model

    @classmethod
    def load(cls, path: Path) -> RiskModel:
        """Read a model file; RiskModelUnavailable when missing or damaged."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RiskModelUnavailable(f"risk model file {path} cannot be read: {e}") from e
        return cls.loads(text)


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _vocabulary(records: Sequence[RiskRecord]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for r in records:
        for c, v in r.categories.items():
            counts.setdefault(c, Counter())[v] += 1
    return {
        c: {v: i for i, (v, n) in enumerate(cnt.most_common()) if n >= MIN_CATEGORY_COUNT}
        for c, cnt in sorted(counts.items())
    }


BASE_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "verbosity": -1,
    "feature_pre_filter": False,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.7,
    "cat_smooth": 20.0,
    "min_data_per_group": 50,
    "max_cat_to_onehot": 8,
    "reg_lambda": 1.0,
}
# The settings tried on the validation window; the best by precision@5 % and @10 % wins.
# ``history`` is tried on and off: where traders' pasts carry no signal (synthetic data, a new
# service) their features only add noise, and the validation window is what decides.
GRID: dict[str, list[Any]] = {
    "history": [True, False],
    "num_leaves": [31, 63],
    "learning_rate": [0.05],
    "min_child_samples": [20],
}


def train(
    train_records: Sequence[RiskRecord],
    valid_records: Sequence[RiskRecord],
    *,
    entity_keys: Sequence[str],
    threads: int = 2,
    seed: int = 7,
    grid: Mapping[str, Sequence[Any]] | None = None,
    max_rounds: int = 3000,
) -> RiskModel:
    """Train on ``train_records``, choose settings and the number of trees on ``valid_records``.

    Training rows get history features from outcomes before their own day; validation rows get
    the history frozen at the end of training (as later declarations will be scored).
    """
    train_labeled = [r for r in train_records if r.found is not None]
    valid_labeled = [r for r in valid_records if r.found is not None]
    if not train_labeled or not any(r.found for r in train_labeled):
        raise RiskModelUnavailable("no inspection outcome with a finding to learn from")
    train_hist, history = sweep(train_records, entity_keys)
    labeled_idx = [i for i, r in enumerate(train_records) if r.found is not None]
    labeled_hist = [train_hist[i] for i in labeled_idx]
    valid_hist = frozen(valid_labeled, history)
    y_train = np.array([bool(r.found) for r in train_labeled])
    y_valid = [bool(r.found) for r in valid_labeled]
    has_valid = 0 < sum(y_valid) < len(y_valid)
    space = dict(grid or GRID)
    space.setdefault("history", [True])
    best: tuple[float, RiskModel, dict[str, Any], lgb.Booster, dict[str, float]] | None = None
    trials: list[dict[str, Any]] = []
    for combo in itertools.product(*space.values()):
        choice = dict(zip(space.keys(), combo, strict=True))
        use_history = bool(choice.pop("history"))
        if "min_child_samples" in choice:
            # A first model trains on a few hundred outcomes: 20 rows per leaf would allow no
            # split at all. Large training sets (400 rows and more) keep the grid's value.
            small = max(5, len(train_labeled) // 20)
            choice["min_child_samples"] = min(int(choice["min_child_samples"]), small)
        model = RiskModel(
            booster=None,  # type: ignore[arg-type]  # set once chosen
            entity_keys=tuple(entity_keys),
            categories=_vocabulary(train_labeled),
            numbers=sorted({n for r in train_labeled for n in r.numbers}),
            history_names=sorted(labeled_hist[0]) if use_history else [],
            history=history,
        )
        names = [n.replace(".", "_") for n in model.feature_names]
        dtrain = lgb.Dataset(
            model.matrix(train_labeled, labeled_hist),
            y_train,
            feature_name=names,
            categorical_feature=list(range(len(model.categories))),
            free_raw_data=False,
        )
        params = {
            **BASE_PARAMS,
            **choice,
            "num_threads": threads,
            "seed": seed,
            "metric": "binary_logloss",
        }
        if has_valid:
            x_valid = model.matrix(valid_labeled, valid_hist)
            dvalid = lgb.Dataset(x_valid, np.array(y_valid), reference=dtrain)
            booster = lgb.train(
                params,
                dtrain,
                num_boost_round=max_rounds,
                valid_sets=[dvalid],
                callbacks=[lgb.early_stopping(100, verbose=False)],
            )
            rounds = booster.best_iteration or max_rounds
            metrics = evaluate(list(booster.predict(x_valid, num_iteration=rounds)), y_valid)
            objective = metrics["p5"] + metrics["p10"] + 0.5 * metrics["auc"]
        else:
            rounds = 300
            booster = lgb.train(params, dtrain, num_boost_round=rounds)
            metrics, objective = {}, 0.0
        params = params | {"rounds": rounds, "history": use_history}
        trials.append({**choice, "history": use_history, "rounds": rounds, **metrics})
        if best is None or objective > best[0]:
            best = (objective, model, params, booster, metrics)
        if not has_valid:
            break
    assert best is not None
    _, model, params, booster, metrics = best
    # Keep only the trees chosen on the validation window.
    model.booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=params["rounds"]))
    model.metadata = {
        "params": {k: v for k, v in params.items() if k != "verbosity"},
        "valid_metrics": metrics,
        "trials": trials,
        "train_rows": len(train_labeled),
        "valid_rows": len(valid_labeled),
        "train_window": _window(train_records),
        "valid_window": _window(valid_records),
        "features": model.feature_names,
    }
    return model


def _window(records: Sequence[RiskRecord]) -> list[str] | None:
    if not records:
        return None
    return [min(r.day for r in records).isoformat(), max(r.day for r in records).isoformat()]
