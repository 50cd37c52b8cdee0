"""LightGBM through ``lgb.train``: one binned Dataset per run, cheap per-fold subsets of it;
its presets, portfolio, native metric names and GPU probe (CUDA where the installed build has
it, else OpenCL on the NVIDIA platform, found by the vendor name LightGBM reports, never by
index 0: another platform (PoCL) runs on the CPU)."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np

from boosttune.backends import device
from boosttune.backends.base import Backend, BudgetExhausted, Cut
from boosttune.backends.device import (
    ICD_ADVICE,
    Device,
    Probe,
    opencl_vendor_files,
    probe_data,
    silenced,
)
from boosttune.backends.registry import BackendSpec
from boosttune.core import schedules
from boosttune.core.errors import first_line
from boosttune.core.folds import Folds
from boosttune.core.space import Categorical, Dimension, Float, Int, SearchSpace

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


# One native Dataset built at a time in the process: a trial's copy of the backend building
# its datasets from the shared rows beside another trial's booster starting died of a
# segmentation fault (bank_marketing, seed 1, two trials at once, every run; faulthandler's
# stack in LGBM_DatasetCreateFromMat and Booster.__init__). Training itself is not held.
NATIVE_BUILD = threading.Lock()


@dataclass
class LightGBMBackend(Backend):
    name: ClassVar[str] = "lightgbm"
    _full: lgb.Dataset | None = field(default=None, repr=False)
    _datasets: dict[int, tuple[lgb.Dataset, lgb.Dataset]] = field(default_factory=dict,
                                                                   repr=False)
    _valid_X: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def _all_rows(self) -> lgb.Dataset:
        with NATIVE_BUILD:
            if self._full is None:
                # bins are found once on all rows (unsupervised), as lgb.cv does; folds are
                # subsets
                self._full = lgb.Dataset(
                    self.task.X, label=self.task.y, weight=self.task.weights,
                    categorical_feature=self.task.encoder.categorical_indices or "auto",
                    free_raw_data=False,
                    params={"verbosity": -1, "feature_pre_filter": False,
                            **self.dataset_params},
                ).construct()
            return self._full

    def _fold_datasets(self, fold: int) -> tuple[lgb.Dataset, lgb.Dataset]:
        if fold not in self._datasets:
            full = self._all_rows()
            parts = self.parts(fold)
            with NATIVE_BUILD:  # built here, not inside lgb.train beside another trial
                self._datasets[fold] = (full.subset(parts.fit.tolist()).construct(),
                                        full.subset(parts.stop.tolist()).construct())
        return self._datasets[fold]

    def _build_fold(self, fold: int) -> None:
        self._fold_datasets(fold)

    def on_folds(self, folds: Folds) -> LightGBMBackend:
        """Other folds of the same rows share the bins found once on all of them."""
        backend = super().on_folds(folds)
        assert isinstance(backend, LightGBMBackend)
        backend._full = self._all_rows()
        return backend

    def native_params(self, params: dict[str, Any], seed: int) -> dict[str, Any]:
        task = self.task
        base: dict[str, Any] = {
            "objective": OBJECTIVE[task.kind],
            "metric": self.native_metric,
            "verbosity": -1, "seed": seed, "num_threads": self.settings.n_threads,
            "deterministic": True, "force_col_wise": True,
        }
        if task.kind == "multiclass":
            base["num_class"] = task.n_classes
        native, _ = schedules.split(params)
        return {**base, **self.dataset_params, **native, **self.settings.device_params}

    def _train(
        self, params: dict[str, Any], fold: int, seed: int, stop: Cut | None,
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
        try:
            booster = lgb.train(self.native_params(params, seed), train_set,
                                num_boost_round=self.settings.max_rounds,
                                valid_sets=[stop_set], valid_names=["valid"],
                                callbacks=callbacks)
        except lgb.basic.LightGBMError:
            # a Dataset keeps the params of the last train call, rejected ones included, and
            # checks the next call's against them: rebuild the datasets for the next trial
            self._full = None
            self._datasets.clear()
            raise
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
        # silent, as boosttune trains: else LGBMClassifier(**params).fit warns once per tree
        return {**exported, "n_estimators": n_rounds, "verbosity": -1}


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


def _stop_when(stop: Cut) -> Callable[[Any], None]:
    """The callback that cuts the fit, or (a stop that keeps) ends it at its best round so
    far, which it then follows itself: it runs before the early-stopping callback."""
    if not stop.may_keep:
        def cut(env: Any) -> None:
            if stop():
                raise BudgetExhausted
        return cut
    best: list[Any] = []  # (iteration, score to maximize, the evaluation results)

    def end(env: Any) -> None:
        _, _, value, higher_is_better = env.evaluation_result_list[0][:4]
        score = value if higher_is_better else -value
        if not best or score > best[1]:
            best[:] = [env.iteration, score, env.evaluation_result_list]
        if stop():
            if not stop.kept:
                raise BudgetExhausted
            raise lgb.callback.EarlyStopException(best[0], best[2])
    return end


@cache
def probe_lightgbm() -> Probe:
    """CUDA where the build has it, else OpenCL on the NVIDIA platform, else why neither."""
    ok, log = _lightgbm_fit({"device_type": "cuda"})
    if ok:
        return Probe(True, "cuda", {"device_type": "cuda"}, "CUDA GPU 0")
    cuda_reason = first_line(log)
    seen: list[str] = []
    for platform in range(max(1, len(opencl_vendor_files()))):
        params = {"device_type": "gpu", "gpu_platform_id": platform, "gpu_device_id": 0,
                  "max_bin": 63}
        ok, log = _lightgbm_fit(params)
        found = _DEVICE_LINE.search(log)
        if not ok or found is None:
            continue
        name, vendor = found["name"].strip(), found["vendor"].strip()
        if "nvidia" in vendor.lower():
            del params["max_bin"]
            return Probe(True, "opencl", params, f"{name} (OpenCL platform {platform})")
        seen.append(f"{name} ({vendor})")
    return Probe(False, reason=_lightgbm_reason(cuda_reason, seen))


def _lightgbm_reason(cuda_reason: str, other_platforms: list[str]) -> str:
    reason = f"device_type='cuda' is unavailable ({cuda_reason})"
    if other_platforms:
        reason += (f"; the OpenCL platforms found are not NVIDIA's ({', '.join(other_platforms)})"
                   ", and OpenCL there would run on the CPU, many times slower")
    else:
        reason += "; no OpenCL GPU platform was found"
    if device.nvidia_gpu_present():  # through the module: tests stand in for it
        reason += f". An NVIDIA GPU is present: {ICD_ADVICE}"
    return reason


def _lightgbm_fit(params: dict[str, Any]) -> tuple[bool, str]:
    """A 2-round LightGBM fit; (whether it ran, what LightGBM logged)."""
    X, y = probe_data()
    log = io.StringIO()
    try:
        with silenced(log):
            lgb.train({**params, "objective": "binary", "verbosity": 1, "min_data_in_leaf": 1,
                       "num_leaves": 4}, lgb.Dataset(X, label=y), num_boost_round=2)
    except lgb.basic.LightGBMError as exc:
        return False, f"{exc}\n{log.getvalue()}"
    return True, log.getvalue()


_DEVICE_LINE = re.compile(r"Using GPU Device: (?P<name>.*), Vendor: (?P<vendor>.*)")


def for_device(space: SearchSpace, on: Device) -> SearchSpace:
    """The space adjusted to the device: LightGBM's OpenCL learner is fastest with 63 bins."""
    if on.kind == "opencl" and "max_bin" not in space.fixed \
            and "max_bin" not in space.dimensions:
        return space.fix(max_bin=63)
    return space


