"""The frames and the manifest a run delivers: OOF and test predictions, the trials table,
and the record of what ran (built here only, read through core.manifest.Manifest)."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import numpy as np
import optuna
import pandas as pd

from boosttune._version import __version__
from boosttune.core.folds import Folds
from boosttune.core.machine import Threads
from boosttune.core.manifest import Manifest
from boosttune.core.predictions import add_predictions, pred_columns
from boosttune.core.results import SeedAverage
from boosttune.core.task import Task
from boosttune.pipeline.search import Searched
from boosttune.search.storage import SURPLUS_KEY, redacted, storage_url

LIBRARIES = ("lightgbm", "xgboost", "optuna", "scikit-learn", "pandas", "numpy")

# Categorical columns train natively at every cardinality: measured on ids of 1,860 to 17,418
# levels (tests/benchmarks/results/categoricals.txt), capping LightGBM's native splits or
# encoding inside each training fold (frequency, out-of-fold target) lost up to 80% CV RMSE on
# the day ids and won at most 0.7% elsewhere; for XGBoost the encodings won 10% on route ids and
# lost 52-81% on day ids. No alternative won on every set, and native never lost by that much.
CATEGORICAL_HANDLING = "native"
OVERRIDE_CATEGORICALS = (
    "cap the native splits through fixed params: bt.Search(fixed={'max_cat_threshold': 16}) "
    "(LightGBM) or {'max_cat_to_onehot': 16} (XGBoost), or encode the columns before tune()")


@dataclass
class Timing:
    """Seconds per stage of the data flow, and inside native train and predict calls."""

    started: float
    stages: dict[str, float] = field(default_factory=dict)
    native_seconds: float = 0.0


def task_columns(task: Task) -> list[str]:
    return pred_columns(task.classes, task.kind == "multiclass")


def oof_frame(task: Task, folds: Folds, final: SeedAverage) -> pd.DataFrame:
    frame = pd.DataFrame({"row": np.arange(task.n_rows), "fold": folds.fold_of_row(task.n_rows)})
    add_predictions(frame, final.oof.reshape(task.n_rows, -1), task_columns(task))
    codes = task.y.astype(np.int64) if task.classes is not None else None
    frame["target"] = task.decode_labels(codes) if codes is not None else task.y
    return frame


def test_frame(task: Task, test_pred: np.ndarray | None) -> pd.DataFrame | None:
    if test_pred is None:
        return None
    frame = pd.DataFrame()
    if task.test_ids is not None:
        frame[str(task.test_ids.name)] = task.test_ids.to_numpy()
    return add_predictions(frame, test_pred, task_columns(task))


def trials_frame(searched: Searched) -> pd.DataFrame:
    """Every trial of the search, with the share of each fold's training rows it trained on
    (``fidelity``): the low-fidelity rungs' trials first, then the run's study's."""
    climb = searched.climb
    rungs = [(1.0, searched.study)]
    if climb is not None and climb.used and climb.top is not None:
        rungs = [*((r.share, r.study) for r in climb.rungs), (1.0, climb.top)]
    frames = []
    for share, study in rungs:
        frame = study.trials_dataframe(
            attrs=("number", "value", "state", "duration", "params", "user_attrs"))
        if "state" in frame:  # promoted configurations the budget left no time to run
            frame = frame[frame["state"] != "WAITING"]
        surplus = [t.number for t in study.trials if t.user_attrs.get(SURPLUS_KEY)]
        if surplus:
            frame = frame[~frame["number"].isin(surplus)].drop(columns=f"user_attrs_{SURPLUS_KEY}")
        if "duration" in frame:  # None for a trial still running when the search ended
            frame["duration"] = pd.to_timedelta(frame["duration"]).dt.total_seconds()
        frames.append(frame.assign(fidelity=share))
    return pd.concat(frames, ignore_index=True)


def categorical_record(task: Task) -> dict[str, Any]:
    """How categorical columns were trained, each one's number of levels, and how to change it."""
    levels = {name: len(values) for name, values in task.encoder.categories.items()}
    return {"handling": CATEGORICAL_HANDLING, "levels": levels,
            "override": OVERRIDE_CATEGORICALS}


def build_manifest(searched: Searched, final: SeedAverage, params_used: dict[str, Any],
                   evaluation: dict[str, Any], timing: Timing, *, refit_used: str,
                   refit_rounds: int, diagnosis: dict[str, Any] | None,
                   shortened: bool = False, full_fold: dict[str, Any] | None = None
                   ) -> Manifest:
    prepared, config, study = searched.prepared, searched.config, searched.study
    task, folds, objective = prepared.task, prepared.folds, searched.objective
    states = [t.state for t in study.trials if not t.user_attrs.get(SURPLUS_KEY)]
    wall = time.perf_counter() - timing.started
    return Manifest(
        boosttune=__version__,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        versions={name: version(name) for name in LIBRARIES}
        | {"python": platform.python_version()},
        model=config.one_model, task=task.kind, target=task.target_name, classes=task.classes,
        data={"rows": task.n_rows, "features": len(task.encoder.columns),
              "sha256": task.data_hash(),
              "test_rows": None if task.X_test is None else len(task.X_test)},
        features=task.encoder.columns, categories=task.encoder.categories,
        cv={"scheme": folds.scheme, "n_splits": folds.n_splits, "seed": folds.seed},
        search={
            "n_trials": len(states),
            "n_complete": states.count(optuna.trial.TrialState.COMPLETE),
            "n_pruned": states.count(optuna.trial.TrialState.PRUNED),
            "n_failed": states.count(optuna.trial.TrialState.FAIL),
            "best_trial": study.best_trial.number,
            "interrupted": objective.budget.interrupted,
            "trials_at_once": objective.parallel,
            "fidelity": searched.share,
            "shortened": shortened,  # the chosen trial's folds ended before their best round
            "full_fold": full_fold,  # a delivered rung's choice fit on a whole fold
        },
        best_params=dict(study.best_params),
        params_used=params_used,
        score=final.score.summary(),
        timing={"wall_seconds": wall, "search_seconds": timing.stages.get("search", 0.0),
                "native_seconds": timing.native_seconds, "stages": dict(timing.stages)},
        config=config.to_dict(),
        resolved={
            "space": prepared.space.to_dict(), "seeds": config.seed_list,
            "n_trials": searched.n_trials, "refit_used": refit_used,
            "refit_rounds": refit_rounds, "n_jobs": prepared.backend.settings.n_threads,
            "threads": config.fit.n_jobs.record()
            if isinstance(config.fit.n_jobs, Threads) else None,
            "storage": None if not config.storage.url
            else redacted(storage_url(config.storage.url)),
            "study_name": study.study_name,
            "categoricals": categorical_record(task),
        },
        device=prepared.device.kind,
        device_detail=prepared.device.record(),
        evaluation=evaluation,
        headstart=searched.headstart,
        diagnosis=diagnosis,
    )

