"""Cheap trials first on large data: successive halving over row shares of the training folds.

Where one full CV trial is predicted to take more than FULL_TRIAL_SHARE of the search time,
configurations are first cross-validated with each fold's model trained on a share of that
fold's training rows and scored on three times that share of its validation rows (stratified
for classification; whole from a third up). The best third of a
rung's configurations goes on to the next share (three times the rows), and the last rung is
the full data: the run's own study, which finalize uses. Each rung is a study of its own, so
TPE learns from trials of one fidelity. A trial's cost is predicted from the lowest rung's
first trial, linear in the rows it trains on. Every fit above the lowest rung can be cut:
where no full trial finishes, the run delivers the best rung it reached, and says so. Its
choice is then fit once on the whole training part of the first fold, early-stopped on that
fold's validation rows, in time the search kept for it: models trained on a share of the rows
score far worse on large tables than one trained on all of them (beijing_pm25 at 60 s: RMSE
26.3 from the rung's fold models against 16.9 from LightGBM's defaults on 90% of the rows).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna

from boosttune.backends.base import Backend, Cut
from boosttune.config import RunConfig
from boosttune.core import clock
from boosttune.core.folds import Folds, split_rows
from boosttune.core.metrics import Direction
from boosttune.core.results import CVRun, FoldFit
from boosttune.pipeline.estimate import bootstrap_seconds, n_test
from boosttune.pipeline.prepare import Prepared
from boosttune.search.budget import Budget
from boosttune.search.objective import Objective, parallel_trials, run_search
from boosttune.search.samplers import make_pruner, make_sampler

ETA = 3  # each rung trains on 3x the rows of the one below and takes its best third
LOW_RUNG_ROWS = 20_000  # the lowest rung trains on at most about this many rows per fold
MIN_RUNG_ROWS = 7_500  # and no rung on fewer (kddcup99's 1/27: 11.7k rows a fold)
MIN_CLIMB_ROWS = 45_000  # nor any rung where a fold trains on fewer: smaller tables fit a
# full trial in seconds (keeps tables of diamonds' size, 43k training rows, on the plain search)
FULL_TRIAL_SHARE = 0.05  # rungs are climbed when a full trial would take more of the search
# (under 20 full trials in the budget: the goal of issue 22 is 20 configurations at 60 s)
TOP_MAX_SHARE = 0.5  # the full-data rung gets at most this share of what is left
MIN_TOP_TRIALS = 2  # and time for this many full trials where that share allows
MIN_RUNG_TRIALS = 4  # a lower rung is kept where it has time for this many of its trials
PREDICT_MARGIN = 1.0  # a delivered rung's predictions of the test rows, over their time alone
FULL_FOLD_PREDICT_MARGIN = 1.5  # a whole fold's model, over the rung's models' time a tree
# and row (its trees are fuller: 1.29x on beijing_pm25)
RUNG_PATIENCE = 20  # early-stopping rounds of a lower rung's fits (at most the run's)
FULL_FOLD_MAX_SHARE = 0.5  # of what the search has left, the most a delivered rung's
# full-data fold fit is kept (it is cut at its time, keeping its best round)
FULL_FOLD_MIN_SHARE = 0.3  # and the least, where a full trial's fold is predicted to take
# less: a fold that early-stops at 20 rounds on a share of the rows boosts for thousands
# on all of them (beijing_pm25 at 300 s: 31 s gave RMSE 21.5, 59 s gave 17.9)
LOW_RUNG_FOLDS = 2  # the lowest rung cross-validates on the first folds only (the pruner
# stops most of its trials after one fold, so its complete ones were most of its time)
LOW_RUNG_CONFIGS = 24  # the lowest rung's time is shared among this many configurations
# (issue 22's goal, 20, with a margin for those the deadline cuts): a fold past its share
# stops at its best round (Budget.allotted_stop)
LOWEST_FIRST_SHARE = 0.25  # of the search time, the most the lowest rung's first trial takes
# (it only predicts a full trial's cost; beijing_pm25's took 45 s of a 60 s run uncut)


@dataclass
class Rung:
    """One fidelity: its share of each fold's training rows, its study and its objective."""

    share: float
    study: optuna.Study
    objective: Objective
    promoted: int = 0  # configurations it was given from the rung below
    seconds: float = 0.0

    def record(self) -> dict[str, Any]:
        return {"share": self.share, "promoted": self.promoted,
                "folds": self.objective.backend.folds.n_splits,
                "fold_seconds": self.objective.fold_seconds, **_counts(self.study),
                "seconds": round(self.seconds, 2)}


