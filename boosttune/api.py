"""``tune()``: the one call that runs every stage, Task → Folds → Backend → Study → Finalize."""

from __future__ import annotations

import inspect
import os
import platform
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import numpy as np
import optuna
import pandas as pd
from scipy import stats

from boosttune import schedules
from boosttune._version import __version__
from boosttune.backends import Backend, FitSettings, backend_class
from boosttune.backends.base import DATASET_PARAMS
from boosttune.curves import diagnose_curves, learning_curves
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
from boosttune.headstart import (
    PORTFOLIO,
    centred_range,
    enqueue,
    find_learning_rate,
    warm_params,
)
from boosttune.nested import NestedReport, nested_cv
from boosttune.result import Ensemble, TuneResult
from boosttune.spaces import SearchSpace, for_device
from boosttune.spaces import preset as preset_space
from boosttune.storage import (
    check_identity,
    fail_dead_local_trials,
    open_storage,
    redacted,
    storage_url,
    wait_for_running,
)
from boosttune.task import Task, as_frame, make_task
from boosttune.tuning import (
    FINALIZE_RUN_SHARE,
    Budget,
    Objective,
    grid_size,
    make_pruner,
    make_sampler,
    run_search,
)

DEFAULT_N_TRIALS = 50  # when neither n_trials nor timeout is given
REFITS = ("folds", "full", "blend")  # what predicts the test rows (see tune's docstring)
# Measured on 8 benchmark datasets × 2 seeds, 5 folds, against the folds' average on the test
# split: LightGBM (subsampled defaults) blend better on 14 of 16, XGBoost (its defaults) 9 of 16.
DEFAULT_REFIT = {"lightgbm": "blend", "xgboost": "folds"}


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
    refit: str | None = None,
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
    storage: str | os.PathLike[str] | None = None,
    study_name: str | None = None,
    lr_schedule: str = "constant",
    warm_start: Any = None,
    lr_finder: bool = False,
    portfolio: bool = True,
    parallel_trials: bool = True,
    progress: bool = True,
) -> TuneResult:
    """Tune ``model`` on ``train`` with cross-validation and return a :class:`TuneResult`.

    ``target`` is a column of ``train`` or an array. ``cv`` is a fold count, an sklearn
    splitter or (train, valid) index pairs; ``cv_scheme`` picks kfold, stratified, group,
    stratified_group, time or predefined, with ``groups`` (a column or array) holding the
    groups, the time order or the fold ids. ``timeout`` bounds the whole run in seconds,
    finalize included; ``seeds`` re-runs the best params over that many seeds (or these seeds).
    Test predictions (``refit``): 'folds' averages the fold models of every seed; 'full' fits
    one model per seed on all rows, with the folds' best round count scaled to the larger data;
    'blend' gives each of the two half the weight. The default is 'blend' for LightGBM and
    'folds' for XGBoost (see DEFAULT_REFIT).
    ``n_jobs`` is the number of CPU threads each model trains with (default: all cores).
    ``device`` is 'cpu', 'gpu' or 'auto' (the GPU where a probe fit passes); an unusable GPU
    falls back to the CPU with a warning, or raises with ``strict_device=True``.
    ``storage`` (an Optuna RDB URL, or a path for a SQLite file) keeps the study: calling
    again resumes it, finished trials counting toward ``n_trials``, and :func:`work` lets
    other processes or machines search the same study.

    Head starts: ``lr_schedule`` is 'constant', a schedule name ('step', 'exponential',
    'cosine', 'warmup_cosine') or 'search' (a searched dimension); ``warm_start`` (run
    directories, results or params dicts) enqueues earlier best params as the first trials;
    ``lr_finder=True`` centres the learning-rate range on a rate a quick sweep picks for the
    budget; ``portfolio`` (default) first tries a few known-good configurations, the
    library's defaults among them. ``parallel_trials`` (default) runs two trials at a time,
    each on half the threads, when a ``timeout`` ends an in-memory CPU search and a trial
    takes under 10% of it (small data uses two threads per model poorly); set it False for a
    timed run whose trial order does not depend on thread timing.

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
    searched = _search_stage(dict(locals()))
    return _finalize_stage(searched)


def work(train: pd.DataFrame | np.ndarray, target: Any = None, **options: Any) -> int:
    """Run trials of a shared study without finalizing; return how many this worker ran.

    Takes :func:`tune`'s arguments, with ``storage`` and ``study_name`` naming the study that
    other workers (other processes or machines) search too. The data, folds and settings must
    be those the study was started with. The process that calls :func:`tune` (or
    ``boosttune run``) finalizes once the search is over.
    """
    bound = inspect.signature(tune).bind(train, target, **options)
    bound.apply_defaults()
    if not bound.arguments["storage"]:
        raise BoostTuneError("work() needs storage= (an Optuna RDB URL or a SQLite path) "
                             "shared with the other workers.")
    # the same sampler seed in every worker would propose the same trials: one per process
    arguments = {**bound.arguments, "sampler_seed": bound.arguments["seed"] + os.getpid()}
    return _search_stage(arguments).objective.n_run


@dataclass
class _Searched:
    """What the search stage leaves for finalize."""

    arguments: dict[str, Any]
    device: Device
    space: SearchSpace
    backend: Backend  # holds the task, the folds and the fit settings
    seeds: list[int]
    study: optuna.Study
    objective: Objective
    nested: NestedReport | None
    started: float
    search_seconds: float
    headstart: dict[str, Any]


def _search_stage(a: dict[str, Any]) -> _Searched:
    """Check the inputs, make folds and datasets once, and run (this worker's share of) the
    search."""
    started = time.perf_counter()
    model, timeout = a["model"], a["timeout"]
    backend_class(model)
    seed_list = _seed_list(a["seeds"], a["seed"])
    n_trials = _check_budget(a["n_trials"], timeout)
    _check_evaluation(a["top_k"], a["select"], a["nested"])
    if a["refit"] not in (*REFITS, None):
        raise BoostTuneError(f"The 'refit' parameter must be one of {list(REFITS)}; got "
                             f"{a['refit']!r} instead.")
    if a["warm_start"] is not None and a["sampler"] == "grid":
        raise BoostTuneError("warm_start enqueues trials off the grid; use another sampler "
                             "(tpe, random, qmc, ...) with warm_start, or drop it.")
    task = make_task(a["train"], a["target"], test=a["test"], task=a["task"], metric=a["metric"],
                     weights=a["weights"], groups=a["groups"], id_column=a["id_column"],
                     drop=a["drop"])
    device = (a["device"] if isinstance(a["device"], Device)
              else resolve_device(model, a["device"], a["strict_device"]))
    nested_report = None
    if a["nested"]:
        inner = {k: v for k, v in a.items() if k not in (
            "train", "target", "test", "nested", "timeout", "progress", "storage", "study_name")}
        share = None if timeout is None else timeout / (a["nested"] + 1)
        nested_report = nested_cv(task, as_frame(a["train"], "train"), a["target"], a["nested"],
                                  a["seed"], {**inner, "device": device, "timeout": share,
                                              "progress": False})
    folds = make_folds(task, a["cv"], a["cv_scheme"], a["seed"])
    space = _with_schedule(for_device((a["space"] or preset_space(model, a["preset"])).fix(
        **(a["fixed"] or {})), device), a["lr_schedule"])
    settings = FitSettings(a["early_stopping"], a["early_stopping_rounds"], a["max_rounds"],
                           a["n_jobs"] or os.cpu_count() or 1, dict(device.params))
    backend = _make_backend(model, task, folds, settings, space)
    headstart: dict[str, Any] = {}
    if a["lr_finder"]:
        left = None if timeout is None else timeout - (time.perf_counter() - started)
        headstart["lr_finder"] = find_learning_rate(backend, space, a["seed"], left)
        space = centred_range(space, headstart["lr_finder"]["chosen"])
    if a["sampler"] == "grid" and n_trials is None:
        n_trials = grid_size(space)
    a = {**a, "n_trials": n_trials, "refit": a["refit"] or DEFAULT_REFIT[model]}
    extra_runs = len(seed_list) * (a["top_k"] + a["compare_default"] + a["compare_policies"]
                                   + _refit_share(a["refit"], folds)) - 1
    with _quiet_optuna():
        study = _open_study(a, task, folds, space)
        # a new study starts with earlier runs' best params, then the portfolio; a grid
        # enumerates its own trials and takes no head start; no more head-start trials than
        # the run has (one left waiting would show in the trials and the manifest's count)
        if not study.trials and a["sampler"] != "grid":
            warm = warm_params(a["warm_start"])[:n_trials]
            headstart["warm_start"] = enqueue(study, space, warm)
            if a["portfolio"]:
                room = None if n_trials is None else n_trials - len(warm)
                headstart["portfolio"] = enqueue(study, space, PORTFOLIO[model][:room])
        budget = Budget(timeout, extra_runs, started=started)  # data preparation counts too
        objective = Objective(backend, space, a["seed"], budget,
                              report_fold_scores=a["pruner"] == "wilcoxon", device=device)
        run_search(study, objective, n_trials, a["progress"],
                   parallel=a["parallel_trials"] and not a["storage"])
    return _Searched(a, device, space, backend, seed_list, study, objective, nested_report,
                     started, time.perf_counter() - started, headstart)


def _open_study(a: dict[str, Any], task: Task, folds: Folds, space: SearchSpace
                ) -> optuna.Study:
    """A new in-memory study, or the named study in ``storage`` (created or resumed)."""
    sampler = make_sampler(a["sampler"], a.get("sampler_seed", a["seed"]), space)
    pruner = make_pruner(a["pruner"], folds.n_splits)
    if not a["storage"]:
        return optuna.create_study(direction=task.metric.direction, sampler=sampler,
                                   pruner=pruner)
    study = optuna.create_study(
        storage=open_storage(a["storage"]), study_name=a["study_name"] or "boosttune",
        direction=task.metric.direction, sampler=sampler, pruner=pruner, load_if_exists=True)
    check_identity(study, {
        "data_sha256": task.data_hash(), "folds_sha256": folds.digest(),
        "model": a["model"], "metric": task.metric.name, "space": space.to_dict(),
        "early_stopping": [a["early_stopping"], a["early_stopping_rounds"], a["max_rounds"]],
    })
    fail_dead_local_trials(study)
    return study


def _finalize_stage(searched: _Searched) -> TuneResult:
    """Re-run the chosen params over the seeds, score, predict and build the result."""
    a, backend = searched.arguments, searched.backend
    the_task, folds, settings = backend.task, backend.folds, backend.settings
    model, study, objective = a["model"], searched.study, searched.objective
    search_space, seed_list = searched.space, searched.seeds
    if a["storage"]:
        wait_for_running(study)  # other workers' trials count: finalize on the whole search
    backends = [backend] + [
        _make_backend(model, the_task, make_folds(the_task, a["cv"], a["cv_scheme"], s),
                      settings, search_space) if a["reshuffle_folds"] else backend
        for s in seed_list[1:]
    ]
    candidates = objective.top(study, a["top_k"])
    chosen, selection = select_robust(backends, candidates, seed_list,
                                      objective.reusable_run(candidates[0][0]), a["select"])
    final = summarize_runs(the_task, folds, chosen.runs)
    curves = learning_curves(backend, final.runs[0])
    verdict, per_fold = diagnose_curves(curves, settings.max_rounds,
                                        the_task.metric.greater_is_better)
    best_params = chosen.params
    evaluation = {"selection": _selection_summary(selection, chosen.trial, a["select"])}
    if a["compare_default"]:
        default_runs = [cross_validate(b, dict(search_space.fixed), s)
                        for b, s in zip(backends, seed_list, strict=True)]
        evaluation["tuned_minus_default"] = paired_difference(
            final.runs, default_runs, the_task.metric.direction, folds)
    if a["compare_policies"]:
        evaluation["fold_minus_inner"] = _policy_optimism(
            model, the_task, backends, settings, search_space, best_params, seed_list, final)
    if searched.nested is not None:
        evaluation["nested"] = searched.nested.summary()
    n_rounds = backend.refit_rounds(final.score.table["n_rounds"].mean())
    refit = _affordable_refit(a["refit"], objective.budget, final.runs[0].seconds,
                              len(seed_list), folds)
    fold_members = ([] if refit == "full"
                    else [(f.model, f.n_rounds) for r in final.runs for f in r.fits])
    full_members = ([] if refit == "folds"
                    else [(backend.fit_all(best_params, n_rounds, s), n_rounds) for s in seed_list])
    ensemble = Ensemble(model, fold_members, the_task.encoder, full_members)
    test_pred = None if the_task.X_test is None else ensemble.predict_matrix(the_task.X_test)
    config = {key: a[key] for key in CONFIG_KEYS} | {
        "task": the_task.kind, "metric": the_task.metric.name,
        "cv": repr(a["cv"]), "cv_scheme": folds.scheme, "space": search_space.to_dict(),
        "sampler": str(a["sampler"]), "pruner": str(a["pruner"]), "seeds": seed_list,
        "refit_used": refit, "refit_rounds": n_rounds, "n_jobs": settings.n_threads,
        "device": searched.device.requested, "interrupted": objective.budget.interrupted,
        "trials_at_once": objective.parallel,
        "storage": None if not a["storage"] else redacted(storage_url(a["storage"])),
        "study_name": study.study_name,
    }
    timing = {"wall_seconds": time.perf_counter() - searched.started,
              "search_seconds": searched.search_seconds,
              "native_seconds": objective.native_seconds + sum(  # trials' copies included
                  {id(b): b.native_seconds for b in backends if b is not backend}.values())}
    manifest = _manifest(the_task, folds, study, best_params, final, config, timing) | {
        "device": searched.device.kind, "device_detail": searched.device.record(),
        "evaluation": evaluation, "headstart": searched.headstart,
        "diagnosis": {"verdict": verdict.verdict, "reason": verdict.reason,
                      "folds": [d.verdict for d in per_fold]}}
    return TuneResult(
        model=model,
        best_params=dict(study.trials[chosen.trial].params),
        params=backend.export_params(best_params, n_rounds),
        score=final.score,
        oof=_oof_frame(the_task, folds, final),
        test_pred=_test_frame(the_task, test_pred),
        trials=_trials_frame(study),
        folds=folds,
        manifest=manifest,
        study=study,
        ensemble=ensemble,
        evaluation=evaluation,
        selection=selection,
        nested=searched.nested,
        curves=curves,
    )


CONFIG_KEYS = ("model", "task", "metric", "preset", "n_trials", "timeout", "seed",
               "reshuffle_folds", "refit", "top_k", "select", "compare_default",
               "compare_policies", "nested", "early_stopping", "early_stopping_rounds",
               "max_rounds", "strict_device", "lr_schedule", "lr_finder", "portfolio",
               "parallel_trials")


def _with_schedule(space: SearchSpace, choice: str) -> SearchSpace:
    """The space searching (or fixing) the learning-rate schedule that ``choice`` names."""
    for name, dimension in schedules.dimensions(choice).items():
        space = space.with_dimension(name, dimension)
    return space if choice in ("constant", "search") else space.fix(lr_schedule=choice)


def _refit_share(refit: str, folds: Folds) -> float:
    """A refit on all rows as a share of one CV run's time: rows and rounds both grow by
    k/(k-1) over a fold's, and a run fits k folds."""
    if refit == "folds":
        return 0.0
    k = folds.n_splits
    return (k / (k - 1)) ** 2 / k


def _affordable_refit(refit: str, budget: Budget, run_seconds: float, n_seeds: int,
                      folds: Folds) -> str:
    """'blend' keeps the fold models only when its refits, and the test predictions after
    them, would overrun the timeout (on letter at 60 s, one trial takes most of it)."""
    left = budget.seconds_left()
    if refit != "blend" or left is None:
        return refit
    cost = (n_seeds * _refit_share(refit, folds) + FINALIZE_RUN_SHARE) * run_seconds
    return refit if cost <= left else "folds"


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
            "trials_at_once": config["trials_at_once"],
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
