"""Search: open (or resume) the study, give it its head starts, climb the low-fidelity rungs
where the data is large (pipeline.fidelity), and run this process's share of the trials
within the budget."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import optuna

from boosttune.backends.base import Backend
from boosttune.config import RunConfig
from boosttune.core.errors import BoostTuneError, BudgetWarning
from boosttune.core.metrics import Direction
from boosttune.io.rundir import quiet_optuna
from boosttune.pipeline import fidelity
from boosttune.pipeline.estimate import reserved_runs
from boosttune.pipeline.prepare import Prepared
from boosttune.search.budget import Budget
from boosttune.search.headstart import centred_range, enqueue, find_learning_rate, warm_params
from boosttune.search.objective import Objective, run_search
from boosttune.search.pool import TrialPool
from boosttune.search.samplers import grid_size, make_pruner, make_sampler
from boosttune.search.storage import check_identity, fail_dead_local_trials, open_storage


@dataclass
class Searched:
    """What the search leaves for finalize."""

    prepared: Prepared
    study: optuna.Study
    objective: Objective
    n_trials: int | None
    headstart: dict[str, Any] = field(default_factory=dict)
    climb: fidelity.Climb | None = None  # the low-fidelity rungs climbed first, if any
    share: float = 1.0  # of each fold's training rows the chosen trial trained on
    full_data: Backend | None = None  # a delivered rung's: the run's own folds, all rows

    @property
    def config(self) -> RunConfig:
        return self.prepared.config


def search(prepared: Prepared, pause_after: float | None = None) -> Searched:
    """Run the search; with ``pause_after`` (seconds from the run's start), a probe: no
    trial starts after that once one is complete, and ``resume`` goes on."""
    config, backend = prepared.config, prepared.backend
    headstart: dict[str, Any] = {}
    if config.search.lr_finder:
        left = (None if config.timeout is None
                else config.timeout - (time.perf_counter() - prepared.started))
        headstart["lr_finder"] = find_learning_rate(backend, prepared.space, config.seed, left)
        prepared = replace(prepared, space=centred_range(prepared.space,
                                                         headstart["lr_finder"]["chosen"]))
    n_trials = config.trials_wanted
    if config.search.sampler == "grid" and n_trials is None:
        n_trials = grid_size(prepared.space)
    with quiet_optuna():
        study = _open_study(prepared)
        # data preparation counts toward the budget too
        budget = Budget(config.timeout, _extra_runs(prepared),
                        reserved_runs(config, prepared.task, prepared.folds.n_splits),
                        started=prepared.started,
                        pause_at=None if pause_after is None else prepared.started + pause_after)
        climb = None
        if fidelity.climbs(prepared, pause_after):
            climb = fidelity.climb(prepared, budget,
                                   lambda s: headstart.update(_head_start(s, prepared, n_trials)),
                                   _extra_runs(prepared, delivering_rung=True))
        climbed = climb is not None and climb.used
        if climbed:
            assert climb is not None
            fidelity.promote(climb.rungs[-1], study)
            if climb.top_seconds > 0:  # datasets built before the first trial's pace clock
                prepared.backend.build()
        else:
            headstart |= _head_start(study, prepared, n_trials)
        pool = TrialPool(config.one_model, config.finalize.ensemble or 0,
                         Direction.of(prepared.task.metric.direction), prepared.spec.predict,
                         None if config.finalize.ensemble_mb is None
                         else config.finalize.ensemble_mb * 2**20)
        objective = Objective(backend, prepared.space, config.seed, budget,
                              report_fold_scores=config.search.pruner == "wilcoxon",
                              device=prepared.device, native_errors=prepared.spec.native_errors,
                              pool=pool, cut_first=climbed)
        if climb is None or not climb.used or climb.top_seconds > 0:
            # (no full-data trial planned: its trials would be cut, their time is the
            # delivered rung's fit on a whole fold)
            _run(study, objective, n_trials, config, require_complete=not climbed)
        if climb is not None:
            climb.top = study
            headstart["fidelity"] = climb.record()
    searched = Searched(prepared, study, objective, n_trials, headstart, climb)
    if climbed and objective.best_run is None:
        return _from_best_rung(searched)
    return searched


def _from_best_rung(searched: Searched) -> Searched:
    """No full-data trial finished: deliver the best rung's choice, with its fold models or
    (finalize decides) its fit on a whole fold (``fidelity.full_fold_fit``); a refit on all
    rows would scale its rounds by rows it never trained on. Says so."""
    assert searched.climb is not None
    rung = searched.climb.best_rung()
    if rung is None:
        raise BoostTuneError("No trial finished within the budget, not even on a share of "
                             "the rows; raise timeout or lower the round ceiling.")
    warnings.warn(f"The budget held no full-data trial: the model comes from trials on "
                  f"{rung.share:.1%} of each fold's training rows. Raise timeout for a choice "
                  "made on all rows.", BudgetWarning, stacklevel=4)
    prepared, config, objective = searched.prepared, searched.config, rung.objective
    config = replace(config, finalize=replace(config.finalize, refit="folds"),
                     evaluation=replace(config.evaluation, delivered=0))
    # its folds, a share of each one's rows: their OOF predictions are the share's (its
    # models are not scored again on whole folds: on beijing_pm25 that took 9 s of 60)
    backend = objective.backend
    objective.budget = searched.objective.budget  # finalize has what the run has left
    return replace(searched, prepared=replace(prepared, config=config, folds=backend.folds,
                                              backend=backend),
                   study=rung.study, objective=objective, share=rung.share,
                   full_data=prepared.backend)


def resume(searched: Searched, seconds: float | None) -> None:
    """Go on with a paused search for ``seconds`` more (its finalize included)."""
    searched.objective.budget.restart(seconds)
    with quiet_optuna():
        _run(searched.study, searched.objective, searched.n_trials, searched.config)


def _run(study: optuna.Study, objective: Objective, n_trials: int | None,
         config: RunConfig, require_complete: bool = True) -> None:
    run_search(study, objective, n_trials, config.progress,
               parallel=config.search.parallel_trials and not config.storage.url,
               require_complete=require_complete)


def _head_start(study: optuna.Study, prepared: Prepared, n_trials: int | None
                ) -> dict[str, Any]:
    """A new study starts with earlier runs' best params, then the portfolio; a grid
    enumerates its own trials and takes no head start; no more head-start trials than the run
    has (one left waiting would show in the trials and the manifest's count)."""
    config = prepared.config
    if study.trials or config.search.sampler == "grid":
        return {}
    warm = warm_params(config.search.warm_start)[:n_trials]
    found = {"warm_start": enqueue(study, prepared.space, warm)}
    if config.search.portfolio:
        room = None if n_trials is None else n_trials - len(warm)
        found["portfolio"] = enqueue(study, prepared.space,
                                     list(prepared.spec.portfolio)[:room])
    return found


def refit_share(refit: str, n_splits: int) -> float:
    """A refit on all rows as a share of one CV run's time: rows and rounds both grow by
    k/(k-1) over a fold's, and a run fits k folds."""
    if refit == "folds":
        return 0.0
    k = n_splits
    return (k / (k - 1)) ** 2 / k


def _extra_runs(prepared: Prepared, delivering_rung: bool = False) -> float:
    """CV runs' worth of work finalize still needs after the search's best run, the
    estimate's replicas aside (``Budget.replica_runs``); where it delivers a low-fidelity
    rung, there is no refit."""
    config = prepared.config
    per_seed = (config.finalize.top_k + config.evaluation.compare_default
                + config.evaluation.compare_policies
                + (0.0 if delivering_rung else refit_share(prepared.refit,
                                                           prepared.folds.n_splits)))
    return len(config.seed_list) * per_seed - 1


def _open_study(prepared: Prepared) -> optuna.Study:
    """A new in-memory study, or the named study in storage (created or resumed)."""
    config, task = prepared.config, prepared.task
    seed = config.seed if config.search.sampler_seed is None else config.search.sampler_seed
    sampler = make_sampler(config.search.sampler, seed, prepared.space)
    pruner = make_pruner(config.search.pruner, prepared.folds.n_splits)
    if not config.storage.url:
        return optuna.create_study(direction=task.metric.direction, sampler=sampler,
                                   pruner=pruner)
    study = optuna.create_study(
        storage=open_storage(config.storage.url),
        study_name=config.storage.study_name or "boosttune",
        direction=task.metric.direction, sampler=sampler, pruner=pruner, load_if_exists=True)
    fit = config.fit
    check_identity(study, {
        "data_sha256": task.data_hash(), "folds_sha256": prepared.folds.digest(),
        "model": config.model, "metric": task.metric.name, "space": prepared.space.to_dict(),
        "early_stopping": [fit.early_stopping, fit.early_stopping_rounds, fit.max_rounds],
    })
    fail_dead_local_trials(study)
    return study


