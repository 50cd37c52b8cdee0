"""Nested cross-validation: a whole tuning run inside each outer training part.

The outer score of a fold is the tuned models' score on the outer rows they never saw, in
search or in early stopping. The gap between the inner best CV score and the outer mean is the
optimism of tuning; the spread of the chosen params across outer folds shows how settled they
are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from boosttune.cv import make_folds
from boosttune.evaluate import corrected_std_error, interval
from boosttune.metrics import Metric
from boosttune.task import Task

if TYPE_CHECKING:
    from boosttune.result import TuneResult


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
        sign = 1.0 if self.direction == "maximize" else -1.0
        return sign * (self.inner_mean - self.outer_mean)

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

    def __str__(self) -> str:
        low, high = self.interval
        return (f"nested CV ({len(self.table)} outer folds): inner best {self.inner_mean:.5f}, "
                f"outer {self.outer_mean:.5f} [{low:.5f}, {high:.5f}], optimism of tuning "
                f"{self.optimism:+.5f} {self.metric}")


def nested_cv(task: Task, frame: pd.DataFrame, target: Any, outer: int, seed: int,
              tune_kwargs: dict[str, Any]) -> NestedReport:
    """Run ``tune(**tune_kwargs)`` inside each of ``outer`` outer folds of ``task``'s rows.

    ``frame`` and ``target`` are the caller's inputs (``target`` a column name or an array);
    array-valued ``groups`` and ``weights`` in ``tune_kwargs`` are sliced with the rows.
    """
    from boosttune.api import tune  # tune() calls this module: import at use

    scheme = tune_kwargs.get("cv_scheme")
    outer_folds = make_folds(task, outer, scheme, seed=seed + 1_000)
    rows = []
    for k, (train, valid) in enumerate(outer_folds.splits):
        kwargs = {key: _rows(value, train, len(frame)) if key in ("groups", "weights") else value
                  for key, value in tune_kwargs.items()}
        result = tune(frame.iloc[train], _rows(target, train, len(frame)), **kwargs)
        pred = result.predict(frame.iloc[valid])
        rows.append({"outer_fold": k, "inner_best": float(result.trials["value"].dropna()
                                                         .agg(_best(task.metric))),
                     "outer_score": _outer_score(task, valid, pred, result),
                     "n_trials": len(result.trials),
                     **{f"param_{p}": v for p, v in result.best_params.items()}})
    table = pd.DataFrame(rows)
    ratio = float(np.mean([len(v) / len(t) for t, v in outer_folds.splits]))
    se = corrected_std_error(table["outer_score"].to_numpy(), ratio)
    return NestedReport(task.metric.name, task.metric.direction, table, se,
                        interval(float(table["outer_score"].mean()), se, len(table)))


def _rows(value: Any, rows: np.ndarray, n_rows: int) -> Any:
    if isinstance(value, str) or value is None:
        return value
    array = np.asarray(value)
    return array[rows] if array.ndim >= 1 and len(array) == n_rows else value


def _best(metric: Metric) -> str:
    return "max" if metric.greater_is_better else "min"


def _outer_score(task: Task, rows: np.ndarray, pred: np.ndarray, inner: TuneResult) -> float:
    y = task.y[rows]
    if task.classes is not None:
        # the inner run coded its own classes; recode the outer rows' labels the same way
        y = inner.class_codes(task.decode_labels(y.astype(np.int64)))
    weights = None if task.weights is None else task.weights[rows]
    return task.metric(y, pred, weights)
