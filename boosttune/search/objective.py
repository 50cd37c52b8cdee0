"""The search loop: the objective that cross-validates each sampled configuration, and the
loop that runs trials (one or two at a time) until n_trials or the budget is spent.

The objective cross-validates a sampled configuration on the run's fixed folds and reports the
running CV score after each fold, so the pruner can stop a hopeless trial after a fold or two.
The best trial's run (fold models included) is kept, so finalize does not fit it again.
"""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna

from boosttune.backends.base import Backend, BudgetExhausted, Cut
from boosttune.backends.device import CPU, Device, gpu_index, one_at_a_time, one_per_gpu
from boosttune.core.errors import BoostTuneError, first_line
from boosttune.core.metrics import Direction
from boosttune.core.results import CVRun
from boosttune.core.space import SearchSpace
from boosttune.io.progress import progress_bar
from boosttune.search.budget import Budget
from boosttune.search.crossval import cross_validate
from boosttune.search.pool import TrialPool
from boosttune.search.storage import PARAMS_KEY, SURPLUS_KEY, is_surplus, mark_worker, n_counted

REJECTED_KEY = "rejected_by_library"  # a failed trial's reason, in its user attrs
SHORTENED_KEY = "shortened"  # a first trial whose folds ended before their best round
ALLOTTED_KEY = "ended_at_allotted_time"  # a lower rung's trial whose folds did


class ParamsRejected(Exception):
    """A trial whose params the library refused: the trial fails, the search goes on."""


class SurplusTrial(Exception):
    """A trial begun once the study held its n_trials (see ``is_surplus``): it fails, untrained."""