@dataclass
class Climb:
    """The lower rungs a search climbed (lowest first) and what it found out."""

    rungs: list[Rung] = field(default_factory=list)
    predicted_full_seconds: float = 0.0
    used: bool = False
    top_seconds: float = 0.0  # planned for the full-data rung (none: no full trial fits)
    top: optuna.Study | None = None  # the full-data study the climb led to

    def record(self) -> dict[str, Any]:
        return {"used": self.used, "predicted_full_trial_seconds":
                round(self.predicted_full_seconds, 2),
                "full_rung_seconds": round(self.top_seconds, 2),
                "rungs": [r.record() for r in self.rungs],
                "full": None if self.top is None or not self.used else _counts(self.top)}

    def best_rung(self) -> Rung | None:
        """The highest rung with a complete trial."""
        return next((r for r in reversed(self.rungs) if r.objective.best_run is not None),
                    None)


def _counts(study: optuna.Study) -> dict[str, int]:
    """Complete and pruned trials, and of the pruned, those cut before a fold was scored (the
    budget ran out): no configuration was evaluated there."""
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    return {"complete": sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials),
            "pruned": len(pruned), "unscored": sum(not t.intermediate_values for t in pruned)}


def rung_shares(prepared: Prepared) -> list[float]:
    """The row shares below 1, lowest first: powers of 1/ETA down to the first whose fold
    training rows are within LOW_RUNG_ROWS, none under MIN_RUNG_ROWS rows; none where a fold
    trains on fewer than MIN_CLIMB_ROWS."""
    rows = min(len(train) for train, _ in prepared.folds.splits)
    shares: list[float] = []
    if rows < MIN_CLIMB_ROWS:
        return shares
    share = 1 / ETA
    while share * rows >= MIN_RUNG_ROWS:
        shares.insert(0, share)
        if share * rows <= LOW_RUNG_ROWS:
            break
        share /= ETA
    return shares


def climbs(prepared: Prepared, pause_after: float | None) -> bool:
    """Whether this search may climb rungs: a timed, budget-bound, in-memory search of one
    model (not a multi-model probe) on data big enough for a lower rung."""
    config = prepared.config
    return (config.timeout is not None and config.n_trials is None and pause_after is None
            and not config.storage.url and config.search.sampler != "grid"
            and bool(rung_shares(prepared)))


