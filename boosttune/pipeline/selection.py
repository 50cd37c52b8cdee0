"""Choosing among the search's best trials: the top k re-run over every seed, picked by the
mean or by a lower confidence bound."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from boosttune.backends.base import Backend
from boosttune.core.results import CVRun
from boosttune.core.statistics import corrected_std_error, valid_to_train
from boosttune.search.crossval import cross_validate


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
    sign = task.metric.goal.sign
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
