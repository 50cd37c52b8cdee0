"""Head starts for a search: warm starts from earlier runs, and a learning-rate finder.

Warm start (transfer): the best params of earlier runs, of this competition or another, are
enqueued as the study's first trials, clipped to the current space. The learning-rate finder
fits one fold at a few rates and keeps the best rate whose whole trial fits the time per trial
that the budget allows; the space's learning-rate range is then centred on it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from boosttune.backends import Backend
from boosttune.errors import BoostTuneError
from boosttune.evaluate import fold_score
from boosttune.spaces import Categorical, SearchSpace

# Known-good first trials per backend (zero-shot, as FLAML and AutoGluon start), clipped to
# the space at hand (names the space does not search are left out). LightGBM: its defaults
# with column and row subsampling first (as fast as the defaults; over 5 folds better on 5 of
# 8 benchmark datasets, log loss on letter 0.124 -> 0.102, where the first trial is most of a
# 60 s budget), then the defaults themselves, a deeper lower-rate model, and a regularised
# one for small noisy data. XGBoost: its defaults first (subsampling measured no better).
PORTFOLIO: dict[str, list[dict[str, Any]]] = {
    "lightgbm": [
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
    ],
    "xgboost": [
        {"learning_rate": 0.3, "grow_policy": "depthwise", "max_depth": 6,
         "min_child_weight": 1.0, "subsample": 1.0, "colsample_bytree": 1.0, "reg_alpha": 0.0,
         "reg_lambda": 1.0, "gamma": 0.0},
        {"learning_rate": 0.1, "grow_policy": "depthwise", "max_depth": 8,
         "min_child_weight": 1.0, "subsample": 0.8, "colsample_bytree": 0.8, "reg_alpha": 0.0,
         "reg_lambda": 1.0, "gamma": 0.0},
        {"learning_rate": 0.05, "grow_policy": "lossguide", "max_leaves": 63,
         "min_child_weight": 2.0, "subsample": 0.8, "colsample_bytree": 0.7, "reg_alpha": 0.0,
         "reg_lambda": 1.0, "gamma": 0.0},
    ],
}
SWEEP = (0.3, 0.1, 0.03)  # rates the finder tries, fastest first
TARGET_TRIALS = 20  # the finder wants this many trials to fit in the search budget


def warm_params(sources: Any) -> list[dict[str, Any]]:
    """Params to enqueue from a run directory, a TuneResult, a params dict, or a list of them."""
    if sources is None:
        return []
    if isinstance(sources, (str, Path, dict)) or hasattr(sources, "manifest"):
        sources = [sources]
    found = []
    for source in sources:
        if isinstance(source, dict):
            found.append(dict(source))
        elif hasattr(source, "manifest"):
            found.append(dict(source.manifest["params_used"]))
        else:
            found.append(_params_of_run(Path(source)))
    return found


def _params_of_run(path: Path) -> dict[str, Any]:
    manifest = path / "manifest.json"
    if not manifest.exists():
        raise BoostTuneError(
            f"warm_start: {path} is not a finished run directory (no manifest.json).")
    return dict(json.loads(manifest.read_text(encoding="utf-8"))["params_used"])


def enqueue(study: optuna.Study, space: SearchSpace, params_list: Sequence[dict[str, Any]]
            ) -> int:
    """Enqueue each params' searched values, clipped to the space; returns how many."""
    for params in params_list:
        study.enqueue_trial(_fitted(space, params), skip_if_exists=True)
    return len(params_list)


def _fitted(space: SearchSpace, params: dict[str, Any]) -> dict[str, Any]:
    fitted = {}
    for name, dim in space.dimensions.items():
        if name not in params:
            continue
        value = params[name]
        if isinstance(dim, Categorical):
            if value in dim.choices:
                fitted[name] = value
        else:
            fitted[name] = type(dim.low)(np.clip(value, dim.low, dim.high))
    return fitted


def find_learning_rate(backend: Backend, space: SearchSpace, seed: int,
                       search_seconds: float | None) -> dict[str, Any]:
    """Sweep SWEEP on fold 0 with the space's fixed params; the chosen rate and the sweep."""
    per_trial = None if search_seconds is None else search_seconds / TARGET_TRIALS
    sign = 1.0 if backend.task.metric.greater_is_better else -1.0
    sweep = []
    for rate in SWEEP:
        started = time.perf_counter()
        fit = backend.fit_fold({**space.fixed, "learning_rate": rate}, 0, seed)
        trial_seconds = (time.perf_counter() - started) * backend.folds.n_splits
        score = fold_score(backend.task, backend.parts(0).valid, fit.valid_pred)
        sweep.append({"learning_rate": rate, "rounds": fit.n_rounds, "score": score,
                      "trial_seconds": trial_seconds})
        if per_trial is not None and trial_seconds > per_trial:
            break  # lower rates take longer still
    fitting = [s for s in sweep if per_trial is None or s["trial_seconds"] <= per_trial]
    chosen = max(fitting or sweep[:1], key=lambda s: sign * s["score"])
    return {"chosen": chosen["learning_rate"], "sweep": sweep,
            "seconds_per_trial_allowed": per_trial}


def centred_range(space: SearchSpace, rate: float) -> SearchSpace:
    """The space with its learning rate searched within a factor 2 of ``rate``."""
    if "learning_rate" not in space.dimensions:
        return space
    return space.with_range("learning_rate", rate / 2, min(2 * rate, 0.5))