def climb(prepared: Prepared, budget: Budget, head_start: Callable[[optuna.Study], Any],
          rung_runs: float) -> Climb:
    """Run the lower rungs within ``budget`` and leave the rest to the full-data study; the
    climb is not used (no rung kept) where the lowest rung's first trial shows that a full
    trial takes at most FULL_TRIAL_SHARE of the search time. ``rung_runs``: the CV runs
    finalize needs where it delivers a rung (no refit, no replicas)."""
    shares, left = rung_shares(prepared), budget.search_seconds_left()
    assert left is not None
    found = Climb()
    lowest = _rung(prepared, shares[0], Budget(left, 0.0, finalize_share=0.0),
                   n_folds=LOW_RUNG_FOLDS)
    lowest.objective.first_share = LOWEST_FIRST_SHARE
    head_start(lowest.study)
    _run_rung(lowest, prepared, 1)
    if lowest.objective.best_run is None:
        return found
    first = lowest.objective.best_run
    found.predicted_full_seconds = (first.seconds * prepared.folds.n_splits / len(first.fits)
                                    / shares[0])
    if found.predicted_full_seconds <= FULL_TRIAL_SHARE * left:
        return found
    found.used, found.rungs = True, [lowest]
    predict_seconds = delivery_predict_seconds(prepared, first)
    kept, top_seconds = reserved_plan(budget, shares, found.predicted_full_seconds, rung_runs,
                                      predict_seconds, prepared.folds.n_splits)
    found.top_seconds = top_seconds
    for i, share in enumerate(kept):
        seconds = max(((budget.search_seconds_left() or 0.0) - top_seconds) / (len(kept) - i),
                      0.0)
        rung_budget = Budget(seconds, 0.0, finalize_share=0.0)
        # a trial's expected time, until one finishes: it decides whether trials run two
        # at a time, and what a delivered rung's predictions take
        rung_budget.best_run_seconds = first.seconds if i == 0 else \
            found.predicted_full_seconds * share
        if top_seconds == 0:
            _predictions_grow(rung_budget, predict_seconds, rung_budget.best_run_seconds)
        if i == 0:
            rung = lowest
            rung.objective.budget = rung_budget
            configs = LOW_RUNG_CONFIGS
        else:
            rung = _rung(prepared, share, rung_budget)
            rung.promoted = configs = promote(found.rungs[-1], rung.study)
            found.rungs.append(rung)
            rung.objective.cut_first = True
        rung.objective.fold_seconds = _fold_seconds(rung, seconds, prepared, configs)
        _run_rung(rung, prepared, None)
        if rung.objective.budget.interrupted:
            budget.interrupted = True
            break
    return found


def _fold_seconds(rung: Rung, seconds: float, prepared: Prepared, configs: int) -> float:
    """The time of a rung trial's fold: the rung's ``seconds`` on each of the trials run at
    once, shared among the folds of ``configs`` configurations (LOW_RUNG_CONFIGS on the
    lowest rung, those promoted above it: on beijing_pm25 at 300 s, 23 of the 1/9 rung's
    25 trials were cut before a fold was scored, its first two having taken its time)."""
    at_once = parallel_trials(rung.objective, prepared.config.search.parallel_trials)
    return seconds * at_once / configs / rung.objective.backend.folds.n_splits


def _predictions_grow(budget: Budget, predicted: float, trial_seconds: float) -> None:
    """A rung that may be delivered keeps back what its best trial's predictions will take
    beyond the ``predicted`` seconds the run reserved for them (timed on a trial of
    ``trial_seconds``): they grow with the trees, as a trial's time does (on kddcup99 the
    best trial had 260 rounds, the first 27: its predictions took ten times the reserve)."""
    budget.extra_runs = predicted / trial_seconds
    budget.delivery_seconds = -predicted  # reserved already by the run's budget


def delivery_predict_seconds(prepared: Prepared, run: CVRun) -> float:
    """What delivering a rung's fold models costs in predictions, timed on ``run``'s own:
    every test row by each fold model (PREDICT_MARGIN times that)."""
    task = prepared.task
    test_rows = 0 if task.X_test is None else len(task.X_test) * len(run.fits)
    return PREDICT_MARGIN * _predict_seconds_a_row(run) * test_rows


def _predict_seconds_a_row(run: CVRun) -> float:
    """What predicting one row took ``run``'s fold models."""
    rows = sum(len(f.valid_pred) for f in run.fits)
    return sum(f.predict_seconds for f in run.fits) / rows if rows else 0.0


def _rung_predictions(backend: Backend, fit: FoldFit) -> tuple[np.ndarray, float]:
    """``fit`` (a rung's model of fold 0) predicting ``backend``'s whole validation part of
    that fold, and what one of its trees took to predict a row (on the rung's own share a
    call's fixed cost counted too: 2.4x on beijing_pm25, where the whole fold took 0.3 s)."""
    started = time.perf_counter()
    pred = backend.predict_fold(fit.model, 0, fit.n_rounds)
    rows = fit.n_rounds * len(backend.parts(0).valid)
    return pred, (time.perf_counter() - started) / rows if rows else 0.0


