"""Statistics of cross-validated scores: fold scores, seed averages, standard errors.

Score definition (documented, and what tests recompute): a seed's CV score is the mean of its
fold scores; the reported score is the mean over seeds, with the standard deviation over seeds.
``oof_score`` is the mean over folds of the metric on the seed-averaged OOF predictions.

Standard error (``std_error``) and 95% interval: over the J = folds × seeds fold scores with
variance s², corrected for the overlap of training sets (Nadeau & Bengio, 2003):
SE² = (1/J + n_valid/n_train) · s²; interval = mean ± t(0.975, J−1) · SE. Fold scores of one
fold are correlated across seeds and training sets overlap, which the plain s²/J ignores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from boosttune.core.errors import BoostTuneError, first_line
from boosttune.core.folds import Folds
from boosttune.core.metrics import Direction
from boosttune.core.results import CVRun, CVScore, SeedAverage
from boosttune.core.task import Task


def corrected_std_error(values: np.ndarray, valid_to_train: float) -> float:
    """Nadeau–Bengio standard error of the mean of J resampled scores (see module doc)."""
    if len(values) < 2:
        return float("nan")
    return float(np.sqrt((1 / len(values) + valid_to_train) * np.var(values, ddof=1)))


Bounds = tuple[float | None, float | None]


def interval(mean: float, std_error: float, n: int, level: float = 0.95,
             bounds: Bounds = (None, None)) -> tuple[float, float]:
    """mean ± t(level, n−1)·SE, worked out on a scale where the metric's range is unbounded
    (``bounds``) so that the interval stays inside it: logit for a score in [lo, hi], log for
    one above lo (the delta method carries the SE over)."""
    if not np.isfinite(std_error) or n < 2:
        return (float("nan"), float("nan"))
    return bounded_interval(mean, float(stats.t.ppf(0.5 + level / 2, n - 1)) * std_error,
                            bounds)


def bounded_interval(mean: float, half: float, bounds: Bounds) -> tuple[float, float]:
    """mean ± half, on the unbounded scale of ``bounds`` (see :func:`interval`), the half
    width carried over by the delta method."""
    return scale_interval(float(unbounded(mean, bounds)), half * slope(mean, bounds), bounds)


def scale_interval(centre: float, half: float, bounds: Bounds) -> tuple[float, float]:
    """centre ± half on the unbounded scale, back on the metric's."""
    low, high = (float(bounded(centre + sign * half, bounds)) for sign in (-1, 1))
    return (min(low, high), max(low, high))


def unbounded(x: float | np.ndarray, bounds: Bounds) -> np.ndarray:
    """The metric's scores on a scale without bounds: logit of the position in [lo, hi], log
    of the distance from one bound, the scores themselves without bounds."""
    low, high = bounds
    x = np.asarray(x, dtype=float)
    if low is not None and high is not None:
        p = np.clip((x - low) / (high - low), 1e-9, 1 - 1e-9)
        return np.log(p / (1 - p))
    if low is not None:
        return np.log(np.maximum(x - low, 1e-12))
    if high is not None:
        return -np.log(np.maximum(high - x, 1e-12))
    return x


def bounded(z: float | np.ndarray, bounds: Bounds) -> np.ndarray:
    """The inverse of :func:`unbounded`."""
    low, high = bounds
    z = np.asarray(z, dtype=float)
    if low is not None and high is not None:
        return low + (high - low) / (1 + np.exp(-z))
    if low is not None:
        return low + np.exp(z)
    if high is not None:
        return high - np.exp(-z)
    return z


def slope(x: float, bounds: Bounds) -> float:
    """The derivative of :func:`unbounded` at ``x``."""
    low, high = bounds
    if low is not None and high is not None:
        p = float(np.clip((x - low) / (high - low), 1e-9, 1 - 1e-9))
        return 1 / ((high - low) * p * (1 - p))
    if low is not None:
        return 1 / max(x - low, 1e-12)
    if high is not None:
        return 1 / max(high - x, 1e-12)
    return 1.0


def target_of(task: Task, rows: np.ndarray) -> np.ndarray:
    y = task.y[rows]
    return y.astype(np.int64) if task.kind != "regression" else y


def fold_score(task: Task, rows: np.ndarray, pred: np.ndarray) -> float:
    """The metric on one validation fold; a metric that fails or gives no finite number stops
    the run with its name (every trial would fail the same way)."""
    weights = None if task.weights is None else task.weights[rows]
    name = task.metric.name
    try:
        score = task.metric(target_of(task, rows), pred, weights)
    except BoostTuneError:
        raise
    except Exception as exc:
        raise BoostTuneError(f"The metric {name!r} failed on a validation fold of {len(rows)} "
                             f"rows: {type(exc).__name__}: {first_line(exc)}.") from None
    if not np.isfinite(score):
        raise BoostTuneError(f"The metric {name!r} returned {score!r} on a validation fold of "
                             f"{len(rows)} rows; a metric must return a finite number (a "
                             "custom one may divide by zero or take the log of 0).")
    return float(score)


def empty_predictions(task: Task, n_rows: int) -> np.ndarray:
    shape = (n_rows, task.n_classes) if task.kind == "multiclass" else (n_rows,)
    return np.full(shape, np.nan)


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
                   oof_score, se, interval(mean, se, len(table), bounds=task.metric.bounds))


def valid_to_train(folds: Folds) -> float:
    return float(np.mean([len(v) / len(t) for t, v in folds.splits]))


def paired_difference(runs_a: Sequence[CVRun], runs_b: Sequence[CVRun], direction: str,
                      folds: Folds) -> dict[str, float]:
    """How much better A scores than B on the same (seed, fold) cells, with its uncertainty.

    Positive means A is better in the metric's direction; the standard error is the corrected
    one of the module doc, over the paired per-fold differences.
    """
    sign = Direction.of(direction).sign
    diffs = np.array([sign * (a - b) for ra, rb in zip(runs_a, runs_b, strict=True)
                      for a, b in zip(ra.fold_scores, rb.fold_scores, strict=True)])
    se = corrected_std_error(diffs, valid_to_train(folds))
    mean = float(diffs.mean())
    low, high = interval(mean, se, len(diffs))
    return {"difference": mean, "std_error": se, "interval_95_low": low,
            "interval_95_high": high, "cells": len(diffs)}


def selection_optimism(fold_scores: np.ndarray, chosen: int, direction: str
                       ) -> tuple[float, float]:
    """How much choosing a trial by its CV score flatters that score, from the search's own
    fold scores (``fold_scores``: trials × folds; ``chosen``: the row chosen), after
    Tibshirani & Tibshirani (2009): on each fold, the chosen trial's score minus the best
    score any trial got there, averaged over the folds; with its standard error over them.
    Signed as the correction moves the score (≤ 0 for a score to maximize); (0, 0) for one
    trial."""
    if len(fold_scores) < 2:
        return 0.0, 0.0
    sign = Direction.of(direction).sign
    best = sign * np.max(sign * fold_scores, axis=0)
    differences = fold_scores[chosen] - best
    se = float(np.std(differences, ddof=1) / np.sqrt(len(differences))) \
        if len(differences) > 1 else 0.0
    return float(differences.mean()), se


def summarize_runs(task: Task, folds: Folds, runs: list[CVRun]) -> SeedAverage:
    oof = np.nanmean(np.stack([r.oof for r in runs]), axis=0) if len(runs) > 1 else runs[0].oof
    return SeedAverage(runs, oof, _score(task, folds, runs, oof))
