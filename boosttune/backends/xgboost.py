"""XGBoost through ``xgb.train``: per-fold QuantileDMatrix built once, reused by every trial;
its presets, portfolio, native metric names and GPU probe (``device="cuda"``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

import numpy as np
import xgboost as xgb

from boosttune.backends.base import Backend, BudgetExhausted, Cut
from boosttune.backends.device import Probe, probe_data, silenced
from boosttune.backends.registry import BackendSpec
from boosttune.core import schedules
from boosttune.core.errors import first_line
from boosttune.core.space import Categorical, Dimension, Float, Int, SearchSpace

OBJECTIVE = {"binary": "binary:logistic", "multiclass": "multi:softprob",
             "regression": "reg:squarederror"}
RUN_KEYS = ("eval_metric", "verbosity", "seed", "nthread", "num_class")


@dataclass
class XGBoostBackend(Backend):
    name: ClassVar[str] = "xgboost"
    # per fold: (fit rows, early-stopping rows, validation rows to predict)
    _matrices: dict[int, tuple[xgb.DMatrix, xgb.DMatrix, xgb.DMatrix]] = field(
        default_factory=dict, repr=False)

    @property
    def _feature_types(self) -> list[str]:
        cats = set(self.task.encoder.categorical_indices)
        return ["c" if j in cats else "q" for j in range(self.task.X.shape[1])]

    def _matrix(self, rows: np.ndarray, ref: xgb.QuantileDMatrix | None) -> xgb.QuantileDMatrix:
        task = self.task
        return xgb.QuantileDMatrix(
            task.X[rows], label=task.y[rows],
            weight=None if task.weights is None else task.weights[rows],
            feature_types=self._feature_types, enable_categorical=True, ref=ref,
            max_bin=self.dataset_params.get("max_bin", 256), nthread=self.settings.n_threads)

    def _fold_matrices(self, fold: int) -> tuple[xgb.DMatrix, xgb.DMatrix, xgb.DMatrix]:
        if fold not in self._matrices:
            parts = self.parts(fold)
            fit = self._matrix(parts.fit, None)
            stop = self._matrix(parts.stop, fit)
            valid = stop if parts.valid is parts.stop else self._matrix(parts.valid, fit)
            self._matrices[fold] = (fit, stop, valid)
        return self._matrices[fold]

    def _build_fold(self, fold: int) -> None:
        self._fold_matrices(fold)

    def native_params(self, params: dict[str, Any], seed: int) -> dict[str, Any]:
        task = self.task
        base: dict[str, Any] = {
            "objective": OBJECTIVE[task.kind],
            "eval_metric": self.native_metric,
            "tree_method": "hist", "verbosity": 0, "seed": seed,
            "nthread": self.settings.n_threads,
        }
        if task.kind == "multiclass":
            base["num_class"] = task.n_classes
        searched, _ = schedules.split(params)
        native = {**base, **self.dataset_params, **searched, **self.settings.device_params}
        if native.get("grow_policy") == "lossguide" and "max_depth" not in native:
            native["max_depth"] = 0  # leaves, not depth, bound a lossguide tree
        return native

    def _train(
        self, params: dict[str, Any], fold: int, seed: int, stop: Cut | None,
    ) -> tuple[Any, int, dict[str, list[float]]]:
        fit, stop_set, _ = self._fold_matrices(fold)
        history: dict[str, Any] = {}
        callbacks = _schedule(params) + ([_StopWhen(stop)] if stop is not None else [])
        booster = xgb.train(self.native_params(params, seed), fit,
                            num_boost_round=self.settings.max_rounds, evals=[(stop_set, "valid")],
                            early_stopping_rounds=self.settings.early_stopping_rounds,
                            evals_result=history, verbose_eval=False, callbacks=callbacks)
        # a fit ended by ``stop`` in its first round has no best iteration yet
        best = booster.attr("best_iteration")
        n_rounds = int(best) + 1 if best is not None else booster.num_boosted_rounds()
        curves = {name: list(next(iter(values.values()))) for name, values in history.items()}
        return booster, n_rounds, curves

    def _train_all(self, params: dict[str, Any], n_rounds: int, seed: int) -> Any:
        every_row = self._matrix(np.arange(self.task.n_rows), None)
        return xgb.train(self.native_params(params, seed), every_row, num_boost_round=n_rounds,
                         callbacks=_schedule(params))

    def _predict_valid(self, model: Any, fold: int, n_rounds: int) -> np.ndarray:
        valid = self._fold_matrices(fold)[2]
        return _as_probabilities(model.predict(valid, iteration_range=(0, n_rounds)))

    def export_params(self, params: dict[str, Any], n_rounds: int) -> dict[str, Any]:
        native = self.native_params(params, seed=0)
        run_keys = {*RUN_KEYS, *self.settings.device_params}  # params.json loads on any machine
        exported = {k: v for k, v in native.items() if k not in run_keys}
        if self.task.encoder.categorical_indices:
            exported["enable_categorical"] = True
        return {**exported, "n_estimators": n_rounds}


def predict_average(members: list[tuple[Any, int]], X: np.ndarray,
                    categorical_indices: list[int]) -> np.ndarray:
    """Mean prediction of (booster, rounds) members; the DMatrix is built once for all."""
    cats = set(categorical_indices)
    types = ["c" if j in cats else "q" for j in range(X.shape[1])]
    matrix = xgb.DMatrix(X, feature_types=types, enable_categorical=True)
    return np.mean([_as_probabilities(model.predict(matrix, iteration_range=(0, n)))
                    for model, n in members], axis=0)


def _as_probabilities(pred: np.ndarray) -> np.ndarray:
    # float32 class probabilities miss 1.0 by rounding; rescale in float64 so they sum to one
    pred = np.asarray(pred, dtype=np.float64)
    return pred / pred.sum(axis=1, keepdims=True) if pred.ndim == 2 else pred


def _schedule(params: dict[str, Any]) -> list[xgb.callback.TrainingCallback]:
    """The learning-rate callback of params' lr_schedule; none for a constant rate."""
    _, schedule = schedules.split(params)
    if schedule is None:
        return []
    shape, decay = schedule
    start = float(params.get("learning_rate", params.get("eta", 0.3)))
    return [xgb.callback.LearningRateScheduler(
        lambda i: schedules.rate(shape, start, i, decay))]


