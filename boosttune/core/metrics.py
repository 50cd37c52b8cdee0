"""Metric registry: name → scoring function and direction; ``Direction``, the one helper that
says which of two scores is better (each backend names its own native early-stopping metric).

Predictions follow one convention everywhere: binary → P(positive class) as a 1-d array,
multiclass → an (n, K) array of class probabilities, regression → a 1-d array of values.
Targets of classification tasks are class codes 0..K-1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
from sklearn import metrics as skm

from boosttune.core.errors import BoostTuneError

DirectionName = Literal["maximize", "minimize"]
TaskKind = Literal["binary", "multiclass", "regression"]
ScoreFn = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], float]



@dataclass(frozen=True)
class Direction:
    """Which way a score improves: the one place that turns a direction into a comparison.

    >>> Direction.of("minimize").better(0.2, 0.3), Direction.of("maximize").sign
    (True, 1.0)
    """

    maximize: bool

    @classmethod
    def of(cls, direction: Any) -> Direction:
        """From 'maximize' / 'minimize' or an Optuna StudyDirection."""
        name = str(getattr(direction, "name", direction)).lower()
        if name not in ("maximize", "minimize"):
            raise BoostTuneError(f"A direction must be 'maximize' or 'minimize'; got "
                                 f"{direction!r} instead.")
        return cls(name == "maximize")

    @property
    def name(self) -> str:
        return "maximize" if self.maximize else "minimize"

    @property
    def sign(self) -> float:
        """+1 where higher is better, -1 where lower is: ``sign * score`` always maximizes."""
        return 1.0 if self.maximize else -1.0

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` strictly beats score ``b``."""
        return a > b if self.maximize else a < b

    def sort_key(self, score: float) -> float:
        """Ascending order of this key is best first."""
        return -self.sign * score

    def best(self, scores: Iterable[float]) -> float:
        return max(scores) if self.maximize else min(scores)


@dataclass(frozen=True)
class Metric:
    """A scoring function with its direction.

    ``fn(y_true, y_pred, sample_weight)`` returns a float. ``native`` maps a backend name to
    the native metric that backend early-stops on; a backend knows the built-in metrics'
    native names and falls back to the task's log loss or RMSE for the rest.

    Example: ``Metric("gini", lambda y, p, w: 2 * roc_auc_score(y, p) - 1, "maximize")``.
    """

    name: str
    fn: ScoreFn
    direction: DirectionName
    tasks: frozenset[str] = frozenset({"binary", "multiclass", "regression"})
    native: Mapping[str, str] = field(default_factory=dict)
    bounds: tuple[float | None, float | None] = (None, None)  # the range scores can take

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise BoostTuneError(
                f"The direction of metric {self.name!r} must be 'maximize' or 'minimize'; "
                f"got {self.direction!r} instead."
            )

    @property
    def goal(self) -> Direction:
        return Direction.of(self.direction)

    def __call__(
        self, y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        return float(self.fn(y_true, y_pred, sample_weight))

    @property
    def greater_is_better(self) -> bool:
        return self.goal.maximize


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
UNIT = (0.0, 1.0)  # AUC, accuracy, F1
POSITIVE = (0.0, None)  # losses and errors
REGRESSION = frozenset({"regression"})

_BUILTIN = [
    Metric("auc", _auc, "maximize", CLASSIFICATION, bounds=UNIT),
    Metric("logloss", _logloss, "minimize", frozenset({"binary"}), bounds=POSITIVE),
    Metric("multi_logloss", _logloss, "minimize", frozenset({"multiclass"}),
           bounds=POSITIVE),
    Metric("accuracy", lambda y, p, w: skm.accuracy_score(y, _labels(p), sample_weight=w),
           "maximize", CLASSIFICATION, bounds=UNIT),
    Metric("f1", lambda y, p, w: skm.f1_score(y, _labels(p), sample_weight=w), "maximize",
           frozenset({"binary"}), bounds=UNIT),
    Metric("rmse", lambda y, p, w: skm.root_mean_squared_error(y, p, sample_weight=w),
           "minimize", REGRESSION, bounds=POSITIVE),
    Metric("mae", lambda y, p, w: skm.mean_absolute_error(y, p, sample_weight=w), "minimize",
           REGRESSION, bounds=POSITIVE),
    Metric("rmsle", _rmsle, "minimize", REGRESSION, bounds=POSITIVE),
    Metric("r2", lambda y, p, w: skm.r2_score(y, p, sample_weight=w), "maximize", REGRESSION,
           bounds=(None, 1.0)),
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
        return Metric(name, lambda y, p, w: fn(y, p), cast(DirectionName, direction))
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