@dataclass
class Objective:
    backend: Backend
    space: SearchSpace
    seed: int
    budget: Budget
    report_fold_scores: bool = False  # the Wilcoxon pruner compares fold by fold
    device: Device = CPU
    native_errors: tuple[type[BaseException], ...] = ()  # the library's "bad params" errors
    best_run: CVRun | None = None  # this process's best run, kept to reuse in finalize
    best_trial: int | None = None
    n_run: int = 0  # trials this process ran
    parallel: int = 1  # trials run at once after the first
    pool: TrialPool | None = None  # the trials kept for an ensemble
    cut_first: bool = False  # the study's first trial may be cut too (a lower rung has one)
    first_share: float = 1.0  # of the search's time, the most its first trial may take
    fold_seconds: float | None = None  # a lower rung's: each fold's time (Budget.allotted_stop)
    n_trials: int | None = None  # the study's trial count, set by run_search
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _free: list[Backend] = field(default_factory=list, repr=False)  # backends no trial uses
    _copies: list[Backend] = field(default_factory=list, repr=False)
    _fixed_checked: bool = field(default=False, repr=False)
    gpus: list[Device] = field(default_factory=list, repr=False)  # one trial on each at once

    def __post_init__(self) -> None:
        self._free.append(self.backend)
        self.gpus = one_per_gpu(self.device)  # one trial at a time on each
        self._place(self.backend)

    def __call__(self, trial: optuna.Trial) -> float:
        mark_worker(trial)  # first: a trial killed before its mark is failed by its age
        if self.n_trials is not None and is_surplus(trial, self.n_trials):
            trial.set_user_attr(SURPLUS_KEY, True)
            raise SurplusTrial(f"the study holds its {self.n_trials} trials: another worker "
                               "began the last one at the same time; this one trained nothing")
        params = {**self.space.fixed, **self.space.suggest(trial)}
        trial.set_user_attr(PARAMS_KEY, params)  # any worker rebuilds the params from the study
        self.n_run += 1
        n_folds = self.backend.folds.n_splits
        folds_done = [0]  # read by the pace cut

        def after_fold(k: int, scores: list[float]) -> None:
            folds_done[0] = k + 1
            trial.report(scores[-1] if self.report_fold_scores else float(np.mean(scores)), k)
            if k < n_folds - 1 and trial.should_prune():
                trial.set_user_attr("pruned_after_folds", k + 1)
                raise optuna.TrialPruned(f"pruned after fold {k + 1}")

        backend = self._take_backend()
        try:
            with one_at_a_time(self.device_of(backend)):
                # a study's first trial is shortened, not cut (finalize needs one complete
                # trial), unless a lower rung of the climb has one;
                # the pace clock starts once the trial holds the device (GPU runs queue here)
                if not (self.cut_first or _has_complete(trial.study)):
                    stop = self.budget.first_trial_stop(n_folds, folds_done, self.first_share)
                elif self.fold_seconds is not None:
                    stop = self.budget.allotted_stop(self.fold_seconds, folds_done)
                else:
                    stop = self.budget.trial_stop(n_folds, folds_done)
                run = cross_validate(backend, params, self.seed, after_fold=after_fold,
                                     stop=stop)
        except BudgetExhausted:
            trial.set_user_attr("stopped_by_budget", True)
            raise optuna.TrialPruned("time budget spent") from None
        except self.native_errors as exc:
            self._check_fixed_params(backend)
            reason = f"{self.backend.name} rejected the params {params}: {first_line(exc)}"
            trial.set_user_attr(REJECTED_KEY, reason)
            raise ParamsRejected(reason) from None
        finally:
            with self._lock:
                self._free.append(backend)
        if stop is not None and stop.ended:  # folds ended before their best round: a first
            # trial's (shortened) or a lower rung's at their allotted time
            trial.set_user_attr(ALLOTTED_KEY if stop.end else SHORTENED_KEY, True)
        trial.set_user_attr("n_rounds", run.mean_rounds)
        trial.set_user_attr("fold_scores", run.fold_scores)
        self._record(trial, run, params)
        if self.pool is not None:
            self.pool.offer(trial.number, params, run)
        return run.score

    def _check_fixed_params(self, backend: Backend) -> None:
        """Once, after a rejection: do the user's fixed params train alone (one round)? If
        not, no trial can succeed, so the run stops with that error instead of failing each."""
        if self._fixed_checked:
            return
        self._fixed_checked = True
        try:
            backend.fit_fold(dict(self.space.fixed), 0, self.seed, stop=Cut(lambda: True))
        except BudgetExhausted:
            return  # it trained a round: the fixed params are fine
        except self.native_errors as exc:
            raise BoostTuneError(
                f"{self.backend.name} rejected the fixed params {dict(self.space.fixed)}: "
                f"{first_line(exc)}. Check their names and values (fixed=... or the space's "
                "fixed part)."
            ) from None

    def spare_backends(self, n_jobs: int) -> None:
        """A backend for each of ``n_jobs`` trials at once, each copy's native datasets
        built now, while no trial trains: a copy binning its rows as its first trial began,
        beside the other trial's booster, died of a segmentation fault (adult, seed 2, two
        backends at 60 s, 5 s in; NATIVE_BUILD keeps builds from overlapping each other, not
        training)."""
        with self._lock:
            missing = n_jobs - len(self._free)
        for _ in range(missing):
            copy = self.backend.copy()
            copy.build()
            self.spare(copy)

    def spare(self, backend: Backend) -> None:
        """A second backend, its datasets built, for a trial running beside another (a
        rung's twin shares its bins; ``spare_backends``' copies would bin every row again)."""
        with self._lock:
            self._place(backend)
            self._free.append(backend)
            self._copies.append(backend)

    def _place(self, backend: Backend) -> None:
        """Pin ``backend`` to the first GPU no other backend holds (on several GPUs), with
        device params of its own; else it trains where the run's device says."""
        if len(self.gpus) < 2:
            return
        held = {gpu_index(self.device_of(b)) for b in (self.backend, *self._copies)
                if b is not backend}
        device = next((d for d in self.gpus if gpu_index(d) not in held), self.gpus[0])
        backend.settings = replace(backend.settings, device_params=dict(device.params))

    def device_of(self, backend: Backend) -> Device:
        """The device ``backend`` trains on: the run's, with the backend's own device params
        (a GPU of its own where trials run one per GPU)."""
        return replace(self.device, params=backend.settings.device_params)

    def _take_backend(self) -> Backend:
        """A backend no other trial is using: native datasets are not documented as safe to
        train on from two threads at once (sharing them crashed one benchmark run), so a
        trial running beside another has a copy with datasets of its own, made before the
        trials start (``spare_backends``)."""
        with self._lock:
            return self._free.pop(0)  # the longest free: the first made, the first GPU

    @property
    def native_seconds(self) -> float:
        return self.backend.native_seconds + sum(c.native_seconds for c in self._copies)

    def top(self, study: optuna.Study, k: int) -> list[tuple[int, float, dict[str, Any]]]:
        """The k best complete trials as (number, value, params), best first."""
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        goal = Direction.of(study.direction)
        ranked = sorted(complete, key=lambda t: (goal.sort_key(float(t.value or 0.0)), t.number))
        return [(t.number, float(t.value or 0.0), dict(t.user_attrs[PARAMS_KEY]))
                for t in ranked[:k]]

    def reusable_run(self, trial: int) -> CVRun | None:
        """This process's CV run of ``trial``, if it is the one it kept."""
        return self.best_run if self.best_trial == trial else None

    def _record(self, trial: optuna.Trial, run: CVRun, params: dict[str, Any]) -> None:
        """A complete trial's run: the shortest time for the budget, and the run kept
        where it is the best so far."""
        goal = Direction.of(trial.study.direction)
        with self._lock:
            shortest = self.budget.shortest_run_seconds
            self.budget.shortest_run_seconds = (run.seconds if shortest is None
                                                else min(shortest, run.seconds))
            best = self.best_run
            if best is None or goal.better(run.score, best.score):
                self.best_run, self.best_trial = run, trial.number
                self.budget.best_run_seconds = run.seconds