# Presets: ``fast`` (the few params that matter most), ``default`` (the usual Kaggle set) and
# ``wide`` (more regularisation and categorical knobs). Names are ones lgb.train and the
# sklearn wrapper both accept, so tuned params load straight into LGBMClassifier(**params).
_LIGHTGBM_FAST: dict[str, Dimension] = {
    "learning_rate": Float(0.02, 0.3, log=True),
    "num_leaves": Int(8, 256, log=True),
    "min_child_samples": Int(5, 200, log=True),
    "feature_fraction": Float(0.4, 1.0),
}
_LIGHTGBM_DEFAULT: dict[str, Dimension] = {
    **_LIGHTGBM_FAST,
    "bagging_fraction": Float(0.5, 1.0),
    "lambda_l1": Float(1e-8, 10.0, log=True),
    "lambda_l2": Float(1e-8, 10.0, log=True),
    "min_gain_to_split": Float(1e-8, 1.0, log=True),
}
_LIGHTGBM_WIDE: dict[str, Dimension] = {
    **_LIGHTGBM_DEFAULT,
    "max_depth": Int(3, 16),
    "min_sum_hessian_in_leaf": Float(1e-4, 10.0, log=True),
    "path_smooth": Float(1e-8, 10.0, log=True),
    "cat_smooth": Float(1.0, 100.0, log=True),
    "extra_trees": Categorical((False, True)),
}
PRESETS = {
    "fast": SearchSpace(_LIGHTGBM_FAST, {}, name="lightgbm/fast"),
    "default": SearchSpace(_LIGHTGBM_DEFAULT, {"bagging_freq": 1}, name="lightgbm/default"),
    "wide": SearchSpace(_LIGHTGBM_WIDE, {"bagging_freq": 1}, name="lightgbm/wide"),
}

