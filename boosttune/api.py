"""``tune()``: the one call that runs every stage, Task → Folds → Backend → Study → Finalize."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import numpy as np
import optuna
import pandas as pd
from scipy import stats

from boosttune._version import __version__
from boosttune.backends import Backend, FitSettings, backend_class
from boosttune.backends.base import DATASET_PARAMS
from boosttune.cv import Folds, make_folds
from boosttune.device import Device, resolve_device
from boosttune.errors import BoostTuneError
from boosttune.evaluate import (
    SeedAverage,
    cross_validate,
    paired_difference,
    select_robust,
    summarize_runs,
)
from boosttune.nested import nested_cv
from boosttune.result import Ensemble, TuneResult
from boosttune.spaces import SearchSpace, for_device
from boosttune.spaces import preset as preset_space
from boosttune.task import Task, as_frame, make_task
from boosttune.tuning import (
    Budget,
    Objective,
    grid_size,
    make_pruner,
    make_sampler,
    run_search,
)

DEFAULT_N_TRIALS = 50  # when neither n_trials nor timeout is given


def tune(
    train: pd.DataFrame | np.ndarray,
    target: Any = None,
    *,
    test: pd.DataFrame | np.ndarray | None = None,
    model: str = "lightgbm",
    task: str | None = None,
    metric: Any = None,
    cv: Any = 5,
    cv_scheme: str | None = None,
    groups: Any = None,
    weights: Any = None,
    id_column: str | None = None,
    drop: Sequence[str] = (),
    preset: str = "default",
    space: SearchSpace | None = None,
    fixed: dict[str, Any] | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    sampler: Any = "tpe",
    pruner: Any = "paired",
    seeds: int | Sequence[int] = 1,
    seed: int = 0,
    reshuffle_folds: bool = False,
    refit: bool = False,
    top_k: int = 1,
    select: str = "mean",
    compare_default: bool = False,
    compare_policies: bool = False,
    nested: int | None = None,
    early_stopping: str = "fold",
    early_stopping_rounds: int = 100,
    max_rounds: int = 10_000,
    n_jobs: int | None = None,
    device: str | Device = "cpu",
    strict_device: bool = False,
    progress: bool = True,
) -> TuneResult:
    """Tune ``model`` on ``train`` with cross-validation and return a :class:`TuneResult`.

    ``target`` is a column of ``train`` or an array. ``cv`` is a fold count, an sklearn
    splitter or (train, valid) index pairs; ``cv_scheme`` picks kfold, stratified, group,
    stratified_group, time or predefined, with ``groups`` (a column or array) holding the
    groups, the time order or the fold ids. ``timeout`` bounds the whole run in seconds,
    finalize included; ``seeds`` re-runs the best params over that many seeds (or these seeds).
    Predictions average the fold models of every seed, or with ``refit=True`` one model per
    seed fit on all rows with the folds' best round count scaled to the larger data.
    ``n_jobs`` is the number of CPU threads each model trains with (default: all cores).
    ``device`` is 'cpu', 'gpu' or 'auto' (the GPU where a probe fit passes); an unusable GPU
    falls back to the CPU with a warning, or raises with ``strict_device=True``.

    Honest evaluation: ``top_k`` re-runs the k best trials over every seed and keeps the best
    by ``select`` ('mean', or 'lcb': mean minus its standard error); ``compare_default`` scores
    the preset's defaults on the same folds and seeds (the gain of tuning, with its error);
    ``compare_policies`` re-runs the chosen params under the other early-stopping policy
    (the optimism of stopping on the scored fold); ``nested=k`` first runs a whole tuning
    inside each of k outer folds (the optimism of tuning). Each costs extra CV runs, which a
    ``timeout`` budgets for; the results are in ``result.evaluation`` and the run directory.

    >>> import boosttune as bt                                          # doctest: +SKIP
    >>> result = bt.tune(train, target="class", metric="auc", n_trials=50, seeds=3)
    >>> result.best_params, result.score, result.oof, result.test_pred  # doctest: +SKIP
    """
    arguments = dict(locals())
    started = time.perf_counter()
    backend_class(model)
    seed_list = _seed_list(seeds, seed)
    n_trials = _check_budget(n_trials, timeout)
    _check_evaluation(top_k, select, nested)
    the_task = make_task(train, target, test=test, task=task, metric=metric, weights=weights,
                         groups=groups, id_column=id_column, drop=drop)
    the_device = (device if isinstance(device, Device)
                  else resolve_device(model, device, strict_device))
    nested_report = None
    if nested:
        inner = {k: v for k, v in arguments.items()
                 if k not in ("train", "target", "test", "nested", "timeout", "progress")}
        inner["device"] = the_device
        share = None if timeout is None else timeout / (nested + 1)
        nested_report = nested_cv(the_task, as_frame(train, "train"), target, nested, seed,
                                  {**inner, "timeout": share, "progress": False})
        timeout = None if timeout is None else max(1.0, timeout - (time.perf_counter()
                                                                   - started))
    folds = make_folds(the_task, cv, cv_scheme, seed)
    search_space = for_device((space or preset_space(model, preset)).fix(**(fixed or {})),
                              the_device)
    settings = FitSettings(early_stopping, early_stopping_rounds, max_rounds,
                           n_jobs or os.cpu_count() or 1, dict(the_device.params))
    backend = _make_backend(model, the_task, folds, settings, search_space)
    if sampler == "grid" and n_trials is None:
        n_trials = grid_size(search_space)

    with _quiet_optuna():
        study = optuna.create_study(
            direction=the_task.metric.direction,
            sampler=make_sampler(sampler, seed, search_space),
            pruner=make_pruner(pruner, folds.n_splits),
        )
        extra_runs = len(seed_list) * (top_k + compare_default + compare_policies) - 1
        objective = Objective(backend, search_space, seed, Budget(timeout, extra_runs),
                              report_fold_scores=pruner == "wilcoxon", device=the_device)
        run_search(study, objective, n_trials, progress)
    search_seconds = time.perf_counter() - started

    assert objective.best_run is not None and objective.best_params is not None
    backends = [backend] + [
        _make_backend(model, the_task, make_folds(the_task, cv, cv_scheme, s), settings,
                      search_space) if reshuffle_folds else backend
        for s in seed_list[1:]
    ]
    candidates = objective.top(study, top_k)
    chosen, selection = select_robust(backends, candidates, seed_list, objective.best_run, select)
    final = summarize_runs(the_task, folds, chosen.runs)
    best_params = chosen.params
    evaluation = {"selection": _selection_summary(selection, chosen.trial, select)}
    if compare_default:
        default_runs = [cross_validate(b, dict(search_space.fixed), s)
                        for b, s in zip(backends, seed_list, strict=True)]
        evaluation["tuned_minus_default"] = paired_difference(
            final.runs, default_runs, the_task.metric.direction, folds)
    if compare_policies:
        evaluation["fold_minus_inner"] = _policy_optimism(
            model, the_task, backends, settings, search_space, best_params, seed_list, final)
    if nested_report is not None:
        evaluation["nested"] = nested_report.summary()
    n_rounds = backend.refit_rounds(final.score.table["n_rounds"].mean())
    members = ([(backend.fit_all(best_params, n_rounds, s), n_rounds) for s in seed_list]
               if refit else [(f.model, f.n_rounds) for r in final.runs for f in r.fits])
    ensemble = Ensemble(model, members, the_task.encoder)
    test_pred = None if the_task.X_test is None else ensemble.predict_matrix(the_task.X_test)
    wall = time.perf_counter() - started
    config = {
        "model": model, "task": the_task.kind, "metric": the_task.metric.name, "cv": repr(cv),
        "cv_scheme": folds.scheme, "preset": preset, "space": search_space.to_dict(),
        "n_trials": n_trials, "timeout": timeout, "sampler": str(sampler),
        "pruner": str(pruner), "seeds": seed_list, "seed": seed,
        "reshuffle_folds": reshuffle_folds, "refit": refit, "refit_rounds": n_rounds,
        "top_k": top_k, "select": select, "compare_default": compare_default,
        "compare_policies": compare_policies, "nested": nested,
        "early_stopping": early_stopping,
        "early_stopping_rounds": early_stopping_rounds, "max_rounds": max_rounds,
        "n_jobs": settings.n_threads, "device": the_device.requested,
        "strict_device": strict_device,
        "interrupted": objective.budget.interrupted,
    }
    timing = {"wall_seconds": wall, "search_seconds": search_seconds,
              "native_seconds": sum({id(b): b.native_seconds for b in backends}.values())}
    return TuneResult(
        model=model,
        best_params=dict(study.trials[chosen.trial].params),
        params=backend.export_params(best_params, n_rounds),
        score=final.score,
        oof=_oof_frame(the_task, folds, final),
        test_pred=_test_frame(the_task, test_pred),
        trials=_trials_frame(study),
        folds=folds,
        manifest=_manifest(the_task, folds, study, best_params, final, config, timing)
        | {"device": the_device.kind, "device_detail": the_device.record(),
           "evaluation": evaluation},
        study=study,
        ensemble=ensemble,
        evaluation=evaluation,
        selection=selection,
        nested=nested_report,
    )


def _check_evaluation(top_k: int, select: str, nested: int | None) -> None:
    if top_k < 1:
        raise BoostTuneError(f"The 'top_k' parameter must be at least 1; got {top_k}.")
    if select not in ("mean", "lcb"):
        raise BoostTuneError(f"The 'select' parameter must be 'mean' or 'lcb'; got {select!r}.")
    if nested is not None and nested < 2:
        raise BoostTuneError(f"The 'nested' parameter must be at least 2 folds; got {nested}.")


def _selection_summary(table: pd.DataFrame, chosen: int, select: str) -> dict[str, Any]:
    tau = (float(stats.kendalltau(table["search_rank"], table["selected_rank"]).statistic)
           if len(table) > 2 else None)
    return {"top_k": len(table), "select": select, "chosen_trial": chosen,
            "search_best_trial": int(table["trial"].iloc[0]),
            "stable": chosen == int(table["trial"].iloc[0]), "kendall_tau": tau}


def _policy_optimism(model: str, task: Task, backends: list[Backend], settings: FitSettings,
                     space: SearchSpace, params: dict[str, Any], seeds: list[int],
                     final: SeedAverage) -> dict[str, float]:
    """Score the chosen params under the other early-stopping policy on the same folds."""
    other = replace(settings, early_stopping="inner" if settings.early_stopping == "fold"
                    else "fold")
    rebuilt: dict[int, Backend] = {}
    for b in backends:
        rebuilt.setdefault(id(b), _make_backend(model, task, b.folds, other, space))
    other_runs = [cross_validate(rebuilt[id(b)], params, s)
                  for b, s in zip(backends, seeds, strict=True)]
    fold_runs, inner_runs = ((final.runs, other_runs) if settings.early_stopping == "fold"
                             else (other_runs, final.runs))
    return paired_difference(fold_runs, inner_runs, task.metric.direction, backends[0].folds)


def _seed_list(seeds: int | Sequence[int], seed: int) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise BoostTuneError(f"The 'seeds' parameter must be at least 1; got {seeds}.")
        return [seed + i for i in range(int(seeds))]
    if isinstance(seeds, bool):
        raise BoostTuneError(f"The 'seeds' parameter must be an int or a list; got {seeds}.")
    listed = [int(s) for s in seeds]
    if not listed or len(set(listed)) != len(listed):
        raise BoostTuneError(f"The 'seeds' list must be non-empty and distinct; got {seeds}.")
    return listed


def _check_budget(n_trials: int | None, timeout: float | None) -> int | None:
    if n_trials is not None and n_trials < 1:
        raise BoostTuneError(f"The 'n_trials' parameter must be at least 1; got {n_trials}.")
    if timeout is not None and timeout <= 0:
        raise BoostTuneError(f"The 'timeout' parameter must be positive; got {timeout}.")
    return DEFAULT_N_TRIALS if n_trials is None and timeout is None else n_trials


def _make_backend(model: str, task: Task, folds: Folds, settings: FitSettings,
                  space: SearchSpace) -> Backend:
    dataset_params = {k: v for k, v in space.fixed.items() if k in DATASET_PARAMS}
    backend = backend_class(model)(task, folds, settings, dataset_params)
    backend.check_params(set(space.dimensions))
    return backend


@contextmanager
def _quiet_optuna() -> Any:
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


def _pred_columns(task: Task) -> list[str]:
    if task.kind == "multiclass":
        return [f"pred_{c}" for c in task.classes or []]
    return ["pred"]


def _oof_frame(task: Task, folds: Folds, final: SeedAverage) -> pd.DataFrame:
    frame = pd.DataFrame({"row": np.arange(task.n_rows), "fold": folds.fold_of_row(task.n_rows)})
    preds = final.oof.reshape(task.n_rows, -1)
    for j, name in enumerate(_pred_columns(task)):
        frame[name] = preds[:, j]
    codes = task.y.astype(np.int64) if task.classes is not None else None
    frame["target"] = task.decode_labels(codes) if codes is not None else task.y
    return frame


def _test_frame(task: Task, test_pred: np.ndarray | None) -> pd.DataFrame | None:
    if test_pred is None:
        return None
    frame = pd.DataFrame()
    if task.test_ids is not None:
        frame[str(task.test_ids.name)] = task.test_ids.to_numpy()
    preds = test_pred.reshape(len(test_pred), -1)
    for j, name in enumerate(_pred_columns(task)):
        frame[name] = preds[:, j]
    return frame


def _trials_frame(study: optuna.Study) -> pd.DataFrame:
    frame = study.trials_dataframe(
        attrs=("number", "value", "state", "duration", "params", "user_attrs"))
    if "duration" in frame:
        frame["duration"] = frame["duration"].dt.total_seconds()
    return frame


def _manifest(task: Task, folds: Folds, study: optuna.Study, best: dict[str, Any],
              final: SeedAverage, config: dict[str, Any], timing: dict[str, float]
              ) -> dict[str, Any]:
    states = [t.state for t in study.trials]
    score = final.score
    return {
        "boosttune": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {name: version(name) for name in
                     ("lightgbm", "xgboost", "optuna", "scikit-learn", "pandas", "numpy")}
        | {"python": platform.python_version()},
        "model": config["model"], "task": task.kind, "target": task.target_name,
        "classes": task.classes,
        "data": {"rows": task.n_rows, "features": len(task.encoder.columns),
                 "sha256": task.data_hash(),
                 "test_rows": None if task.X_test is None else len(task.X_test)},
        "features": task.encoder.columns, "categories": task.encoder.categories,
        "cv": {"scheme": folds.scheme, "n_splits": folds.n_splits, "seed": folds.seed},
        "search": {
            "n_trials": len(states),
            "n_complete": states.count(optuna.trial.TrialState.COMPLETE),
            "n_pruned": states.count(optuna.trial.TrialState.PRUNED),
            "best_trial": study.best_trial.number,
            "interrupted": config["interrupted"],
        },
        "best_params": dict(study.best_params),
        "params_used": best,
        "score": {"metric": score.metric, "direction": score.direction, "mean": score.mean,
                  "std": score.std, "per_seed": score.per_seed, "oof_score": score.oof_score,
                  "std_error": score.std_error, "interval_95": list(score.interval),
                  "definition": "per seed: mean of fold scores; reported: mean and std over "
                                "seeds; oof_score: mean over folds of the seed-averaged OOF; "
                                "std_error: Nadeau-Bengio corrected over folds x seeds; "
                                "interval_95: mean +- t(0.975, J-1) std_error"},
        "timing": timing,
        "config": config,
    }
