"""A backend outside the package: scikit-learn's HistGradientBoosting, registered by a test.

It shows what a third library needs: a ``Backend`` subclass, a predict function for
(model, rounds) members, presets and one ``BackendSpec``. HistGradientBoosting has no
evaluation-set early stopping of its own, so each fold model is fit to the round ceiling
(capped at ``MAX_ITER``) and the best iteration is then found on the early-stopping rows from
its staged predictions, with the task's metric and the run's patience.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, ClassVar

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from boosttune.backends.base import Backend, BudgetExhausted, Cut
from boosttune.backends.registry import BackendSpec
from boosttune.core import schedules
from boosttune.core.errors import BoostTuneError
from boosttune.core.space import Float, Int, SearchSpace

MAX_ITER = 200  # ceiling on the iterations of one fold fit, whatever max_rounds says


@dataclass
class HistGradientBoostingBackend(Backend):
    name: ClassVar[str] = "sklearn_hgb"

    @property
    def _classifier(self) -> bool:
        return self.task.kind != "regression"

    def _estimator(self, params: dict[str, Any], max_iter: int, seed: int) -> Any:
        native, schedule = schedules.split(params)
        if schedule is not None:
            raise BoostTuneError("sklearn_hgb has a constant learning rate only; use "
                                 "lr_schedule='constant'.")
        cls = HistGradientBoostingClassifier if self._classifier else HistGradientBoostingRegressor
        return cls(**self.dataset_params, **native, max_iter=max_iter, early_stopping=False,
                   random_state=seed, categorical_features=self._categorical)

    @property
    def _categorical(self) -> list[int] | None:
        return list(self.task.encoder.categorical_indices) or None

    def _fit(self, params: dict[str, Any], rows: np.ndarray, max_iter: int, seed: int) -> Any:
        task = self.task
        y = task.y[rows].astype(np.int64) if self._classifier else task.y[rows]
        weights = None if task.weights is None else task.weights[rows]
        model = self._estimator(params, max_iter, seed)
        with threadpool_limits(limits=self.settings.n_threads, user_api="openmp"):
            model.fit(task.X[rows], y, sample_weight=weights)
        # predict_average sees only the model: it keeps the run's threads and the task's K
        model.n_task_threads_ = self.settings.n_threads
        if self._classifier:
            model.n_task_classes_ = task.n_classes
        return model

    def _train(
        self, params: dict[str, Any], fold: int, seed: int,
        stop: Cut | None,
    ) -> tuple[Any, int, dict[str, list[float]]]:
        parts = self.parts(fold)
        model = self._fit(params, parts.fit, min(self.settings.max_rounds, MAX_ITER), seed)
        task = self.task
        y_stop = task.y[parts.stop]
        w_stop = None if task.weights is None else task.weights[parts.stop]
        goal = task.metric.goal
        patience = self.settings.early_stopping_rounds
        scores: list[float] = []
        best_round, best_score = 0, float("nan")
        with _threads(model):
            for i, pred in enumerate(_staged(model, task.X[parts.stop]), start=1):
                if stop is not None and stop():
                    if stop.kept and best_round:
                        break
                    raise BudgetExhausted
                score = task.metric(y_stop, pred, w_stop)
                scores.append(score)
                if best_round == 0 or goal.better(score, best_score):
                    best_round, best_score = i, score
                elif i - best_round >= patience:
                    break
        return model, best_round, {"valid": scores}

    def _train_all(self, params: dict[str, Any], n_rounds: int, seed: int) -> Any:
        return self._fit(params, np.arange(self.task.n_rows), n_rounds, seed)

    def _predict_valid(self, model: Any, fold: int, n_rounds: int) -> np.ndarray:
        return _predict(model, self.task.X[self.parts(fold).valid], n_rounds)

    def export_params(self, params: dict[str, Any], n_rounds: int) -> dict[str, Any]:
        native, _ = schedules.split(params)
        exported: dict[str, Any] = {**self.dataset_params, **native, "max_iter": n_rounds,
                                    "early_stopping": False}
        if self._categorical:
            exported["categorical_features"] = self._categorical
        return exported


def _staged(model: Any, X: np.ndarray) -> Iterator[np.ndarray]:
    """Predictions after each iteration, in boosttune's convention: P(class 1) for binary,
    (n, K) probabilities for multiclass (K columns even where the fold missed a class),
    values for regression."""
    if not hasattr(model, "classes_"):
        yield from model.staged_predict(X)
        return
    n_classes = getattr(model, "n_task_classes_", len(model.classes_))
    codes = model.classes_.astype(np.int64)
    for proba in model.staged_predict_proba(X):
        if n_classes == 2:
            yield proba[:, 1]
        else:
            full = np.zeros((len(X), n_classes))
            full[:, codes] = proba
            yield full


def _predict(model: Any, X: np.ndarray, n_rounds: int) -> np.ndarray:
    """The prediction of the first ``n_rounds`` iterations (at most the model's own)."""
    n = max(1, min(int(n_rounds), int(model.n_iter_)))
    with _threads(model):
        return np.asarray(next(islice(_staged(model, X), n - 1, None)), dtype=np.float64)


def _threads(model: Any) -> threadpool_limits:
    """OpenMP limited to the run's threads per model (HistGradientBoosting otherwise takes
    every core for each tree it predicts with, far slower on small data)."""
    return threadpool_limits(limits=getattr(model, "n_task_threads_", None), user_api="openmp")


def predict_average(members: list[tuple[Any, int]], X: np.ndarray,
                    categorical_indices: list[int]) -> np.ndarray:
    """Mean prediction of (model, rounds) members on the encoded matrix X (the models know
    their categorical columns from fit)."""
    return np.mean([_predict(model, X, n) for model, n in members], axis=0)


PRESETS = {
    "default": SearchSpace({
        "learning_rate": Float(0.03, 0.3, log=True),
        "max_leaf_nodes": Int(8, 64, log=True),
        "min_samples_leaf": Int(5, 50),
        "l2_regularization": Float(1e-6, 1.0, log=True),
    }, {}, name="sklearn_hgb/default"),
}

SPEC = BackendSpec(
    name="sklearn_hgb",
    trainer=HistGradientBoostingBackend,
    predict=predict_average,
    presets=PRESETS,
    # HistGradientBoosting's own loss names; early stopping scores the task's metric instead
    fallback_metrics={"binary": "log_loss", "multiclass": "log_loss",
                      "regression": "squared_error"},
    native_errors=(ValueError,),
    default_refit="folds",
    estimators={"classifier": "sklearn.ensemble.HistGradientBoostingClassifier",
                "regressor": "sklearn.ensemble.HistGradientBoostingRegressor"},
)
