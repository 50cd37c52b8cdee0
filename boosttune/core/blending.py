"""Ensemble selection (Caruana et al. 2004): greedy forward selection with replacement of the
candidates whose average out-of-fold prediction scores best, and its honest CV score.

Selecting on the OOF predictions flatters the ensemble's OOF score, so the honest score
selects on the other folds' rows and scores the held-out fold, fold by fold: the held-out
rows never helped choose the weights they are scored with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from boosttune.core.folds import Folds
from boosttune.core.statistics import fold_score
from boosttune.core.task import Task

ROUNDS = 30  # greedy steps at most: the weights are multiples of 1/ROUNDS at their finest
MAX_ROWS = 20_000  # rows the weights are chosen on (a seeded sample of larger data)


@dataclass
class Selection:
    """Weights over the candidates (summing to 1) and the ensemble's two CV scores."""

    weights: np.ndarray
    honest_score: float  # mean over folds of a fold scored with weights chosen without it
    oof_score: float  # mean over folds with the weights chosen on every fold (flattering)
    honest_fold_scores: list[float]


def blend(preds: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """The weighted average of the candidates' predictions."""
    return np.sum([w * p for w, p in zip(weights, preds, strict=True) if w > 0], axis=0)


def greedy_weights(task: Task, preds: list[np.ndarray], rows: np.ndarray,
                   rounds: int = ROUNDS) -> np.ndarray:
    """Caruana's selection on ``rows``: start from the best candidate, then add (with
    replacement) the one that most improves the average, keeping the best step reached."""
    goal = task.metric.goal
    counts = np.zeros(len(preds))
    total = np.zeros_like(preds[0][rows])
    best_counts, best_score = counts, None
    for step in range(rounds):
        scores = [fold_score(task, rows, (total + p[rows]) / (step + 1)) for p in preds]
        pick = int(np.argmax([goal.sign * s for s in scores]))
        counts = counts.copy()
        counts[pick] += 1
        total = total + preds[pick][rows]
        if best_score is None or goal.better(scores[pick], best_score):
            best_counts, best_score = counts, scores[pick]
    return best_counts / best_counts.sum()


def select(task: Task, folds: Folds, preds: list[np.ndarray],
           seconds: float | None = None) -> Selection:
    """The weights chosen on every validated row, with the flattering and the honest score;
    within ``seconds`` (fewer greedy rounds on large data), the weights chosen on at most
    MAX_ROWS rows."""
    validated = selection_rows(np.flatnonzero(folds.fold_of_row(task.n_rows) >= 0))
    started = time.perf_counter()
    weights = greedy_weights(task, preds, validated, rounds=1)
    rounds = _rounds(time.perf_counter() - started, folds.n_splits, seconds)
    weights = greedy_weights(task, preds, validated, rounds)
    mixed = blend(preds, weights)
    oof_scores = [fold_score(task, valid, mixed[valid]) for _, valid in folds.splits]
    honest = []
    for _, valid in folds.splits:
        others = np.setdiff1d(validated, valid)
        chosen = greedy_weights(task, preds, others, rounds)
        honest.append(fold_score(task, valid, blend(preds, chosen)[valid]))
    return Selection(weights, float(np.mean(honest)), float(np.mean(oof_scores)), honest)


def _rounds(step_seconds: float, n_splits: int, seconds: float | None) -> int:
    """Greedy rounds that fit: k + 1 selections of that many steps each."""
    if seconds is None:
        return ROUNDS
    return int(np.clip(seconds / max(step_seconds * (n_splits + 1), 1e-9), 2, ROUNDS))


def selection_rows(rows: np.ndarray) -> np.ndarray:
    """The rows the weights are chosen on: all, or a seeded sample of MAX_ROWS."""
    if len(rows) <= MAX_ROWS:
        return rows
    return np.sort(np.random.default_rng(0).choice(rows, MAX_ROWS, replace=False))
