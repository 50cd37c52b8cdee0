"""The time budget of a whole run: what the search may still spend, what finalize keeps, and
when to cut a trial that cannot finish."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from boosttune.backends.base import Cut
from boosttune.core import clock

FINALIZE_SHARE = 0.03  # of the budget, kept for learning curves and test predictions
FINALIZE_RUN_SHARE = 0.15  # and of the best run's time: predicting with big models costs more
PACE_MARGIN = 1.25  # a trial is cut once its folds run this much slower than it can afford
# the estimate's replicas are reserved only where they cost at most this share of the timeout
REPLICA_MAX_SHARE = 0.1


@dataclass
class Budget:
    """Wall-clock budget of a whole run; the search leaves time for finalize's extra seeds."""

    timeout: float | None
    extra_runs: float  # CV runs' worth of work finalize still needs (extra seeds, refits)
    replica_runs: float = 0.0  # and for the estimate's replicas, where they are affordable
    started: float = field(default_factory=lambda: clock.now())
    best_run_seconds: float = 0.0
    shortest_run_seconds: float | None = None  # of the complete trials so far
    interrupted: bool = False  # Ctrl-C: end the search, keep what finished
    pause_at: float | None = None  # clock.now() after which no new trial starts (a probe)
    finalize_share: float = FINALIZE_SHARE  # of the timeout kept back (0: a rung's own budget)
    delivery_seconds: float = 0.0  # kept back for a rung's delivery: a fit and predictions

    def paused(self) -> bool:
        """A probe's time is up and it has a complete trial: start no new trial (the ones
        running finish; ``restart`` goes on)."""
        return (self.pause_at is not None and self.best_run_seconds > 0
                and clock.now() >= self.pause_at)

    def restart(self, seconds: float | None) -> None:
        """A new budget of ``seconds`` from now for a paused search and its finalize."""
        self.timeout, self.started, self.pause_at = seconds, clock.now(), None

    def exhausted(self) -> bool:
        if self.interrupted:
            return True
        left = self.search_seconds_left()
        return left is not None and left <= 0

    def room_for_trial(self) -> bool:
        """Whether a new trial could finish: the pace cut would stop even the shortest
        complete trial so far once the search has under its time / PACE_MARGIN left. (Not
        starting one then ends a search at once; the trials that were started then were cut
        in their first fold, one after another: 2.5 s of LightGBM's search on adult at 60 s,
        5 s of XGBoost's on diamonds.)"""
        left = self.search_seconds_left()
        return (left is None or self.shortest_run_seconds is None
                or left >= self.shortest_run_seconds / PACE_MARGIN)

    def search_seconds_left(self) -> float | None:
        """Seconds the search may still use; None without a timeout."""
        if self.timeout is None:
            return None
        reserve = self.finalize_seconds() + self.finalize_share * self.timeout
        return self.started + self.timeout - reserve - clock.now()

    def finalize_seconds(self) -> float:
        """What finalize's work is expected to take, its small share of the timeout aside:
        its extra CV runs and its predictions with the best run, the replicas where
        ``replicas_affordable``, and a rung's delivery."""
        runs = self.extra_runs + (self.replica_runs if self.replicas_affordable() else 0.0)
        return (runs + FINALIZE_RUN_SHARE) * self.best_run_seconds + self.delivery_seconds

    def replicas_affordable(self) -> bool:
        """Whether the search keeps time for the estimate's replicas: where they cost at
        most REPLICA_MAX_SHARE of the timeout. (At 60 s they measured a gain that brought the
        estimate closer to the held-out score in 11 of 24 runs, no more often than the CV
        score, and held back 8-14 s of the search on adult, diamonds and california_housing;
        finalize still runs them where the search leaves the time.)"""
        return self.timeout is None or (
            self.replica_runs * self.best_run_seconds <= REPLICA_MAX_SHARE * self.timeout)

    def seconds_left(self) -> float | None:
        """Seconds left of the whole run; None without a timeout."""
        if self.timeout is None:
            return None
        return self.started + self.timeout - clock.now()

    def trial_stop(self, n_folds: int, folds_done: list[int]) -> Cut:
        """When to cut a trial: the budget is spent, or the trial cannot finish in the time
        it had when it started, judged by its pace: once the folds begun so far
        (``folds_done[0]`` finished, one running) take over their share of that time, with a
        margin. Cutting it then, not at the deadline, frees the rest for other trials (on
        letter, a low-rate trial of 4 minutes blocked the rest of a 300 s search)."""
        behind = self._behind(PACE_MARGIN, n_folds, folds_done)
        if behind is None:
            return Cut(self.exhausted)  # no timeout: only Ctrl-C cuts a trial
        return Cut(lambda: self.exhausted() or behind())

    def allotted_stop(self, fold_seconds: float, folds_done: list[int]) -> Cut:
        """A lower rung's trial: cut once the budget is spent; each fold stops at its best
        round once the folds begun so far (``folds_done[0]`` finished, one running) take over
        ``fold_seconds`` each. The rung so evaluates the configurations it was planned for,
        and a slow one is scored on what it reached in its time (on kddcup99 two of them
        took 33 of a rung's 48 thread-seconds, and half the rung's trials then had no time
        to score a fold)."""
        return Cut(self.exhausted, end=_past(fold_seconds, folds_done))

    def first_trial_stop(self, n_folds: int, folds_done: list[int], share: float) -> Cut | None:
        """A study's first trial must finish (finalize needs one), so it is not cut but
        shortened: each fold that takes over its part of ``share`` of the search's time,
        less what finalize will spend predicting with it (FINALIZE_RUN_SHARE of its time),
        stops boosting at its best round so far. None without a timeout. (On letter at
        60 s, two backends' first trials each took their whole share, and the run 68 s.)"""
        behind = self._behind(share / (1 + FINALIZE_RUN_SHARE), n_folds, folds_done)
        return None if behind is None else Cut(behind, keep=True)

    def _behind(self, share: float, n_folds: int, folds_done: list[int]
                ) -> Callable[[], bool] | None:
        """From now, whether a trial's folds take over their part of ``share`` of the
        search time left now (``_past``); None without a timeout."""
        left = self.search_seconds_left()
        return None if left is None else _past(share * left / n_folds, folds_done)


def _past(fold_seconds: float, folds_done: list[int]) -> Callable[[], bool]:
    """From now, whether a trial's folds begun so far (``folds_done[0]`` finished, one
    running) take over ``fold_seconds`` each (polled every boosting round)."""
    started = clock.now()
    return lambda: clock.now() - started > fold_seconds * (folds_done[0] + 1)
