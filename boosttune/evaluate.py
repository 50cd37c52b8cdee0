"""Cross-validation of one param set, and its re-run over seeds.

Score definition (documented, and what tests recompute): a seed's CV score is the mean of its
fold scores; the reported score is the mean over seeds, with the standard deviation over seeds.
``oof_score`` is the mean over folds of the metric on the seed-averaged OOF predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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

    @property
    def n_seeds(self) -> int:
        return len(self.per_seed)

    def __str__(self) -> str:
        n_folds = self.table["fold"].nunique()
        return (f"{self.metric} {self.mean:.5f} ± {self.std:.5f} "
                f"({self.n_seeds} seed(s) × {n_folds} folds)")


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
    train_curve: bool = False,
) -> CVRun:
    """Fit every fold; ``after_fold(k, scores_so_far)`` may raise to stop early (pruning)."""
    task = backend.task
    oof = empty_predictions(task, task.n_rows)
    fits: list[FoldFit] = []
    scores: list[float] = []
    for k in range(backend.folds.n_splits):
        fit = backend.fit_fold(params, k, seed, train_curve=train_curve, stop=stop)
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


def seed_average(
    backends: Sequence[Backend],
    params: dict[str, Any],
    seeds: Sequence[int],
    reuse: CVRun | None = None,
) -> SeedAverage:
    """Re-run ``params`` once per seed (backends[i] holds seed i's folds); ``reuse`` is an
    already finished run for seeds[0] on backends[0], so the search's best run is not redone.
    """
    runs = []
    for i, (backend, seed) in enumerate(zip(backends, seeds, strict=True)):
        done = i == 0 and reuse is not None and reuse.seed == seed
        runs.append(reuse if done and reuse else cross_validate(backend, params, seed,
                                                                train_curve=True))
    task = backends[0].task
    oof = np.nanmean(np.stack([r.oof for r in runs]), axis=0) if len(runs) > 1 else runs[0].oof
    return SeedAverage(runs, oof, _score(task, backends[0].folds, runs, oof))


def _score(task: Task, folds: Folds, runs: list[CVRun], oof: np.ndarray) -> CVScore:
    table = pd.DataFrame([
        {"seed": r.seed, "fold": f.fold, "score": s, "n_rounds": f.n_rounds}
        for r in runs for f, s in zip(r.fits, r.fold_scores, strict=True)
    ])
    per_seed = [r.score for r in runs]
    oof_score = float(np.mean([fold_score(task, valid, oof[valid]) for _, valid in folds.splits]))
    std = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0
    return CVScore(task.metric.name, task.metric.direction, float(np.mean(per_seed)), std,
                   per_seed, table, oof_score)
