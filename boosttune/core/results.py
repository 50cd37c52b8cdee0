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

    @property
    def n_seeds(self) -> int:
        return len(self.per_seed)

    def __str__(self) -> str:
        n_folds = self.table["fold"].nunique()
        low, high = self.interval
        return (f"{self.metric} {self.mean:.5f} ± {self.std:.5f} over "
                f"{self.n_seeds} seed(s) × {n_folds} folds; 95% interval "
                f"[{low:.5f}, {high:.5f}]")

    def summary(self) -> dict[str, Any]:
        """The manifest's score section (the table goes to scores.csv)."""
        return {"metric": self.metric, "direction": self.direction, "mean": self.mean,
                "std": self.std, "per_seed": self.per_seed, "oof_score": self.oof_score,
                "std_error": self.std_error, "interval_95": list(self.interval),
                "definition": SCORE_DEFINITION}

    @classmethod
    def from_summary(cls, summary: dict[str, Any], table: pd.DataFrame) -> CVScore:
        return cls(summary["metric"], summary["direction"], summary["mean"], summary["std"],
                   summary["per_seed"], table, summary["oof_score"], summary["std_error"],
                   tuple(summary["interval_95"]))


SCORE_DEFINITION = ("per seed: mean of fold scores; reported: mean and std over seeds; "
                    "oof_score: mean over folds of the seed-averaged OOF; std_error: "
                    "Nadeau-Bengio corrected over folds x seeds; interval_95: mean +- "
                    "t(0.975, J-1) std_error")


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
