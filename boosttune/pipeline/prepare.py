"""Prepare: check the inputs and build what every later stage shares, once per run: the task,
the device, the folds, the search space and the backend with its native datasets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from boosttune.backends import BackendSpec, backend_spec
from boosttune.backends.base import DATASET_PARAMS, Backend, FitSettings
from boosttune.backends.device import Device, resolve_device
from boosttune.config import RunConfig
from boosttune.core import schedules
from boosttune.core.folds import Folds, make_folds
from boosttune.core.space import SearchSpace
from boosttune.core.task import Task, make_task
from boosttune.pipeline.shift import ShiftCheck


@dataclass
class Prepared:
    """The run's shared parts; ``backend`` holds the task, the folds and the fit settings."""

    config: RunConfig
    spec: BackendSpec
    task: Task
    device: Device
    folds: Folds
    space: SearchSpace
    backend: Backend
    started: float  # perf_counter at the start of the run: the budget counts from here
    shift: ShiftCheck | None = None  # train vs test rows, where the run checked them

    @property
    def refit(self) -> str:
        return self.config.finalize.refit or self.spec.default_refit


def prepare(train: pd.DataFrame | np.ndarray, target: Any,
            test: pd.DataFrame | np.ndarray | None, config: RunConfig,
            started: float) -> Prepared:
    """The shared parts; ``started`` is the run's start (perf_counter), the budget's too."""
    spec = backend_spec(config.one_model)
    task, folds = check(train, target, test, config)
    device = (config.device if isinstance(config.device, Device)
              else resolve_device(spec.name, spec.probe, config.device,
                                  config.fit.strict_device))
    space = with_schedule(spec.for_device(base_space(spec, config), device),
                          config.search.lr_schedule)
    settings = FitSettings(config.fit.early_stopping, config.fit.early_stopping_rounds,
                           config.fit.max_rounds, config.fit.threads, dict(device.params))
    backend = make_backend(spec, task, folds, settings, space)
    return Prepared(config, spec, task, device, folds, space, backend, started)


def check(train: pd.DataFrame | np.ndarray, target: Any,
          test: pd.DataFrame | np.ndarray | None, config: RunConfig) -> tuple[Task, Folds]:
    """The checked task and its folds: every problem of the data and of the options that
    depend on it, found before any model trains (the CLI checks all its models with it)."""
    data = config.data
    task = make_task(train, target, test=test, task=data.task, metric=config.metric,
                     weights=data.weights, groups=config.cv.groups, id_column=data.id_column,
                     drop=data.drop)
    return task, make_folds(task, config.cv.folds, config.cv.scheme, config.seed)


def base_space(spec: BackendSpec, config: RunConfig) -> SearchSpace:
    """The preset (or the user's space) with the user's fixed params."""
    space = spec.preset(config.space) if isinstance(config.space, str) else config.space
    return space.fix(**(config.search.fixed or {}))


def with_schedule(space: SearchSpace, choice: str) -> SearchSpace:
    """The space searching (or fixing) the learning-rate schedule that ``choice`` names."""
    for name, dimension in schedules.dimensions(choice).items():
        space = space.with_dimension(name, dimension)
    return space if choice in ("constant", "search") else space.fix(lr_schedule=choice)


def make_backend(spec: BackendSpec, task: Task, folds: Folds, settings: FitSettings,
                 space: SearchSpace) -> Backend:
    dataset_params = {k: v for k, v in space.fixed.items() if k in DATASET_PARAMS}
    backend = spec.build(task, folds, settings, dataset_params)
    backend.check_params(set(space.dimensions))
    return backend
