"""Risk score benchmark on the Korea Customs Service synthetic declarations (arXiv 2208.02484).

Run from the repository root::

    python bench/risk_kcs.py [--quick] [--threads 2]

The authors' chronological split: train = 2020 (``df_syn_train_eng.csv``), valid = 2021 Q1,
test = 2021 Q2. Two models, both scored on test:

* **model** - the product's own pipeline (``domain/risk/features.py`` + ``adapters/risk_model.py``,
  the code ``manafidh risk train`` runs): declaration fields plus history features (past
  outcomes of the importer, declarant, seller, HS code, origin, route... known *before* each
  declaration's day, smoothed), trained on train, settings and tree count chosen on valid. Test
  rows are scored with the history frozen at the end of valid: no test outcome is ever used.
* **baseline** - plain LightGBM (400 trees, learning rate 0.05, 63 leaves), every column
  label-encoded except the four ID columns (declaration, declarant, importer, seller) and the
  date; the three numeric columns stay numeric. Trained on train.

Figures: precision@1/2/5/10 %, recall@1/2/5/10 %, AUC. The published anchor (Table 3 of the
paper) is LightGBM precision@5 % = 0.762 and @10 % = 0.641. Progress goes to stderr; the last
line of stdout is one JSON object ``{"model": {...}, "baseline": {...}}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``tests`` (shared_data) lives at the repository root
    sys.path.insert(0, str(ROOT))

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
from tests.shared_data import shared_file  # noqa: E402

from manafidh.adapters.risk_model import evaluate, train  # noqa: E402
from manafidh.domain.risk.features import RiskRecord, sweep  # noqa: E402

DATA = "data/kcs-customs-declarations"
ID_COLUMNS = ("Declaration ID", "Declarant ID", "Importer ID", "Seller ID")
LABELS = ("Fraud", "Critical Fraud")
NUMERIC = ("Tax Rate", "Net Mass", "Item Price")
ANCHOR = {"p5": 0.762, "p10": 0.641}

# Whose past outcomes are tracked. Pairs catch a trader's habit with one kind of goods or route.
ENTITY_KEYS = (
    "importer",
    "declarant",
    "seller",
    "courier",
    "hs6",
    "hs4",
    "hs2",
    "origin",
    "route",
    "office",
    "importer_hs6",
    "importer_declarant",
    "declarant_hs6",
    "seller_hs6",
    "origin_hs6",
    "office_hs4",
    "tax_type",
)


def _load(name: str) -> list[dict[str, str]]:
    path = shared_file(f"{DATA}/{name}")
    if path is None:
        sys.exit(f"../shared/{DATA}/{name} is not present (see /work/shared/data/SOURCES.md)")
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def record(row: dict[str, str]) -> RiskRecord:
    """A KCS row as the product's risk record (the dataset's fields mapped to Manafidh's)."""
    hs6 = row["HS6 Code"].zfill(6)
    origin = row["Country of Origin"]
    dep = row["Country of Departure"]
    office = row["Office ID"]
    mass = _float(row["Net Mass"])
    price = _float(row["Item Price"])
    rate = _float(row["Tax Rate"])
    entities = {
        "importer": row["Importer ID"],
        "declarant": row["Declarant ID"],
        "seller": row["Seller ID"],
        "courier": row["Courier ID"],
        "hs6": hs6,
        "hs4": hs6[:4],
        "hs2": hs6[:2],
        "origin": origin,
        "route": f"{dep}>{origin}>{office}>{row['Mode of Transport']}",
        "office": office,
        "importer_hs6": f"{row['Importer ID']}|{hs6}",
        "importer_declarant": f"{row['Importer ID']}|{row['Declarant ID']}",
        "declarant_hs6": f"{row['Declarant ID']}|{hs6}",
        "seller_hs6": f"{row['Seller ID']}|{hs6}",
        "origin_hs6": f"{origin}|{hs6}",
        "office_hs4": f"{office}|{hs6[:4]}",
        "tax_type": row["Tax Type"],
    }
    categories = {
        "office": office,
        "process_type": row["Process Type"],
        "import_type": row["Import Type"],
        "import_use": row["Import Use"],
        "payment_type": row["Payment Type"],
        "transport": row["Mode of Transport"],
        "departure": dep,
        "origin": origin,
        "origin_indicator": row["Country of Origin Indicator"],
        "tax_type": row["Tax Type"],
        "hs2": hs6[:2],
        "hs4": hs6[:4],
        "has_courier": "1" if row["Courier ID"] else "0",
        "same_departure_origin": "1" if dep == origin else "0",
    }
    numbers = {
        "tax_rate": rate,
        "log_mass": math.log1p(mass) if mass >= 0 else math.nan,
        "log_value": math.log1p(price) if price >= 0 else math.nan,
        "log_value_per_kg": math.log((price + 1) / (mass + 1)) if price >= 0 <= mass else math.nan,
        "log_duty": math.log1p(price * rate / 100) if price >= 0 <= rate else math.nan,
        "hs6": float(hs6),
        "weekday": float(date.fromisoformat(row["Date"]).weekday()),
    }
    return RiskRecord(
        key=row["Declaration ID"],
        day=date.fromisoformat(row["Date"]),
        entities=entities,
        categories=categories,
        numbers=numbers,
        found=row["Fraud"] == "1",
    )