@dataclass
class FullFoldFit:
    """A delivered rung's choice fit on the first fold's whole training part."""

    fit: FoldFit
    cut: bool  # by the time, keeping its best round
    rung_valid_pred: np.ndarray  # the rung's own model of that fold, on the same rows


def reserved_plan(budget: Budget, shares: list[float], full_seconds: float,
                  rung_runs: float, predict_seconds: float = 0.0, n_splits: int = 5
                  ) -> tuple[list[float], float]:
    """The plan for what the search has left once finalize's work (extra seeds, refit,
    replicas) is reserved: as for a full trial of the predicted cost where one still fits,
    else as for ``rung_runs`` trials of the lowest rung, ``predict_seconds`` of predictions
    and the full-data fold fit (a full trial's fold, within FULL_FOLD_MIN_SHARE and
    FULL_FOLD_MAX_SHARE of what is left): finalize then delivers a rung, with neither refit
    nor replicas (reserving for them left 20 s of 60 unused, and not reserving the
    predictions overran by 50%)."""
    budget.best_run_seconds = full_seconds
    kept, top = plan(shares, full_seconds, max(budget.search_seconds_left() or 0.0, 0.0))
    if top > 0:
        return kept, top
    budget.best_run_seconds, budget.extra_runs = full_seconds * shares[0], rung_runs
    budget.replica_runs = 0.0  # a delivered rung has no replicas
    left = max(budget.search_seconds_left() or 0.0, 0.0)
    budget.delivery_seconds = predict_seconds + float(np.clip(
        full_seconds / n_splits, FULL_FOLD_MIN_SHARE * left, FULL_FOLD_MAX_SHARE * left))
    return plan(shares, full_seconds, max(budget.search_seconds_left() or 0.0, 0.0),
                full_rung=False)


def full_fold_fit(backend: Backend, params: dict[str, Any], seed: int, budget: Budget,
                  rung_run: CVRun, config: RunConfig) -> FullFoldFit | None:
    """A delivered rung's choice fit on the first fold's whole training part of ``backend``
    (the run's full-data folds), early-stopped on its validation rows, and cut, keeping its
    best round, once what follows would not fit in the run's time: predicting that fold's
    validation and the test rows with the trees boosted so far (a tree's time a row timed
    on ``rung_run``'s model of that fold, FULL_FOLD_PREDICT_MARGIN times), the estimate's
    bootstrap and finalize's share of the timeout. Returns the fit, whether it was cut, and
    the rung's model's predictions of the same validation rows; None where no time is left
    for it."""
    task = backend.task
    to_predict = len(backend.parts(0).valid) + (0 if task.X_test is None else len(task.X_test))
    kept = _bootstrap_seconds(backend, rung_run, config) \
        + budget.finalize_share * (budget.timeout or 0.0)
    end = clock.now() + (budget.seconds_left() or 0.0) - kept
    rounds = itertools.count(1)

    def due() -> bool:  # polled once a round
        predicting = FULL_FOLD_PREDICT_MARGIN * per_tree_row * next(rounds) * to_predict
        return clock.now() + predicting > end

    if clock.now() >= end:
        return None
    rung_pred, per_tree_row = _rung_predictions(backend, rung_run.fits[0])
    stop = Cut(due, keep=True)
    return FullFoldFit(backend.fit_fold(params, 0, seed, stop=stop), stop.ended, rung_pred)


def plan(shares: list[float], full_seconds: float, left: float,
         full_rung: bool = True) -> tuple[list[float], float]:
    """The lower rungs to run and the seconds kept for the full-data rung: time for
    MIN_TOP_TRIALS full trials (or one), within TOP_MAX_SHARE of ``left`` (none where one
    does not fit); the rest split evenly between the lower rungs that have time for
    MIN_RUNG_TRIALS of their trials (the lowest is always kept)."""
    top = 0.0
    if full_rung and full_seconds <= TOP_MAX_SHARE * left:
        top = min(max(left / (len(shares) + 1), MIN_TOP_TRIALS * full_seconds),
                  TOP_MAX_SHARE * left)
    kept = list(shares)
    while len(kept) > 1 and MIN_RUNG_TRIALS * kept[-1] * full_seconds > (left - top) / len(kept):
        kept.pop()
    return kept, top