class _StopWhen(xgb.callback.TrainingCallback):
    """Cuts the fit, or ends it (a stop that keeps: at the best round early stopping has
    seen)."""

    def __init__(self, stop: Cut) -> None:
        super().__init__()
        self._stop = stop

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        if self._stop():
            if not self._stop.kept:
                raise BudgetExhausted
            return True
        return False


@cache
def probe_xgboost() -> Probe:
    """Train 2 rounds with device='cuda'; XGBoost silently moves to the CPU without a GPU."""
    if not xgb.build_info().get("USE_CUDA", False):
        return Probe(False, reason="the installed XGBoost was built without CUDA; install the "
                                   "PyPI wheel `xgboost` (not `xgboost-cpu`).")
    X, y = probe_data()
    try:
        with silenced():
            booster = xgb.train({"device": "cuda", "tree_method": "hist", "verbosity": 0},
                                xgb.DMatrix(X, label=y), num_boost_round=2)
    except xgb.core.XGBoostError as exc:
        return Probe(False, reason=f"a probe fit failed: {first_line(exc)}")
    used = json.loads(booster.save_config())["learner"]["generic_param"]["device"]
    if not used.startswith("cuda"):
        return Probe(False, reason="XGBoost found no visible CUDA GPU (check nvidia-smi and "
                                   "CUDA_VISIBLE_DEVICES).")
    return Probe(True, "cuda", {"device": "cuda"}, "CUDA GPU 0")


