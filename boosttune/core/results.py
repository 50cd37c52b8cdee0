"""Result types of the data flow: a fold's fit, a CV run, a score, a nested-CV report.

Plain data, no behaviour beyond summaries: every layer above reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from boosttune.core.metrics import Direction

Members: TypeAlias = list[tuple[Any, int]]  # (native model, rounds to use)
# mean prediction of members on an encoded matrix, given its categorical column indices
Predict: TypeAlias = Callable[[Members, np.ndarray, list[int]], np.ndarray]


@dataclass
class FoldFit:
    """One early-stopped fit on one fold."""

    fold: int
    seed: int
    n_rounds: int  # rounds kept (best iteration, 1-based)
    valid_pred: np.ndarray
    curves: dict[str, list[float]]
    model: Any
    seconds: float
    predict_seconds: float = 0.0  # of ``seconds``: predicting the validation rows


@dataclass
class CVRun:
    """One param set cross-validated with one seed."""

    seed: int
    fits: list[FoldFit]
    fold_scores: list[float]
    oof: np.ndarray  # NaN for rows that no fold validates

    @property
    def score(self) -> float:
        return float(np.mean(self.fold_scores))

    @property
    def mean_rounds(self) -> float:
        return float(np.mean([f.n_rounds for f in self.fits]))

    @property
    def seconds(self) -> float:
        return float(sum(f.seconds for f in self.fits))


@dataclass
class Kept:
    """A trial kept for an ensemble: its params, CV score, OOF predictions and fold models."""

    model: str  # the backend
    trial: int
    params: dict[str, Any]
    score: float
    oof: np.ndarray
    members: Members  # the fold models, (model, rounds)
    predict: Predict  # the backend's
    seconds: float = 0.0  # its CV run's training time
    bytes: int = 0  # its OOF array and pickled fold models

    @property
    def oof_bytes(self) -> int:
        return int(self.oof.nbytes)


@dataclass
class Estimate:
    """What the predictor delivered (fold-model average, refit, blend or ensemble) should
    score, beside the CV score of one fold model, and a 95% prediction interval for the score
    on ``n_test`` new rows; the public/private spread of a leaderboard split of those rows."""

    cv_score: float  # one fold model's CV mean (what CVScore.mean reports)
    delivered: float  # the delivered predictor's estimate: cv_score + gain + selection
    gain: float  # of delivering (averaging, refit) over one fold model, in the metric's units
    gain_std_error: float
    folds_checked: int  # outer training parts the delivery was replicated in (0: none)
    basis: str  # how the gain was measured, or why it was not
    n_test: int | None = None
    interval: tuple[float, float] = (float("nan"), float("nan"))  # for n_test rows
    estimate_std_error: float = float("nan")  # of the delivered estimate
    test_std_error: float = float("nan")  # of a score on n_test rows (bootstrap of OOF rows)
    public_share: float | None = None
    public_private_sd: float | None = None  # sd of public − private score at that share
    learning_step: float = 0.0  # of the gain: one fold model against one on (k−1)/k its rows
    selection: float = 0.0  # how much choosing the trial by CV flatters it (≤ 0: flatters)

    def __str__(self) -> str:
        text = f"delivered predictor est. {self.delivered:.5f}"
        if self.n_test is not None and np.isfinite(self.interval[0]):
            low, high = self.interval
            text += f"; 95% prediction interval on {self.n_test} test rows [{low:.5f}, {high:.5f}]"
        if self.public_private_sd is not None:
            text += (f"; public−private spread ±{1.96 * self.public_private_sd:.5f} "
                     f"at a {self.public_share:.0%} public share")
        return text

    def summary(self) -> dict[str, Any]:
        return {**{k: v for k, v in vars(self).items() if k != "interval"},
                "interval_95": list(self.interval), "definition": ESTIMATE_DEFINITION}

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> Estimate:
        fields = {k: v for k, v in summary.items() if k not in ("interval_95", "definition")}
        return cls(**fields, interval=tuple(summary["interval_95"]))


ESTIMATE_DEFINITION = (
    "delivered = cv_score + gain + selection; selection: the chosen trial's score minus the "
    "best score of any complete trial, fold by fold, averaged (Tibshirani & Tibshirani "
    "2009; 0 for an ensemble, scored on held-out folds); gain: with test rows and an RMSE, "
    "RMSLE or log loss, the delivered models' mean spread around their weighted average on "
    "the test rows (squared error; for log loss the weighted KL divergence of the average "
    "from each model), less an ensemble's OOF blend's own spread, taken off one model's "
    "score (basis says which); else the delivery (fold-model "
    "average, refit, blend) replicated inside outer training parts, scored on the outer "
    "rows against that part's fold model, plus learning_step (that fold model's score, "
    "at the rounds the replica's inner folds chose where it early-stopped on its own "
    "validation rows, minus the mean score of the replica's inner fold models, trained on "
    "(k-1)/k of the part); interval_95: delivered +- 1.96 sqrt(estimate_std_error^2 + "
    "test_std_error^2) on the metric's unbounded scale (logit, log); test_std_error: "
    "bootstrap of n_test OOF rows; public_private_sd: sd of the score difference of a "
    "public_share / rest split of n_test bootstrapped rows")


@dataclass
class CVScore:
    """A score with its spread over seeds and the per-seed, per-fold table."""

    metric: str
    direction: str
    mean: float
    std: float
    per_seed: list[float]
    table: pd.DataFrame  # columns: seed, fold, score, n_rounds
    oof_score: float
    std_error: float = float("nan")
    interval: tuple[float, float] = (float("nan"), float("nan"))
    delivered: Estimate | None = None  # what the predictor delivered should score

    @property
    def n_seeds(self) -> int:
        return len(self.per_seed)

    def __str__(self) -> str:
        n_folds = self.table["fold"].nunique()
        low, high = self.interval
        return (f"{self.metric} {self.mean:.5f} ± {self.std:.5f} over "
                f"{self.n_seeds} seed(s) × {n_folds} folds; 95% interval "
                f"[{low:.5f}, {high:.5f}] (one fold model)"
                + ("" if self.delivered is None else f"; {self.delivered}"))

    def summary(self) -> dict[str, Any]:
        """The manifest's score section (the table goes to scores.csv)."""
        return {"metric": self.metric, "direction": self.direction, "mean": self.mean,
                "std": self.std, "per_seed": self.per_seed, "oof_score": self.oof_score,
                "std_error": self.std_error, "interval_95": list(self.interval),
                "definition": SCORE_DEFINITION,
                "delivered": None if self.delivered is None else self.delivered.summary()}

    @classmethod
    def from_summary(cls, summary: dict[str, Any], table: pd.DataFrame) -> CVScore:
        return cls(summary["metric"], summary["direction"], summary["mean"], summary["std"],
                   summary["per_seed"], table, summary["oof_score"], summary["std_error"],
                   tuple(summary["interval_95"]),
                   None if summary.get("delivered") is None
                   else Estimate.from_summary(summary["delivered"]))


