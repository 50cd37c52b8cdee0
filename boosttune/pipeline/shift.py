"""Train/test shift check by adversarial validation.

Cross-validation scores only predict the score on the test rows when the test rows are drawn
like the training rows. Adversarial validation checks that: label every training row 0 and
every test row 1, and cross-validate a classifier that tries to tell them apart. When the two
come from one distribution it cannot (out-of-fold AUC near 0.5); when they differ (ids or
dates that grow, a split sorted by some column, a test set from another period or place) it
can, and the features it splits on most say where they differ.

``check_shift`` samples up to ``max_rows`` rows of each side, runs a stratified 3-fold CV of a
small fixed LightGBM model (100 rounds, 15 leaves, one seed, deterministic) and returns a
:class:`ShiftCheck`: the out-of-fold AUC, the features with the largest share of the split
gain summed over the folds, and whether the AUC is above ``SHIFT_AUC``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from boosttune.core.task import Task

# Out-of-fold AUC above which train and test count as shifted. Measured with
# tests/benchmarks/bench_shift.py (8 datasets x seeds 0,1,2, max_rows 20000, 1 thread;
# results/shift_check.txt):
#   random 80/20 splits          max 0.529 (house_prices, 1460 rows), mean 0.503: 0/24 flagged
#   adult's original train/test  0.499-0.504: 0/3 flagged
#   sorted by 1st numeric column min 0.997 (letter), the others 1.000: 24/24 flagged
#   random splits of 1000 rows   max 0.553; of 300 rows max 0.631: 1/24 flagged (chance is
#                                wide on small data: below ~300 rows expect some false alarms)
#   30% of test rows from the sorted tail 0.569-0.633 (22/24 flagged); 50%: 0.685-0.726 (all)
# 0.60 stays quiet on every random split of 1000+ rows and still flags milder shifts than a
# sorted split; 0.70 would miss all the 30% ones and the 50% ones on house_prices (0.685-0.699).
SHIFT_AUC = 0.60

FOLDS = 3
MIN_ROWS = 20
MIN_SECONDS = 1.0
TOP_FEATURES = 5
NAMED_IN_WARNING = 3
NAMED_SHARE = 0.05  # later features the warning names need this share of the gain
ROUNDS = 100


@dataclass
class ShiftCheck:
    """The outcome of one adversarial-validation check."""

    auc: float
    features: list[tuple[str, float]]
    threshold: float
    n_train: int
    n_test: int
    seconds: float

    @property
    def shifted(self) -> bool:
        return self.auc > self.threshold

    def summary(self) -> dict[str, Any]:
        """JSON-safe: plain floats, ints, bools, strings and lists."""
        return {
            "auc": float(self.auc),
            "shifted": bool(self.shifted),
            "threshold": float(self.threshold),
            "features": [{"feature": str(name), "gain_share": float(share)}
                         for name, share in self.features],
            "n_train": int(self.n_train),
            "n_test": int(self.n_test),
            "seconds": float(self.seconds),
        }

    def warning(self) -> str | None:
        """One line for the run's log when shifted, else None."""
        if not self.shifted:
            return None
        named = ", ".join(f"{name!r} ({share:.0%} of its gain)" if i == 0 else
                          f"{name!r} ({share:.0%})"
                          for i, (name, share) in enumerate(self._named()))
        where = f"; most of all by {named}" if named else ""
        return (f"train and test rows differ: a classifier tells them apart with AUC "
                f"{self.auc:.2f} (threshold {self.threshold:.2f}){where}. CV scores may not carry "
                "over to the test rows: check these columns (ids, dates, a sorted split).")

    def _named(self) -> list[tuple[str, float]]:
        """The top feature, and the next ones with a share worth naming."""
        head = self.features[:NAMED_IN_WARNING]
        return head[:1] + [(name, share) for name, share in head[1:] if share >= NAMED_SHARE]


