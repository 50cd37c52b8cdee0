"""The search: Optuna study (sampler, pruner), the objective, the time budget, the loop.

The objective cross-validates a sampled configuration on the run's fixed folds and reports the
running CV score after each fold, so the pruner can stop a hopeless trial after a fold or two.
The best trial's run (fold models included) is kept, so finalize does not fit it again.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import optuna
import xgboost as xgb
from tqdm.auto import tqdm

from boosttune.backends import Backend, BudgetExhausted
from boosttune.device import CPU, Device, one_at_a_time
from boosttune.errors import BoostTuneError
from boosttune.evaluate import CVRun, cross_validate
from boosttune.spaces import SearchSpace
from boosttune.storage import PARAMS_KEY, mark_worker, n_counted

SAMPLERS = ("tpe", "random", "grid", "qmc", "cmaes", "gp")
PRUNERS = ("paired", "median", "successive_halving", "hyperband", "wilcoxon", "none")
GRID_POINTS = 3  # values per numeric dimension under sampler='grid'


def make_sampler(sampler: str | optuna.samplers.BaseSampler, seed: int,
                 space: SearchSpace) -> optuna.samplers.BaseSampler:
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    if sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if sampler == "grid":
        return optuna.samplers.GridSampler(space.grid(GRID_POINTS), seed=seed)
    if sampler == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    if sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if sampler == "gp":
        try:
            import torch  # noqa: F401  (GPSampler needs it)
        except ImportError:
            raise BoostTuneError(
                "sampler='gp' needs PyTorch: pip install torch, or choose another sampler."
            ) from None
        return optuna.samplers.GPSampler(seed=seed)
    raise BoostTuneError(
        f"The 'sampler' parameter must be one of {list(SAMPLERS)} or an Optuna sampler; got "
        f"{sampler!r} instead."
    )


def make_pruner(pruner: str | optuna.pruners.BasePruner | None,
                n_folds: int) -> optuna.pruners.BasePruner:
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner in (None, "none"):
        return optuna.pruners.NopPruner()
    if pruner == "paired":
        return PairedPruner()
    if pruner == "median":
        # folds are fixed, so a trial's first-fold score compares directly with earlier trials'
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=n_folds)
    if pruner == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(p_threshold=0.1)
    raise BoostTuneError(
        f"The 'pruner' parameter must be one of {list(PRUNERS)} or an Optuna pruner; got "
        f"{pruner!r} instead."
    )


class PairedPruner(optuna.pruners.BasePruner):
    """Prune a trial that trails the best trial, on the same folds, by more than noise allows.

    Intermediate values are running CV means after each fold, so fold scores are recovered by
    differencing. On fold k a trial is pruned when its mean per-fold gap to the best trial is
    below ``-z * sigma / sqrt(k + 1)``; sigma is the median spread of per-fold gaps between
    completed trials and the best one. Comparing fold by fold cancels fold difficulty, which
    makes the test far sharper than comparing raw running means (MedianPruner).
    """

    def __init__(self, n_startup_trials: int = 5, z: float = 2.0) -> None:
        self.n_startup_trials = n_startup_trials
        self.z = z

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        step = trial.last_step
        complete = study.get_trials(deepcopy=False,
                                    states=(optuna.trial.TrialState.COMPLETE,))
        if step is None or len(complete) < self.n_startup_trials:
            return False
        sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
        best = _fold_scores(study.best_trial)
        spreads = [np.std(sign * (_fold_scores(t) - best), ddof=1) for t in complete
                   if t.number != study.best_trial.number and len(_fold_scores(t)) == len(best)]
        if not spreads or len(best) <= step:
            return False
        gap = float(np.mean(sign * (_fold_scores(trial)[: step + 1] - best[: step + 1])))
        return gap < -self.z * float(np.median(spreads)) / math.sqrt(step + 1)


def _fold_scores(trial: optuna.trial.FrozenTrial) -> np.ndarray:
    """Per-fold scores from the running means a trial reported after each fold."""
    means = np.array([trial.intermediate_values[k] for k in sorted(trial.intermediate_values)])
    totals = means * np.arange(1, len(means) + 1)
    return np.diff(totals, prepend=0.0)


FINALIZE_SHARE = 0.03  # of the budget, kept for learning curves and test predictions
FINALIZE_RUN_SHARE = 0.15  # and of the best run's time: predicting with big models costs more
PACE_MARGIN = 1.25  # a trial is cut once its folds run this much slower than it can afford


@dataclass
class Budget:
    """Wall-clock budget of a whole run; the search leaves time for finalize's extra seeds."""

    timeout: float | None
    extra_runs: float  # CV runs' worth of work finalize still needs (extra seeds, refits)
    started: float = field(default_factory=time.perf_counter)
    best_run_seconds: float = 0.0
    interrupted: bool = False  # Ctrl-C: end the search, keep what finished

    def exhausted(self) -> bool:
        if self.interrupted:
            return True
        left = self.search_seconds_left()
        return left is not None and left <= 0

    def search_seconds_left(self) -> float | None:
        """Seconds the search may still use; None without a timeout."""
        if self.timeout is None:
            return None
        # finalize's extra CV runs, plus its curves and test predictions (a small share)
        reserve = ((self.extra_runs + FINALIZE_RUN_SHARE) * self.best_run_seconds
                   + FINALIZE_SHARE * self.timeout)
        return self.started + self.timeout - reserve - time.perf_counter()

    def seconds_left(self) -> float | None:
        """Seconds left of the whole run; None without a timeout."""
        if self.timeout is None:
            return None
        return self.started + self.timeout - time.perf_counter()

    def trial_stop(self, n_folds: int, folds_done: list[int]) -> Callable[[], bool]:
        """A poll that says when to cut a trial: the budget is spent, or the trial cannot
        finish in the time it had when it started, judged by its pace: once the folds begun
        so far (``folds_done[0]`` finished, one running) take over their share of that time,
        with a margin. Cutting it then, not at the deadline, frees the rest for other trials
        (on letter, a low-rate trial of 4 minutes blocked the rest of a 300 s search)."""
        started, left = time.perf_counter(), self.search_seconds_left()
        if left is None:
            return self.exhausted  # no timeout: only Ctrl-C cuts a trial

        def stop() -> bool:  # polled every boosting round
            share = PACE_MARGIN * left * (folds_done[0] + 1) / n_folds
            return self.exhausted() or time.perf_counter() - started > share

        return stop


