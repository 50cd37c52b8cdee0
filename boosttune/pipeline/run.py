"""The pipeline: prepare → (nested evaluation) → search → finalize, each stage timed.

``run`` is what ``tune()``, the estimators and ``boosttune run`` call; ``work`` runs one
worker's share of a shared study without finalizing.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from boosttune.config import RunConfig, Storage
from boosttune.core.errors import BoostTuneError, BusyMachineWarning, ShiftWarning
from boosttune.core.machine import Threads
from boosttune.core.results import CVRun, NestedReport
from boosttune.core.task import as_frame
from boosttune.pipeline.ensemble import run_models, storage_of
from boosttune.pipeline.finalize import finalize
from boosttune.pipeline.nested import nested_cv
from boosttune.pipeline.outputs import Timing
from boosttune.pipeline.prepare import Prepared, prepare
from boosttune.pipeline.search import Searched, resume, search
from boosttune.pipeline.shift import shift_of
from boosttune.result import TuneResult

Frame: TypeAlias = pd.DataFrame | np.ndarray
SHIFT_SHARE = 0.05  # of the timeout: the shift check runs only where it has a second of it


def run(train: Frame, target: Any, test: Frame | None, config: RunConfig) -> TuneResult:
    """Tune, evaluate and deliver: the whole data flow on one machine (see ``tune``); several
    models are each tuned, then ensembled (pipeline.ensemble)."""
    config = with_threads(config)
    if len(config.models) > 1:
        if config.evaluation.nested:
            raise BoostTuneError("nested CV tunes one model; pass one model with nested=..., "
                                 "or drop nested for a multi-model run.")
        return run_models(train, target, test, config,
                          lambda cfg, probe: _Probed(*_search_stages(
                              train, target, test, cfg, probe,
                              check_shift=cfg.model == config.models[0])[:2]))
    searched, timing, nested = _search_stages(train, target, test, config)
    return finalize(searched, timing, nested)


@dataclass
class _Probed:
    """One backend's search of a multi-model run, paused after its probe."""

    searched: Searched
    timing: Timing

    @property
    def prepared(self) -> Prepared:
        return self.searched.prepared

    def best_run(self) -> CVRun | None:
        return self.searched.objective.best_run

    def finalize_seconds(self) -> float:
        return self.searched.objective.budget.finalize_seconds()

    def resume(self, seconds: float | None) -> None:
        started = time.perf_counter()
        resume(self.searched, seconds)
        self.timing.stages["search"] += time.perf_counter() - started

    def finish(self) -> TuneResult:
        return finalize(self.searched, self.timing, None)


def work(train: Frame, target: Any, test: Frame | None, config: RunConfig) -> int:
    """This worker's share of a shared study; returns how many trials it ran."""
    config = with_threads(config)
    if len(config.models) > 1:
        return sum(work(train, target, test, replace(config, model=m,
                                                     storage=storage_of(config.storage, m)))
                   for m in config.models)
    if not config.storage.url:
        raise BoostTuneError("work() needs storage= (an Optuna RDB URL or a SQLite path) "
                             "shared with the other workers.")
    # the same sampler seed in every worker would propose the same trials: one per process
    config = replace(config, search=replace(config.search,
                                            sampler_seed=config.seed + os.getpid()))
    searched, _, _ = _search_stages(train, target, test, config)
    return searched.objective.n_run


def with_threads(config: RunConfig) -> RunConfig:
    """The config with its threads per model chosen once for the whole run (see
    ``core.machine``); a warning where other processes keep CPUs busy and fewer are used."""
    fit = config.fit.resolved()
    if fit is not config.fit and isinstance(fit.n_jobs, Threads) and fit.n_jobs.reduced:
        warnings.warn(f"The machine is busy: {fit.n_jobs.describe()}.", BusyMachineWarning,
                      stacklevel=3)
    return replace(config, fit=fit)


def _search_stages(train: Frame, target: Any, test: Frame | None, config: RunConfig,
                   pause_after: float | None = None, check_shift: bool = True
                   ) -> tuple[Searched, Timing, NestedReport | None]:
    timing = Timing(time.perf_counter())
    prepared = _timed(timing, "prepare", lambda: prepare(train, target, test, config,
                                                           timing.started))
    if check_shift and prepared.task.X_test is not None:
        prepared = _timed(timing, "shift", lambda: _shifted(prepared))
    nested = None
    if outer := config.evaluation.nested:
        nested = _timed(timing, "nested", lambda: _nested(prepared, train, target, outer))
    searched = _timed(timing, "search", lambda: search(prepared, pause_after))
    return searched, timing, nested


def _shifted(prepared: Prepared) -> Prepared:
    """The train/test shift check, within SHIFT_SHARE of the timeout; a warning where the
    rows differ."""
    config = prepared.config
    seconds = None if config.timeout is None else SHIFT_SHARE * config.timeout
    found = shift_of(prepared.task, config.seed, config.fit.threads, seconds)
    if found is not None and (message := found.warning()):
        warnings.warn(message, ShiftWarning, stacklevel=4)
    return replace(prepared, shift=found)


def _nested(prepared: Prepared, train: Frame, target: Any, outer: int) -> NestedReport:
    """A whole tuning inside each of ``outer`` folds, with its share of the timeout."""
    config = prepared.config
    inner = replace(config, evaluation=replace(config.evaluation, nested=None),
                    timeout=None if config.timeout is None else config.timeout / (outer + 1),
                    progress=False, storage=Storage(), device=prepared.device)
    return nested_cv(prepared.task, as_frame(train, "train"), target, outer, inner,
                     lambda rows, y, cfg: run(rows, y, None, cfg))


def _timed(timing: Timing, stage: str, step: Any) -> Any:
    started = time.perf_counter()
    try:
        return step()
    finally:
        timing.stages[stage] = time.perf_counter() - started