def check_shift(X_train: np.ndarray, X_test: np.ndarray, columns: list[str],
                categorical: list[int], seed: int, threads: int,
                max_rows: int = 20_000, seconds: float | None = None) -> ShiftCheck | None:
    """Adversarial validation of ``X_train`` against ``X_test`` (same columns, float codes).

    Returns None when there is nothing to check: fewer than 20 rows on a side, no columns, or
    a time budget ``seconds`` under one second.
    """
    if seconds is not None and seconds < MIN_SECONDS:
        return None
    if min(len(X_train), len(X_test)) < MIN_ROWS or len(columns) == 0:
        return None
    if X_train.shape[1] != len(columns) or X_test.shape[1] != len(columns):
        raise ValueError(f"X_train has {X_train.shape[1]} and X_test {X_test.shape[1]} columns "
                         f"but {len(columns)} column names were given.")
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    train, test = _sample(X_train, max_rows, rng), _sample(X_test, max_rows, rng)
    X = np.vstack([train, test]).astype(np.float64, copy=False)
    y = np.r_[np.zeros(len(train)), np.ones(len(test))]
    oof, gain = _cross_validate(X, y, categorical, seed, threads)
    auc = float(roc_auc_score(y, oof))
    return ShiftCheck(auc, _top_features(gain, columns), threshold(len(train), len(test)),
                      len(train), len(test), time.perf_counter() - start)


def threshold(n_train: int, n_test: int) -> float:
    """SHIFT_AUC, raised on small data to 4 standard deviations above 0.5 of the AUC of rows
    that do not differ (Mann–Whitney: var = (n₀ + n₁ + 1) / (12 n₀ n₁)): 300 rows split
    240/60 give 0.67, where a random split reached 0.631."""
    chance = np.sqrt((n_train + n_test + 1) / (12 * n_train * n_test))
    return float(max(SHIFT_AUC, 0.5 + 4 * chance))


def shift_of(task: Task, seed: int, threads: int, seconds: float | None) -> ShiftCheck | None:
    """The check on a task's training and test rows (None without test rows)."""
    if task.X_test is None:
        return None
    return check_shift(task.X, task.X_test, task.encoder.columns,
                       task.encoder.categorical_indices, seed, threads, seconds=seconds)


def _sample(X: np.ndarray, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    if len(X) <= max_rows:
        return np.asarray(X)
    return np.asarray(X)[np.sort(rng.choice(len(X), size=max_rows, replace=False))]


def _params(seed: int, threads: int) -> dict[str, Any]:
    return {"objective": "binary", "learning_rate": 0.1, "num_leaves": 15,
            "min_data_in_leaf": 20, "feature_fraction": 0.8, "verbose": -1,
            "num_threads": threads, "seed": seed, "deterministic": True}


def _cross_validate(X: np.ndarray, y: np.ndarray, categorical: list[int], seed: int,
                    threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities of 'test row' and the split gain per feature, summed."""
    oof = np.zeros(len(y))
    gain = np.zeros(X.shape[1])
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for fit_rows, held_rows in folds.split(X, y):
        booster = _fit(X[fit_rows], y[fit_rows], categorical, seed, threads)
        oof[held_rows] = booster.predict(X[held_rows])
        gain += booster.feature_importance("gain")
    return oof, gain


def _fit(X: np.ndarray, y: np.ndarray, categorical: list[int], seed: int,
         threads: int) -> lgb.Booster:
    params = _params(seed, threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = lgb.Dataset(X, label=y, categorical_feature=list(categorical),
                           params={"verbose": -1}, free_raw_data=True)
        return lgb.train(params, data, num_boost_round=ROUNDS)


def _top_features(gain: np.ndarray, columns: list[str]) -> list[tuple[str, float]]:
    total = float(gain.sum())
    if total <= 0:
        return []
    order = np.argsort(-gain, kind="stable")[:TOP_FEATURES]
    return [(columns[i], float(gain[i] / total)) for i in order if gain[i] > 0]
