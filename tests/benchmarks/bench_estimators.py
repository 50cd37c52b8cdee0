"""Held-out score of the tuned estimators vs LightGBM defaults, same split, 3 shared datasets.

    python tests/benchmarks/bench_estimators.py [--timeout 60] [--data-dir DIR]

adult (binary, its original train/test split), letter (multiclass, seeded stratified 80/20),
diamonds (regression, seeded 80/20). BoostTune{Classifier,Regressor} gets `--timeout` seconds
(whole fit, finalize included); LGBMClassifier/LGBMRegressor run with their defaults.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import lightgbm as lgb
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from boosttune import BoostTuneClassifier, BoostTuneRegressor  # noqa: E402


def splits(data_dir: Path) -> dict:
    adult = pd.read_csv(data_dir / "adult.csv.gz")
    train, test = adult[adult.split == "train"], adult[adult.split == "test"]
    letter = pd.read_csv(data_dir / "letter.csv.gz")
    diamonds = pd.read_csv(data_dir / "diamonds.csv.gz")
    return {
        "adult": (train.drop(columns=["class", "split"]), test.drop(columns=["class", "split"]),
                  train["class"], test["class"]),
        "letter": train_test_split(letter.drop(columns="lettr"), letter["lettr"], test_size=0.2,
                                   random_state=0, stratify=letter["lettr"]),
        "diamonds": train_test_split(diamonds.drop(columns="price"), diamonds["price"],
                                     test_size=0.2, random_state=0),
    }


def categorical(frame: pd.DataFrame) -> pd.DataFrame:
    # LGBM*'s own convention: pandas category columns (it cannot read strings)
    return frame.astype({c: "category" for c in frame.columns if frame[c].dtype != "int64"
                         and not pd.api.types.is_float_dtype(frame[c])})


def scores(name: str, model, X_test, y_test) -> dict:
    if name == "diamonds":
        return {"rmse": root_mean_squared_error(y_test, model.predict(X_test))}
    proba = model.predict_proba(X_test)
    if name == "adult":
        return {"auc": roc_auc_score(y_test == ">50K", proba[:, 1]),
                "accuracy": accuracy_score(y_test, model.predict(X_test))}
    return {"logloss": log_loss(y_test, proba, labels=model.classes_),
            "accuracy": accuracy_score(y_test, model.predict(X_test))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    threads = os.cpu_count() or 2
    rows = []
    for name, (X_train, X_test, y_train, y_test) in splits(args.data_dir).items():
        regression = name == "diamonds"
        tuned = (BoostTuneRegressor if regression else BoostTuneClassifier)(
            n_trials=None, timeout=args.timeout, n_jobs=threads)
        default = (lgb.LGBMRegressor if regression else lgb.LGBMClassifier)(verbose=-1,
                                                                           n_jobs=threads)
        for method, model, Xtr, Xte in (("boosttune", tuned, X_train, X_test),
                                        ("lgbm_default", default, categorical(X_train),
                                         categorical(X_test))):
            started = time.perf_counter()
            model.fit(Xtr, y_train)
            row = {"dataset": name, "method": method, "train_rows": len(Xtr),
                   "fit_seconds": time.perf_counter() - started,
                   **scores(name, model, Xte, y_test)}
            if method == "boosttune":
                row["trials"] = len(model.cv_results_["params"])
            rows.append(row)
            print(row, flush=True)
    print(f"\nheld-out scores, BoostTune timeout {args.timeout:g} s, {threads} threads")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}",
                                       na_rep=""))


if __name__ == "__main__":
    main()