def promote(below: Rung, study: optuna.Study) -> int:
    """Enqueue the best third of ``below``'s complete trials in ``study``, best first."""
    goal = Direction.of(below.study.direction)
    done = below.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    ranked = sorted(done, key=lambda t: (goal.sort_key(float(t.value or 0.0)), t.number))
    best = ranked[:max(1, math.ceil(len(ranked) / ETA))]
    for trial in best:
        study.enqueue_trial(dict(trial.params), skip_if_exists=True)
    return len(best)


def rung_folds(folds: Folds, y: np.ndarray, share: float, stratify: bool,
               n_folds: int | None = None) -> Folds:
    """The first ``n_folds`` folds (all by default) with each training part cut to ``share``
    of its rows and each validation part to ETA x ``share`` (whole from a third up),
    stratified by class where ``stratify``: scoring every round on a whole validation fold
    would cost a low rung more than its training (an AUC sorts the fold each round)."""
    valid_share = min(1.0, ETA * share)
    splits = [(_cut(train, y, share, stratify, folds.seed + k),
               _cut(valid, y, valid_share, stratify, folds.seed + k))
              for k, (train, valid) in enumerate(folds.splits[:n_folds])]
    return Folds(splits, folds.scheme, folds.seed)


def _cut(rows: np.ndarray, y: np.ndarray, share: float, stratify: bool,
         seed: int) -> np.ndarray:
    if share >= 1.0:
        return rows
    return split_rows(rows, y if stratify else None, seed, train_size=share)[0]


def _rung(prepared: Prepared, share: float, budget: Budget, n_folds: int | None = None
          ) -> Rung:
    config, task = prepared.config, prepared.task
    folds = rung_folds(prepared.folds, task.y, share, task.kind != "regression", n_folds)
    backend = _patient(prepared.backend.on_folds(folds))
    backend.build()  # outside the trials' time: the first one predicts a full trial's cost
    study = optuna.create_study(
        direction=task.metric.direction,
        sampler=make_sampler(config.search.sampler, config.seed, prepared.space),
        pruner=make_pruner(config.search.pruner, folds.n_splits))
    objective = Objective(backend, prepared.space, config.seed, budget,
                          report_fold_scores=config.search.pruner == "wilcoxon",
                          device=prepared.device, native_errors=prepared.spec.native_errors)
    if config.search.parallel_trials and backend.settings.n_threads >= 2:
        twin = _patient(prepared.backend.on_folds(folds))  # LightGBM: the same bins
        twin.build()
        objective.spare(twin)
    return Rung(share, study, objective)


def _bootstrap_seconds(backend: Backend, rung_run: CVRun, config: RunConfig) -> float:
    """What the estimate's bootstrap of the first fold's whole validation rows will take,
    timed on the rung's predictions of its share of them (a multiclass log loss on 20,000
    rows took 17 ms a score on kddcup99, 5 s for the bootstrap)."""
    rows = len(backend.parts(0).valid)
    return bootstrap_seconds(backend.task, rung_run.oof, n_test(backend.task, config) or rows,
                             config.evaluation.public_share, rows)


def _patient(backend: Backend) -> Backend:
    """``backend`` with a lower rung's early-stopping patience: its own settings, at most
    RUNG_PATIENCE rounds (on kddcup99 the best round came at about 30 of 130 trained)."""
    backend.settings = replace(backend.settings, early_stopping_rounds=min(
        backend.settings.early_stopping_rounds, RUNG_PATIENCE))
    return backend


def _run_rung(rung: Rung, prepared: Prepared, n_trials: int | None) -> None:
    started = time.perf_counter()
    config = prepared.config
    run_search(rung.study, rung.objective, n_trials, progress=False,
               parallel=config.search.parallel_trials, require_complete=False)
    rung.seconds += time.perf_counter() - started