@dataclass
class Objective:
    backend: Backend
    space: SearchSpace
    seed: int
    budget: Budget
    report_fold_scores: bool = False  # the Wilcoxon pruner compares fold by fold
    device: Device = CPU
    best_run: CVRun | None = None  # this process's best run, kept to reuse in finalize
    best_trial: int | None = None
    n_run: int = 0  # trials this process ran
    parallel: int = 1  # trials run at once after the first
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _free: list[Backend] = field(default_factory=list, repr=False)  # backends no trial uses
    _copies: list[Backend] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._free.append(self.backend)

    def __call__(self, trial: optuna.Trial) -> float:
        mark_worker(trial)  # first: a trial killed before its mark is failed by its age
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
            with one_at_a_time(self.device):
                # the first trial of a study is never cut: finalize needs one complete trial;
                # the pace clock starts once the trial holds the device (GPU runs queue here)
                stop = (self.budget.trial_stop(n_folds, folds_done)
                        if _has_complete(trial.study) else None)
                run = cross_validate(backend, params, self.seed, after_fold=after_fold,
                                     stop=stop)
        except BudgetExhausted:
            trial.set_user_attr("stopped_by_budget", True)
            raise optuna.TrialPruned("time budget spent") from None
        except (lgb.basic.LightGBMError, xgb.core.XGBoostError) as exc:
            raise BoostTuneError(
                f"{self.backend.name} rejected the params {params}: {exc}. Check the names and "
                "values of fixed params and of your search space."
            ) from None
        finally:
            with self._lock:
                self._free.append(backend)
        trial.set_user_attr("n_rounds", run.mean_rounds)
        trial.set_user_attr("fold_scores", run.fold_scores)
        self._keep_if_best(trial, run, params)
        return run.score

    def _take_backend(self) -> Backend:
        """A backend no other trial is using: native datasets are not documented as safe to
        train on from two threads at once (sharing them crashed one benchmark run), so a
        trial running beside another gets a copy with datasets of its own."""
        with self._lock:
            if self._free:
                return self._free.pop()
            copy = self.backend.copy()
            self._copies.append(copy)
            return copy

    @property
    def native_seconds(self) -> float:
        return self.backend.native_seconds + sum(c.native_seconds for c in self._copies)

    def top(self, study: optuna.Study, k: int) -> list[tuple[int, float, dict[str, Any]]]:
        """The k best complete trials as (number, value, params), best first."""
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
        ranked = sorted(complete, key=lambda t: (sign * float(t.value or 0.0), t.number))
        return [(t.number, float(t.value or 0.0), dict(t.user_attrs[PARAMS_KEY]))
                for t in ranked[:k]]

    def reusable_run(self, trial: int) -> CVRun | None:
        """This process's CV run of ``trial``, if it is the one it kept."""
        return self.best_run if self.best_trial == trial else None

    def _keep_if_best(self, trial: optuna.Trial, run: CVRun, params: dict[str, Any]) -> None:
        maximize = trial.study.direction == optuna.study.StudyDirection.MAXIMIZE
        with self._lock:
            best = self.best_run
            if best is None or (run.score > best.score if maximize else run.score < best.score):
                self.best_run, self.best_trial = run, trial.number
                self.budget.best_run_seconds = run.seconds


