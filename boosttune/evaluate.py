"""Cross-validation of one param set, and its re-run over seeds.

Score definition (documented, and what tests recompute): a seed's CV score is the mean of its
fold scores; the reported score is the mean over seeds, with the standard deviation over seeds.
``oof_score`` is the mean over folds of the metric on the seed-averaged OOF predictions.

Standard error (``std_error``) and 95% interval: over the J = folds × seeds fold scores with
variance s², corrected for the overlap of training sets (Nadeau & Bengio, 2003):
SE² = (1/J + n_valid/n_train) · s²; interval = mean ± t(0.975, J−1) · SE. Fold scores of one
fold are correlated across seeds and training sets overlap, which the plain s²/J ignores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from boosttune.backends import Backend, FoldFit
from boosttune.cv import Folds
from boosttune.task import Task

AfterFold = Callable[[int, list[float]], None]


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


def corrected_std_error(values: np.ndarray, valid_to_train: float) -> float:
    """Nadeau–Bengio standard error of the mean of J resampled scores (see module doc)."""
    if len(values) < 2:
        return float("nan")
    return float(np.sqrt((1 / len(values) + valid_to_train) * np.var(values, ddof=1)))


def interval(mean: float, std_error: float, n: int, level: float = 0.95) -> tuple[float, float]:
    if not np.isfinite(std_error) or n < 2:
        return (float("nan"), float("nan"))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std_error
    return (mean - half, mean + half)


def target_of(task: Task, rows: np.ndarray) -> np.ndarray:
    y = task.y[rows]
    return y.astype(np.int64) if task.kind != "regression" else y


def fold_score(task: Task, rows: np.ndarray, pred: np.ndarray) -> float:
    weights = None if task.weights is None else task.weights[rows]
    return task.metric(target_of(task, rows), pred, weights)


def empty_predictions(task: Task, n_rows: int) -> np.ndarray:
    shape = (n_rows, task.n_classes) if task.kind == "multiclass" else (n_rows,)
    return np.full(shape, np.nan)


def cross_validate(
    backend: Backend,
    params: dict[str, Any],
    seed: int,
    *,
    after_fold: AfterFold | None = None,
    stop: Callable[[], bool] | None = None,
) -> CVRun:
    """Fit every fold; ``after_fold(k, scores_so_far)`` may raise to stop early (pruning)."""
    task = backend.task
    oof = empty_predictions(task, task.n_rows)
    fits: list[FoldFit] = []
    scores: list[float] = []
    for k in range(backend.folds.n_splits):
        fit = backend.fit_fold(params, k, seed, stop=stop)
        valid = backend.parts(k).valid
        oof[valid] = fit.valid_pred
        fits.append(fit)
        scores.append(fold_score(task, valid, fit.valid_pred))
        if after_fold is not None:
            after_fold(k, scores)
    return CVRun(seed, fits, scores, oof)


@dataclass
class SeedAverage:
    runs: list[CVRun]
    oof: np.ndarray
    score: CVScore


def _score(task: Task, folds: Folds, runs: list[CVRun], oof: np.ndarray) -> CVScore:
    table = pd.DataFrame([
        {"seed": r.seed, "fold": f.fold, "score": s, "n_rounds": f.n_rounds}
        for r in runs for f, s in zip(r.fits, r.fold_scores, strict=True)
    ])
    per_seed = [r.score for r in runs]
    oof_score = float(np.mean([fold_score(task, valid, oof[valid]) for _, valid in folds.splits]))
    std = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0
    mean = float(np.mean(per_seed))
    se = corrected_std_error(table["score"].to_numpy(), valid_to_train(folds))
    return CVScore(task.metric.name, task.metric.direction, mean, std, per_seed, table,
                   oof_score, se, interval(mean, se, len(table)))


def valid_to_train(folds: Folds) -> float:
    return float(np.mean([len(v) / len(t) for t, v in folds.splits]))


def paired_difference(runs_a: Sequence[CVRun], runs_b: Sequence[CVRun], direction: str,
                      folds: Folds) -> dict[str, float]:
    """How much better A scores than B on the same (seed, fold) cells, with its uncertainty.

    Positive means A is better in the metric's direction; the standard error is the corrected
    one of the module doc, over the paired per-fold differences.
    """
    sign = 1.0 if direction == "maximize" else -1.0
    diffs = np.array([sign * (a - b) for ra, rb in zip(runs_a, runs_b, strict=True)
                      for a, b in zip(ra.fold_scores, rb.fold_scores, strict=True)])
    se = corrected_std_error(diffs, valid_to_train(folds))
    mean = float(diffs.mean())
    low, high = interval(mean, se, len(diffs))
    return {"difference": mean, "std_error": se, "interval_95_low": low,
            "interval_95_high": high, "cells": len(diffs)}


@dataclass
class Candidate:
    trial: int
    search_score: float
    params: dict[str, Any]
    runs: list[CVRun]

    def pooled(self) -> np.ndarray:
        return np.array([s for r in self.runs for s in r.fold_scores])


def select_robust(
    backends: Sequence[Backend],
    candidates: Sequence[tuple[int, float, dict[str, Any]]],
    seeds: Sequence[int],
    reuse: CVRun | None,
    select: str,
) -> tuple[Candidate, pd.DataFrame]:
    """Re-evaluate the top-k (trial, search score, params) over every seed; pick by the mean
    or by the lower confidence bound (mean − SE in the metric's direction). ``reuse`` is the
    search's own run of the first candidate, if this process has it."""
    task, folds = backends[0].task, backends[0].folds
    sign = 1.0 if task.metric.greater_is_better else -1.0
    ratio = valid_to_train(folds)
    evaluated, rows = [], []
    for rank, (trial, search_score, params) in enumerate(candidates):
        runs = [reuse if reuse is not None and rank == 0 and reuse.seed == s
                and b is backends[0]
                else cross_validate(b, params, s)
                for b, s in zip(backends, seeds, strict=True)]
        candidate = Candidate(trial, search_score, params, runs)
        pooled = candidate.pooled()
        se = corrected_std_error(pooled, ratio)
        mean = float(np.mean([r.score for r in runs]))
        rows.append({"trial": trial, "search_rank": rank + 1, "search_score": search_score,
                     "mean": mean, "std_error": se,
                     "bound": mean - sign * (se if np.isfinite(se) else 0.0)})
        evaluated.append(candidate)
    table = pd.DataFrame(rows)
    key = "bound" if select == "lcb" else "mean"
    order = (-sign * table[key]).rank(method="first").astype(int)
    table["selected_rank"] = order
    return evaluated[int(np.argmin(order.to_numpy()))], table


def summarize_runs(task: Task, folds: Folds, runs: list[CVRun]) -> SeedAverage:
    oof = np.nanmean(np.stack([r.oof for r in runs]), axis=0) if len(runs) > 1 else runs[0].oof
    return SeedAverage(runs, oof, _score(task, folds, runs, oof))