PARALLEL_MAX_SHARE = 0.1  # trials run two at a time when one takes under this budget share


def parallel_trials(objective: Objective, allowed: bool) -> int:
    """How many trials to run at once, each on its share of the threads: on GPUs, one per
    visible GPU when ``allowed``; on the CPU, two when ``allowed``
    (a timed, in-memory CPU run: its trial count depends on the clock anyway), the threads
    split evenly, and a trial is short against the budget; small data gains most from it,
    as one model uses two threads poorly (measured: 1.47x the trials per minute on adult)."""
    budget, threads = objective.budget, objective.backend.settings.n_threads
    if objective.device.is_gpu:  # one trial on each GPU, whatever the budget
        return len(objective.gpus) if allowed and objective.best_run is not None else 1
    if not allowed or threads < 2 or threads % 2 or budget.timeout is None \
            or objective.best_run is None:
        return 1
    return 2 if budget.best_run_seconds <= PARALLEL_MAX_SHARE * budget.timeout else 1


def run_search(study: optuna.Study, objective: Objective, n_trials: int | None,
               progress: bool, parallel: bool = False, require_complete: bool = True) -> None:
    """Run trials until the study holds ``n_trials`` (those of every worker and of earlier
    sessions count) or the budget is spent; a progress bar shows the best. With
    ``parallel``, the first trial runs alone and the rest two at a time where
    :func:`parallel_trials` says so, each on its own backend (see ``_take_backend``)."""
    done = n_counted(study, running=False)
    bar = progress_bar(n_trials, done, f"boosttune {objective.backend.name}", progress)

    def enough(study: optuna.Study) -> bool:
        return n_trials is not None and n_counted(study) >= n_trials

    def after_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.user_attrs.get(SURPLUS_KEY):
            study.stop()
            return
        bar.update(1)
        if _has_complete(study):
            bar.set_postfix(best=f"{study.best_value:.5f}", refresh=False)
        if ended() or enough(study):
            study.stop()

    def ended() -> bool:
        budget = objective.budget
        # a lower rung's trials have allotted times, not the pace cut
        return budget.exhausted() or budget.paused() or (
            objective.fold_seconds is None and not budget.room_for_trial())

    def optimize(n_jobs: int, first_only: bool = False) -> None:
        if enough(study) or ended():
            return
        left = None if n_trials is None else n_trials - n_counted(study, running=False)
        # on a GPU, collect each trial's boosters at once: that frees their device memory
        study.optimize(objective, n_trials=1 if first_only else left, n_jobs=n_jobs,
                       callbacks=[after_trial], gc_after_trial=objective.device.is_gpu,
                       catch=(ParamsRejected, SurplusTrial))

    objective.n_trials = n_trials
    previous = _catch_interrupt(objective.budget)
    settings = objective.backend.settings
    threads = settings.n_threads
    try:
        if parallel and objective.best_run is None:
            optimize(1, first_only=True)
        n_jobs = parallel_trials(objective, parallel)
        settings.n_threads = max(1, threads // n_jobs)
        objective.parallel = n_jobs
        if n_jobs > 1 and not (enough(study) or ended()):
            objective.spare_backends(n_jobs)
        optimize(n_jobs)
    finally:
        for backend in (objective.backend, *objective._copies):  # pinned copies: their own
            backend.settings.n_threads = threads
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if require_complete and not _has_complete(study):
        rejected = [t.user_attrs[REJECTED_KEY] for t in study.get_trials(deepcopy=False)
                    if REJECTED_KEY in t.user_attrs]
        if rejected:
            raise BoostTuneError(
                f"Every trial failed: {rejected[0]}. Check the names and ranges of your "
                "search space.")
        raise BoostTuneError(
            "No trial finished within the budget; raise timeout or lower the round ceiling."
        )


def _has_complete(study: optuna.Study) -> bool:
    return bool(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def _catch_interrupt(budget: Budget) -> Any:
    """First Ctrl-C ends the search after the trials that finished; a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_interrupt(signum: int, frame: Any) -> None:
        if budget.interrupted:
            raise KeyboardInterrupt
        budget.interrupted = True
        print("\nboosttune: stopping the search, keeping the finished trials "
              "(Ctrl-C again to abort)", file=sys.stderr, flush=True)

    return signal.signal(signal.SIGINT, on_interrupt)
