"""Metric registry: name → scoring function, direction, and the native early-stopping metric.

Predictions follow one convention everywhere: binary → P(positive class) as a 1-d array,
multiclass → an (n, K) array of class probabilities, regression → a 1-d array of values.
Targets of classification tasks are class codes 0..K-1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
from sklearn import metrics as skm

from boosttune.errors import BoostTuneError

Direction = Literal["maximize", "minimize"]
TaskKind = Literal["binary", "multiclass", "regression"]
ScoreFn = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], float]

# Early-stopping metric used when the scoring metric has no native counterpart.
NATIVE_FALLBACK: dict[str, tuple[str, str]] = {
    "binary": ("binary_logloss", "logloss"),
    "multiclass": ("multi_logloss", "mlogloss"),
    "regression": ("rmse", "rmse"),
}


@dataclass(frozen=True)
class Metric:
    """A scoring function with its direction.

    ``fn(y_true, y_pred, sample_weight)`` returns a float. ``lightgbm`` and ``xgboost`` name
    the native metric each library early-stops on (None: the task's log loss or RMSE).

    Example: ``Metric("gini", lambda y, p, w: 2 * roc_auc_score(y, p) - 1, "maximize")``.
    """

    name: str
    fn: ScoreFn
    direction: Direction
    tasks: frozenset[str] = frozenset({"binary", "multiclass", "regression"})
    lightgbm: str | None = None
    xgboost: str | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise BoostTuneError(
                f"The direction of metric {self.name!r} must be 'maximize' or 'minimize'; "
                f"got {self.direction!r} instead."
            )

    def __call__(
        self, y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        return float(self.fn(y_true, y_pred, sample_weight))

    @property
    def greater_is_better(self) -> bool:
        return self.direction == "maximize"

    def native_names(self, kind: str) -> tuple[str, str]:
        """The (LightGBM, XGBoost) metric names to early-stop on for this task kind."""
        lgb_fallback, xgb_fallback = NATIVE_FALLBACK[kind]
        return self.lightgbm or lgb_fallback, self.xgboost or xgb_fallback


def _labels(y_pred: np.ndarray) -> np.ndarray:
    return (y_pred >= 0.5).astype(int) if y_pred.ndim == 1 else np.argmax(y_pred, axis=1)


def _logloss(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    labels = [0, 1] if p.ndim == 1 else list(range(p.shape[1]))
    return float(skm.log_loss(y, p, sample_weight=w, labels=labels))


def _auc(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    if p.ndim == 1:
        return float(skm.roc_auc_score(y, p, sample_weight=w))
    return float(
        skm.roc_auc_score(y, p, sample_weight=w, multi_class="ovr", labels=range(p.shape[1]))
    )


def _rmsle(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    # negative predictions have no log; they are scored as 0, as Kaggle's RMSLE does in effect
    err = np.log1p(np.clip(p, 0, None)) - np.log1p(y)
    return float(np.sqrt(np.average(err**2, weights=w)))


CLASSIFICATION = frozenset({"binary", "multiclass"})
REGRESSION = frozenset({"regression"})

_BUILTIN = [
    Metric("auc", _auc, "maximize", CLASSIFICATION, "auc", "auc"),
    Metric("logloss", _logloss, "minimize", frozenset({"binary"}), "binary_logloss", "logloss"),
    Metric("multi_logloss", _logloss, "minimize", frozenset({"multiclass"}), "multi_logloss",
           "mlogloss"),
    Metric("accuracy", lambda y, p, w: skm.accuracy_score(y, _labels(p), sample_weight=w),
           "maximize", CLASSIFICATION),
    Metric("f1", lambda y, p, w: skm.f1_score(y, _labels(p), sample_weight=w), "maximize",
           frozenset({"binary"})),
    Metric("rmse", lambda y, p, w: skm.root_mean_squared_error(y, p, sample_weight=w),
           "minimize", REGRESSION, "rmse", "rmse"),
    Metric("mae", lambda y, p, w: skm.mean_absolute_error(y, p, sample_weight=w), "minimize",
           REGRESSION, "l1", "mae"),
    Metric("rmsle", _rmsle, "minimize", REGRESSION, "rmse", "rmse"),
    Metric("r2", lambda y, p, w: skm.r2_score(y, p, sample_weight=w), "maximize", REGRESSION,
           "rmse", "rmse"),
]
METRICS: dict[str, Metric] = {m.name: m for m in _BUILTIN}
DEFAULT_METRIC: dict[str, str] = {"binary": "auc", "multiclass": "multi_logloss",
                                  "regression": "rmse"}


def get_metric(metric: str | Metric | tuple[Callable, str] | None, kind: str) -> Metric:
    """Resolve ``metric`` (a name, a Metric, or ``(callable, direction)``) for a task kind."""
    if metric is None:
        return METRICS[DEFAULT_METRIC[kind]]
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, tuple) and len(metric) == 2 and callable(metric[0]):
        fn, direction = metric
        name = getattr(fn, "__name__", "custom")
        return Metric(name, lambda y, p, w: fn(y, p), cast(Direction, direction))
    if callable(metric):
        raise BoostTuneError(
            "A custom metric needs an explicit direction: pass metric=(callable, 'maximize') "
            "or metric=(callable, 'minimize')."
        )
    if not isinstance(metric, str) or metric not in METRICS:
        raise BoostTuneError(
            f"Unknown metric {metric!r}; for a {kind} task choose one of {names_for(kind)} "
            "or pass (callable, direction)."
        )
    found = METRICS[metric]
    if kind not in found.tasks:
        raise BoostTuneError(
            f"Metric {metric!r} does not fit a {kind} task; choose one of {names_for(kind)}."
        )
    return found


def names_for(kind: str) -> list[str]:
    return [m.name for m in _BUILTIN if kind in m.tasks]