# Known-good first trials (zero-shot, as FLAML and AutoGluon start), clipped to the space at
# hand: the defaults with column and row subsampling first (as fast as the defaults; over 5
# folds better on 5 of 8 benchmark datasets, log loss on letter 0.124 -> 0.102, where the
# first trial is most of a 60 s budget), then the defaults themselves, a deeper lower-rate
# model, and a regularised one for small noisy data.
PORTFOLIO: list[dict[str, Any]] = [
    {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
     "feature_fraction": 0.6, "bagging_fraction": 0.8, "lambda_l1": 0.0, "lambda_l2": 0.0,
     "min_gain_to_split": 0.0},
    {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
     "feature_fraction": 1.0, "bagging_fraction": 1.0, "lambda_l1": 0.0, "lambda_l2": 0.0,
     "min_gain_to_split": 0.0},
    {"learning_rate": 0.05, "num_leaves": 63, "min_child_samples": 20,
     "feature_fraction": 0.8, "bagging_fraction": 0.8, "lambda_l1": 0.0, "lambda_l2": 1.0,
     "min_gain_to_split": 0.0},
    {"learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 50,
     "feature_fraction": 0.6, "bagging_fraction": 0.9, "lambda_l1": 0.0, "lambda_l2": 5.0,
     "min_gain_to_split": 0.0},
]

SPEC = BackendSpec(
    name="lightgbm",
    trainer=LightGBMBackend,
    predict=predict_average,
    presets=PRESETS,
    # LightGBM's "auc" is binary only: a multiclass AUC run failed its first trial with
    # "Multiclass objective and metrics don't match"
    native_metrics={"auc": "auc", "auc/multiclass": "auc_mu", "logloss": "binary_logloss",
                    "multi_logloss": "multi_logloss", "rmse": "rmse", "mae": "l1",
                    "rmsle": "rmse", "r2": "rmse"},
    fallback_metrics={"binary": "binary_logloss", "multiclass": "multi_logloss",
                      "regression": "rmse"},
    probe=probe_lightgbm,
    portfolio=PORTFOLIO,
    native_errors=(lgb.basic.LightGBMError,),
    advice={"min_leaf": "min_child_samples", "tree_size": "num_leaves",
            "subsample": "bagging_fraction", "l2": "lambda_l2"},
    # measured on 8 benchmark datasets x 2 seeds, 5 folds, against the folds' average on the
    # test split: the blend with a refit on all rows was better on 14 of 16
    default_refit="blend",
    estimators={"classifier": "lightgbm.LGBMClassifier",
                "regressor": "lightgbm.LGBMRegressor"},
    adjust_space=for_device,
)