def baseline(train_rows, test_rows, threads: int) -> list[float]:
    """Plain LightGBM on label-encoded columns, as the brief and the paper describe it."""
    columns = [c for c in train_rows[0] if c not in (*ID_COLUMNS, *LABELS, "Date")]
    codes = {c: {} for c in columns if c not in NUMERIC}

    def encode(rows, grow: bool):
        x = np.full((len(rows), len(columns)), np.nan)
        for i, row in enumerate(rows):
            for j, c in enumerate(columns):
                if c in NUMERIC:
                    x[i, j] = _float(row[c])
                else:
                    vocab = codes[c]
                    if grow and row[c] not in vocab:
                        vocab[row[c]] = len(vocab)
                    x[i, j] = vocab.get(row[c], np.nan)
        return x

    y = np.array([row["Fraud"] == "1" for row in train_rows])
    model = lgb.LGBMClassifier(
        n_estimators=400,
        learning_rate=0.05,
        num_leaves=63,
        n_jobs=threads,
        random_state=7,
        verbose=-1,
    )
    model.fit(encode(train_rows, grow=True), y)
    return [float(p) for p in model.predict_proba(encode(test_rows, grow=False))[:, 1]]


def _table(results: dict[str, dict[str, float]]) -> None:
    names = ["p1", "p2", "p5", "p10", "r1", "r2", "r5", "r10", "auc"]
    print(f"{'':10}" + "".join(f"{n:>8}" for n in names))
    for label, m in results.items():
        print(f"{label:10}" + "".join(f"{m[n]:8.3f}" for n in names))
    print(
        f"{'anchor':10}"
        + "".join(f"{ANCHOR[n]:8.3f}" if n in ANCHOR else f"{'':>8}" for n in names)
    )


def main() -> None:
    """Run both models on the chronological split and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="LightGBM threads (2-core machine)")
    ap.add_argument("--quick", action="store_true", help="one setting, not the grid (a smoke run)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    train_rows, valid_rows, test_rows = (
        _load(f"df_syn_{s}_eng.csv") for s in ("train", "valid", "test")
    )
    print(
        f"rows: train {len(train_rows)}, valid {len(valid_rows)}, test {len(test_rows)}",
        file=sys.stderr,
    )
    train_rec = [record(r) for r in train_rows]
    valid_rec = [record(r) for r in valid_rows]
    test_rec = [record(r) for r in test_rows]
    labels = [bool(r.found) for r in test_rec]

    grid = {
        "history": [True],
        "num_leaves": [31],
        "learning_rate": [0.05],
        "min_child_samples": [20],
    }
    model = train(
        train_rec,
        valid_rec,
        entity_keys=ENTITY_KEYS,
        threads=args.threads,
        grid=grid if args.quick else None,
    )
    print(
        f"model trained in {time.perf_counter() - t0:.1f} s: {model.metadata['params']}",
        file=sys.stderr,
    )
    # Test declarations are scored with what was known when they were lodged *without* any test
    # outcome: the history of train and valid, frozen at the end of valid.
    _, known = sweep(train_rec + valid_rec, ENTITY_KEYS)
    scores = model.score(test_rec, history=known)
    results = {"model": evaluate(scores, labels)}
    t1 = time.perf_counter()
    results["baseline"] = evaluate(baseline(train_rows, test_rows, args.threads), labels)
    print(f"baseline trained in {time.perf_counter() - t1:.1f} s", file=sys.stderr)
    _table(results)
    print("settings tried on valid (kept: the best p5 + p10 + auc/2):")
    for trial in model.metadata["trials"]:
        print(
            "  "
            + ", ".join(
                f"{k}={round(v, 3) if isinstance(v, float) else v}" for k, v in trial.items()
            )
        )
    print(
        json.dumps(
            {
                k: {n: round(m[n], 4) for n in ("p1", "p2", "p5", "p10", "auc")}
                for k, m in results.items()
            }
        )
    )


if __name__ == "__main__":
    main()
