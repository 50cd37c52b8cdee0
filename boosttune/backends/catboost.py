"""CatBoost through ``CatBoost.fit``: per-fold Pools built once, reused by every trial, with
CatBoost's own categorical handling; its presets, portfolio, native metric names and GPU probe
(``task_type="GPU"``). Optional: ``pip install "boosttune[catboost]"``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

import catboost as cb
import numpy as np
import pandas as pd

from boosttune.backends.base import Backend, BudgetExhausted, Cut
from boosttune.backends.device import Probe, probe_data, silenced
from boosttune.backends.registry import BackendSpec
from boosttune.core import schedules
from boosttune.core.errors import BoostTuneError, first_line
from boosttune.core.space import Dimension, Float, Int, SearchSpace

LOSS = {"binary": "Logloss", "multiclass": "MultiClass", "regression": "RMSE"}
RUN_KEYS = ("thread_count", "random_seed", "verbose", "task_type", "allow_writing_files")
MISSING_CATEGORY = -1  # CatBoost takes categories as integers: a missing one gets its own


def _frame(X: np.ndarray, categorical: list[int]) -> pd.DataFrame:
    """The encoded matrix with its category codes as integers, as CatBoost's Pool wants."""
    frame = pd.DataFrame(X)
    for j in categorical:
        frame[j] = np.nan_to_num(X[:, j], nan=MISSING_CATEGORY).astype(np.int64)
    return frame


@dataclass
class CatBoostBackend(Backend):
    name: ClassVar[str] = "catboost"
    # per fold: (fit rows, early-stopping rows, validation rows to predict)
    _pools: dict[int, tuple[cb.Pool, cb.Pool, cb.Pool]] = field(default_factory=dict,
                                                                repr=False)

    def _pool(self, rows: np.ndarray) -> cb.Pool:
        task = self.task
        cats = task.encoder.categorical_indices
        return cb.Pool(_frame(task.X[rows], cats), label=task.y[rows], cat_features=cats,
                       weight=None if task.weights is None else task.weights[rows])

    def _fold_pools(self, fold: int) -> tuple[cb.Pool, cb.Pool, cb.Pool]:
        if fold not in self._pools:
            parts = self.parts(fold)
            stop = self._pool(parts.stop)
            valid = stop if parts.valid is parts.stop else self._pool(parts.valid)
            self._pools[fold] = (self._pool(parts.fit), stop, valid)
        return self._pools[fold]

    def _build_fold(self, fold: int) -> None:
        self._fold_pools(fold)

    def native_params(self, params: dict[str, Any], seed: int) -> dict[str, Any]:
        searched, schedule = schedules.split(params)
        if schedule is not None:
            raise BoostTuneError("catboost takes no learning-rate schedule; use "
                                 "lr_schedule='constant' with it.")
        base = {"loss_function": LOSS[self.task.kind], "eval_metric": self.native_metric,
                "random_seed": seed, "thread_count": self.settings.n_threads,
                "verbose": False, "allow_writing_files": False}
        return {**base, **self.dataset_params, **searched, **self.settings.device_params}

    def _train(
        self, params: dict[str, Any], fold: int, seed: int, stop: Cut | None,
    ) -> tuple[Any, int, dict[str, list[float]]]:
        fit, stop_pool, _ = self._fold_pools(fold)
        watch = _StopWhen(stop)
        on_gpu = self.settings.device_params.get("task_type") == "GPU"  # no callbacks there
        model = cb.CatBoost({**self.native_params(params, seed),
                             "iterations": self.settings.max_rounds})
        model.fit(fit, eval_set=stop_pool, use_best_model=False,
                  early_stopping_rounds=self.settings.early_stopping_rounds,
                  callbacks=None if stop is None or on_gpu else [watch])
        if watch.stopped and stop is not None and not stop.kept:
            raise BudgetExhausted
        n_rounds = int(model.get_best_iteration() or 0) + 1
        valid = model.get_evals_result().get("validation", {})
        curves = {"valid": list(valid.get(self.native_metric, next(iter(valid.values()), [])))}
        return model, n_rounds, curves

    def _train_all(self, params: dict[str, Any], n_rounds: int, seed: int) -> Any:
        model = cb.CatBoost({**self.native_params(params, seed), "iterations": n_rounds})
        return model.fit(self._pool(np.arange(self.task.n_rows)))

    def _predict_valid(self, model: Any, fold: int, n_rounds: int) -> np.ndarray:
        return _predict(model, self._fold_pools(fold)[2], n_rounds)

    def export_params(self, params: dict[str, Any], n_rounds: int) -> dict[str, Any]:
        native = self.native_params(params, seed=0)
        run_keys = {*RUN_KEYS, *self.settings.device_params}  # params.json loads on any machine
        exported = {k: v for k, v in native.items() if k not in run_keys}
        encoder = self.task.encoder
        if encoder.categorical_indices:
            exported["cat_features"] = [encoder.columns[j] for j in encoder.categorical_indices]
        return {**exported, "n_estimators": n_rounds}


