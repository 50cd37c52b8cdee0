"""Nested cross-validation: a whole tuning run inside each outer training part.

The outer score of a fold is the tuned models' score on the outer rows they never saw, in
search or in early stopping. The gap between the inner best CV score and the outer mean is the
optimism of tuning; the spread of the chosen params across outer folds shows how settled they
are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from boosttune.config import RunConfig
from boosttune.core.folds import make_folds
from boosttune.core.results import NestedReport
from boosttune.core.statistics import corrected_std_error, interval
from boosttune.core.task import Task
from boosttune.result import TuneResult

TuneInner = Callable[[pd.DataFrame, Any, RunConfig], TuneResult]


def nested_cv(task: Task, frame: pd.DataFrame, target: Any, outer: int, config: RunConfig,
              tune_inner: TuneInner) -> NestedReport:
    """Run ``tune_inner(rows, target, config)`` inside each of ``outer`` outer folds of
    ``task``'s rows (the pipeline's own run, passed in).

    ``frame`` and ``target`` are the caller's inputs (``target`` a column name or an array);
    array-valued groups and weights in ``config`` are sliced with the rows.
    """
    outer_folds = make_folds(task, outer, config.cv.scheme, seed=config.seed + 1_000)
    rows = []
    for k, (train, valid) in enumerate(outer_folds.splits):
        inner = replace(config, cv=replace(config.cv, groups=_rows(config.cv.groups, train,
                                                                   len(frame))),
                        evaluation=replace(config.evaluation, delivered=0),
                        data=replace(config.data, weights=_rows(config.data.weights, train,
                                                                len(frame))))
        result = tune_inner(frame.iloc[train], _rows(target, train, len(frame)), inner)
        pred = result.predict(frame.iloc[valid])
        rows.append({"outer_fold": k, "inner_best": float(task.metric.goal.best(
                        result.trials["value"].dropna())),
                     "outer_score": _outer_score(task, valid, pred, result),
                     "n_trials": len(result.trials),
                     **{f"param_{p}": v for p, v in result.best_params.items()}})
    table = pd.DataFrame(rows)
    ratio = float(np.mean([len(v) / len(t) for t, v in outer_folds.splits]))
    se = corrected_std_error(table["outer_score"].to_numpy(), ratio)
    return NestedReport(task.metric.name, task.metric.direction, table, se,
                        interval(float(table["outer_score"].mean()), se, len(table),
                                 bounds=task.metric.bounds))


def _rows(value: Any, rows: np.ndarray, n_rows: int) -> Any:
    if isinstance(value, str) or value is None:
        return value
    array = np.asarray(value)
    return array[rows] if array.ndim >= 1 and len(array) == n_rows else value


def _outer_score(task: Task, rows: np.ndarray, pred: np.ndarray, inner: TuneResult) -> float:
    y = task.y[rows]
    if task.classes is not None:
        # the inner run coded its own classes; recode the outer rows' labels the same way
        y = inner.class_codes(task.decode_labels(y.astype(np.int64)))
    weights = None if task.weights is None else task.weights[rows]
    return task.metric(y, pred, weights)