PARALLEL_MAX_SHARE = 0.1  # trials run two at a time when one takes under this budget share


def parallel_trials(objective: Objective, allowed: bool) -> int:
    """How many trials to run at once, each on its share of the threads: two when ``allowed``
    (a timed, in-memory CPU run: its trial count depends on the clock anyway), the threads
    split evenly, and a trial is short against the budget; small data gains most from it,
    as one model uses two threads poorly (measured: 1.47x the trials per minute on adult)."""
    budget, threads = objective.budget, objective.backend.settings.n_threads
    if not allowed or threads < 2 or threads % 2 or budget.timeout is None \
            or objective.best_run is None or objective.device.is_gpu:
        return 1
    return 2 if budget.best_run_seconds <= PARALLEL_MAX_SHARE * budget.timeout else 1


def run_search(study: optuna.Study, objective: Objective, n_trials: int | None,
               progress: bool, parallel: bool = False) -> None:
    """Run trials until the study holds ``n_trials`` (those of every worker and of earlier
    sessions count) or the budget is spent; a progress bar shows the best. With
    ``parallel``, the first trial runs alone and the rest two at a time where
    :func:`parallel_trials` says so, each on its own backend (see ``_take_backend``)."""
    done = n_counted(study, running=False)
    bar = tqdm(total=n_trials, initial=done, desc=f"boosttune {objective.backend.name}",
               unit="trial", disable=not progress, leave=True)

    def enough(study: optuna.Study) -> bool:
        return n_trials is not None and n_counted(study) >= n_trials

    def after_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        bar.update(1)
        if _has_complete(study):
            bar.set_postfix(best=f"{study.best_value:.5f}", refresh=False)
        if objective.budget.exhausted() or enough(study):
            study.stop()

    def optimize(n_jobs: int, first_only: bool = False) -> None:
        if enough(study) or objective.budget.exhausted():
            return
        left = None if n_trials is None else n_trials - n_counted(study, running=False)
        # on a GPU, collect each trial's boosters at once: that frees their device memory
        study.optimize(objective, n_trials=1 if first_only else left, n_jobs=n_jobs,
                       callbacks=[after_trial], gc_after_trial=objective.device.is_gpu)

    previous = _catch_interrupt(objective.budget)
    settings = objective.backend.settings
    threads = settings.n_threads
    try:
        if parallel and objective.best_run is None:
            optimize(1, first_only=True)
        n_jobs = parallel_trials(objective, parallel)
        settings.n_threads = threads // n_jobs
        objective.parallel = n_jobs
        optimize(n_jobs)
    finally:
        settings.n_threads = threads
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if not _has_complete(study):
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


def grid_size(space: SearchSpace) -> int:
    return math.prod(len(v) for v in space.grid(GRID_POINTS).values())