SCORE_DEFINITION = ("per seed: mean of fold scores; reported: mean and std over seeds; "
                    "oof_score: mean over folds of the seed-averaged OOF; std_error: "
                    "Nadeau-Bengio corrected over folds x seeds; interval_95: mean +- "
                    "t(0.975, J-1) std_error on the metric's unbounded scale (logit for "
                    "AUC/accuracy/F1, log for losses and errors), so it stays in range")


@dataclass
class SeedAverage:
    runs: list[CVRun]
    oof: np.ndarray
    score: CVScore


@dataclass
class NestedReport:
    """Per outer fold: the inner best CV score, the outer score and the chosen params."""

    metric: str
    direction: str
    table: pd.DataFrame  # outer_fold, inner_best, outer_score, n_trials, param_<name>...
    std_error: float
    interval: tuple[float, float]

    @property
    def inner_mean(self) -> float:
        return float(self.table["inner_best"].mean())

    @property
    def outer_mean(self) -> float:
        return float(self.table["outer_score"].mean())

    @property
    def optimism(self) -> float:
        """How much better the inner best looks than the outer truth (positive: optimistic)."""
        return Direction.of(self.direction).sign * (self.inner_mean - self.outer_mean)

    def param_spread(self) -> dict[str, dict[str, Any]]:
        """Numeric params: min, max and relative spread; others: most common value, share."""
        spread: dict[str, dict[str, Any]] = {}
        for column in (c for c in self.table.columns if c.startswith("param_")):
            values = self.table[column].dropna()
            if pd.api.types.is_numeric_dtype(values):
                mean = float(values.mean())
                spread[column[6:]] = {"min": float(values.min()), "max": float(values.max()),
                                      "rel_std": float(values.std(ddof=0) / mean) if mean else 0.0}
            else:
                counts = values.value_counts()
                spread[column[6:]] = {"mode": counts.index[0],
                                      "share": float(counts.iloc[0] / len(values))}
        return spread

    def summary(self) -> dict[str, Any]:
        return {"metric": self.metric, "outer_folds": len(self.table),
                "inner_best_mean": self.inner_mean, "outer_mean": self.outer_mean,
                "optimism": self.optimism, "outer_std_error": self.std_error,
                "outer_interval_95": list(self.interval), "param_spread": self.param_spread()}

    @classmethod
    def from_summary(cls, summary: dict[str, Any], direction: str,
                     table: pd.DataFrame) -> NestedReport:
        return cls(summary["metric"], direction, table, summary["outer_std_error"],
                   tuple(summary["outer_interval_95"]))

    def __str__(self) -> str:
        low, high = self.interval
        return (f"nested CV ({len(self.table)} outer folds): inner best {self.inner_mean:.5f}, "
                f"outer {self.outer_mean:.5f} [{low:.5f}, {high:.5f}], optimism of tuning "
                f"{self.optimism:+.5f} {self.metric}")
