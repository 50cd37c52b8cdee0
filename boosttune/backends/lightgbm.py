"""LightGBM through ``lgb.train``: one binned Dataset per run, cheap per-fold subsets of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np

from boosttune import schedules
from boosttune.backends.base import Backend, BudgetExhausted

OBJECTIVE = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
# Run-level settings that are not tuned params: kept out of params.json.
RUN_KEYS = ("metric", "verbosity", "seed", "num_threads", "deterministic", "force_col_wise",
            "num_class")
# Native name → the sklearn wrapper's name, which lgb.train also accepts as an alias: params.json
# then loads into LGBMClassifier(**params) without "X is set, Y will be ignored" warnings.
SKLEARN_NAMES = {"feature_fraction": "colsample_bytree", "bagging_fraction": "subsample",
                 "bagging_freq": "subsample_freq", "lambda_l1": "reg_alpha",
                 "lambda_l2": "reg_lambda", "min_gain_to_split": "min_split_gain",
                 "min_sum_hessian_in_leaf": "min_child_weight"}


@dataclass
class LightGBMBackend(Backend):
    name: ClassVar[str] = "lightgbm"
    _full: lgb.Dataset | None = field(default=None, repr=False)
    _datasets: dict[int, tuple[lgb.Dataset, lgb.Dataset]] = field(default_factory=dict,
                                                                   repr=False)
    _valid_X: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def _all_rows(self) -> lgb.Dataset:
        if self._full is None:
            # bins are found once on all rows (unsupervised), as lgb.cv does; folds are subsets
            self._full = lgb.Dataset(
                self.task.X, label=self.task.y, weight=self.task.weights,
                categorical_feature=self.task.encoder.categorical_indices or "auto",
                free_raw_data=False,
                params={"verbosity": -1, "feature_pre_filter": False, **self.dataset_params},
            ).construct()
        return self._full

    def _fold_datasets(self, fold: int) -> tuple[lgb.Dataset, lgb.Dataset]:
        if fold not in self._datasets:
            full = self._all_rows()
            parts = self.parts(fold)
            self._datasets[fold] = (full.subset(parts.fit.tolist()),
                                    full.subset(parts.stop.tolist()))
        return self._datasets[fold]

    def native_params(self, params: dict[str, Any], seed: int) -> dict[str, Any]:
        task = self.task
        base: dict[str, Any] = {
            "objective": OBJECTIVE[task.kind],
            "metric": task.metric.native_names(task.kind)[0],
            "verbosity": -1, "seed": seed, "num_threads": self.settings.n_threads,
            "deterministic": True, "force_col_wise": True,
        }
        if task.kind == "multiclass":
            base["num_class"] = task.n_classes
        native, _ = schedules.split(params)
        return {**base, **self.dataset_params, **native, **self.settings.device_params}

    def _train(
        self, params: dict[str, Any], fold: int, seed: int,
        stop: Callable[[], bool] | None,
    ) -> tuple[Any, int, dict[str, list[float]]]:
        train_set, stop_set = self._fold_datasets(fold)
        history: dict[str, Any] = {}
        callbacks: list[Callable[..., Any]] = [
            lgb.early_stopping(self.settings.early_stopping_rounds, first_metric_only=True,
                               verbose=False),
            lgb.record_evaluation(history),
        ]
        if stop is not None:
            callbacks.append(_stop_when(stop))
        callbacks += _schedule(params)
        booster = lgb.train(self.native_params(params, seed), train_set,
                            num_boost_round=self.settings.max_rounds, valid_sets=[stop_set],
                            valid_names=["valid"], callbacks=callbacks)
        n_rounds = booster.best_iteration or booster.current_iteration()
        curves = {name: list(next(iter(values.values()))) for name, values in history.items()}
        return booster, n_rounds, curves

    def _train_all(self, params: dict[str, Any], n_rounds: int, seed: int) -> Any:
        return lgb.train(self.native_params(params, seed), self._all_rows(),
                         num_boost_round=n_rounds, callbacks=_schedule(params))

    def _predict_valid(self, model: Any, fold: int, n_rounds: int) -> np.ndarray:
        if fold not in self._valid_X:
            self._valid_X[fold] = self.task.X[self.parts(fold).valid]
        return np.asarray(model.predict(self._valid_X[fold], num_iteration=n_rounds))

    def export_params(self, params: dict[str, Any], n_rounds: int) -> dict[str, Any]:
        native = self.native_params(params, seed=0)
        run_keys = {*RUN_KEYS, *self.settings.device_params}  # params.json loads on any machine
        exported = {SKLEARN_NAMES.get(k, k): v for k, v in native.items() if k not in run_keys}
        return {**exported, "n_estimators": n_rounds}


def predict_average(members: list[tuple[Any, int]], X: np.ndarray,
                    categorical_indices: list[int]) -> np.ndarray:
    """Mean prediction of (booster, rounds) members on the encoded matrix X."""
    return np.mean([model.predict(X, num_iteration=n) for model, n in members], axis=0)


def _schedule(params: dict[str, Any]) -> list[Callable[..., Any]]:
    """The learning-rate callback of params' lr_schedule; none for a constant rate."""
    _, schedule = schedules.split(params)
    if schedule is None:
        return []
    shape, decay = schedule
    start = float(params.get("learning_rate", params.get("eta", 0.1)))
    return [lgb.reset_parameter(
        learning_rate=lambda i: schedules.rate(shape, start, i, decay))]


def _stop_when(stop: Callable[[], bool]) -> Callable[[Any], None]:
    def callback(env: Any) -> None:
        if stop():
            raise BudgetExhausted
    return callback