# Presets: ``fast``, ``default`` and ``wide``, named as xgb.train and XGBClassifier both
# accept them.
_XGBOOST_FAST: dict[str, Dimension] = {
    "learning_rate": Float(0.02, 0.3, log=True),
    "max_depth": Int(3, 10),
    "min_child_weight": Float(0.01, 50.0, log=True),
    "colsample_bytree": Float(0.4, 1.0),
}
_XGBOOST_DEFAULT: dict[str, Dimension] = {
    "learning_rate": Float(0.02, 0.3, log=True),
    "grow_policy": Categorical(("depthwise", "lossguide")),
    "max_depth": Int(3, 12, when=("grow_policy", "depthwise")),
    "max_leaves": Int(8, 256, log=True, when=("grow_policy", "lossguide")),
    "min_child_weight": Float(0.01, 50.0, log=True),
    "subsample": Float(0.5, 1.0),
    "colsample_bytree": Float(0.4, 1.0),
    "reg_alpha": Float(1e-8, 10.0, log=True),
    "reg_lambda": Float(1e-8, 10.0, log=True),
    "gamma": Float(1e-8, 1.0, log=True),
}
_XGBOOST_WIDE: dict[str, Dimension] = {
    **_XGBOOST_DEFAULT,
    "colsample_bylevel": Float(0.4, 1.0),
    "max_cat_to_onehot": Int(1, 16, log=True),
    "max_delta_step": Float(1e-8, 10.0, log=True),
}
PRESETS = {
    "fast": SearchSpace(_XGBOOST_FAST, {}, name="xgboost/fast"),
    "default": SearchSpace(_XGBOOST_DEFAULT, {}, name="xgboost/default"),
    "wide": SearchSpace(_XGBOOST_WIDE, {}, name="xgboost/wide"),
}

# Known-good first trials: the defaults first (subsampling measured no better), then two
# common Kaggle configurations.
PORTFOLIO: list[dict[str, Any]] = [
    {"learning_rate": 0.3, "grow_policy": "depthwise", "max_depth": 6,
     "min_child_weight": 1.0, "subsample": 1.0, "colsample_bytree": 1.0, "reg_alpha": 0.0,
     "reg_lambda": 1.0, "gamma": 0.0},
    {"learning_rate": 0.1, "grow_policy": "depthwise", "max_depth": 8,
     "min_child_weight": 1.0, "subsample": 0.8, "colsample_bytree": 0.8, "reg_alpha": 0.0,
     "reg_lambda": 1.0, "gamma": 0.0},
    {"learning_rate": 0.05, "grow_policy": "lossguide", "max_leaves": 63,
     "min_child_weight": 2.0, "subsample": 0.8, "colsample_bytree": 0.7, "reg_alpha": 0.0,
     "reg_lambda": 1.0, "gamma": 0.0},
]

SPEC = BackendSpec(
    name="xgboost",
    trainer=XGBoostBackend,
    predict=predict_average,
    presets=PRESETS,
    native_metrics={"auc": "auc", "logloss": "logloss", "multi_logloss": "mlogloss",
                    "rmse": "rmse", "mae": "mae", "rmsle": "rmse", "r2": "rmse"},
    fallback_metrics={"binary": "logloss", "multiclass": "mlogloss", "regression": "rmse"},
    probe=probe_xgboost,
    portfolio=PORTFOLIO,
    native_errors=(xgb.core.XGBoostError,),
    advice={"min_leaf": "min_child_weight", "tree_size": "max_depth or max_leaves",
            "subsample": "subsample", "l2": "reg_lambda"},
    # the blend with a refit on all rows beat the folds' average on only 9 of 16 (8 benchmark
    # datasets x 2 seeds): XGBoost keeps its fold models
    default_refit="folds",
    estimators={"classifier": "xgboost.XGBClassifier", "regressor": "xgboost.XGBRegressor"},
)
