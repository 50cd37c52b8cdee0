"""Cross-validation of one param set on a backend's fixed folds: the unit of work of a trial
and of every re-run in finalize."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from boosttune.backends.base import Backend, Cut
from boosttune.core.results import CVRun, FoldFit
from boosttune.core.statistics import empty_predictions, fold_score

AfterFold = Callable[[int, list[float]], None]


def cross_validate(
    backend: Backend,
    params: dict[str, Any],
    seed: int,
    *,
    after_fold: AfterFold | None = None,
    stop: Cut | None = None,
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