def _predict(model: Any, pool: cb.Pool, n_rounds: int) -> np.ndarray:
    """Binary: P(second class); multiclass: (n, K) probabilities; regression: values."""
    if model.get_param("loss_function") == LOSS["regression"]:
        return np.asarray(model.predict(pool, ntree_end=n_rounds), dtype=np.float64)
    proba = np.asarray(model.predict(pool, prediction_type="Probability", ntree_end=n_rounds),
                       dtype=np.float64)
    return proba[:, 1] if proba.shape[1] == 2 and model.get_param(
        "loss_function") == LOSS["binary"] else proba


def predict_average(members: list[tuple[Any, int]], X: np.ndarray,
                    categorical_indices: list[int]) -> np.ndarray:
    """Mean prediction of (model, rounds) members; the Pool is built once for all."""
    pool = cb.Pool(_frame(X, categorical_indices), cat_features=categorical_indices)
    return np.mean([_predict(model, pool, n) for model, n in members], axis=0)


class _StopWhen:
    """Stops training when the budget is spent (CatBoost callbacks may not raise: the fit
    checks ``stopped`` after it returns)."""

    def __init__(self, stop: Cut | None) -> None:
        self._stop = stop
        self.stopped = False

    def after_iteration(self, info: Any) -> bool:
        if self._stop is not None and self._stop():
            self.stopped = True
            return False
        return True


@cache
def probe_catboost() -> Probe:
    """Train 2 iterations with task_type='GPU'."""
    X, y = probe_data()
    try:
        with silenced():
            cb.CatBoost({"task_type": "GPU", "iterations": 2, "verbose": False,
                         "allow_writing_files": False}).fit(X, y)
    except cb.CatBoostError as exc:
        return Probe(False, reason=f"a probe fit failed: {first_line(exc)}")
    return Probe(True, "gpu", {"task_type": "GPU"}, "CUDA GPU 0")


# Presets: ``fast``, ``default`` and ``wide``, named as CatBoostClassifier accepts them.
_CATBOOST_FAST: dict[str, Dimension] = {
    "learning_rate": Float(0.02, 0.3, log=True),
    "depth": Int(4, 8),
    "l2_leaf_reg": Float(1.0, 30.0, log=True),
}
_CATBOOST_DEFAULT: dict[str, Dimension] = {
    **_CATBOOST_FAST,
    "depth": Int(4, 10),
    "random_strength": Float(1e-3, 10.0, log=True),
    "subsample": Float(0.5, 1.0),
}
_CATBOOST_WIDE: dict[str, Dimension] = {
    **_CATBOOST_DEFAULT,
    "one_hot_max_size": Int(2, 16, log=True),
    "leaf_estimation_iterations": Int(1, 10),
}
_SUBSAMPLED = {"bootstrap_type": "Bernoulli"}  # its default (Bayesian on multiclass) has none
PRESETS = {
    "fast": SearchSpace(_CATBOOST_FAST, {}, name="catboost/fast"),
    "default": SearchSpace(_CATBOOST_DEFAULT, _SUBSAMPLED, name="catboost/default"),
    "wide": SearchSpace(_CATBOOST_WIDE, _SUBSAMPLED, name="catboost/wide"),
}

# Known-good first trials: near CatBoost's defaults (depth 6, l2 3), then a deeper one.
PORTFOLIO: list[dict[str, Any]] = [
    {"learning_rate": 0.08, "depth": 6, "l2_leaf_reg": 3.0, "random_strength": 1.0,
     "subsample": 0.8},
    {"learning_rate": 0.05, "depth": 8, "l2_leaf_reg": 5.0, "random_strength": 1.0,
     "subsample": 0.8},
]

SPEC = BackendSpec(
    name="catboost",
    trainer=CatBoostBackend,
    predict=predict_average,
    presets=PRESETS,
    native_metrics={"auc": "AUC", "logloss": "Logloss", "multi_logloss": "MultiClass",
                    "rmse": "RMSE", "mae": "MAE", "rmsle": "RMSE", "r2": "RMSE"},
    fallback_metrics={"binary": "Logloss", "multiclass": "MultiClass", "regression": "RMSE"},
    probe=probe_catboost,
    portfolio=PORTFOLIO,
    native_errors=(cb.CatBoostError,),
    advice={"min_leaf": "l2_leaf_reg", "tree_size": "depth", "subsample": "subsample",
            "l2": "l2_leaf_reg"},
    default_refit="folds",
    estimators={"classifier": "catboost.CatBoostClassifier",
                "regressor": "catboost.CatBoostRegressor"},
)
