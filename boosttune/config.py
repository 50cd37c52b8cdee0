"""Option groups: frozen dataclasses checked where they are built, and the one table of flat
option names that every front end (``tune()``, the estimators, the CLI) maps onto them.

>>> import boosttune as bt                                             # doctest: +SKIP
>>> bt.tune(train, "y", cv=bt.CV(5, scheme="group", groups="user"),
...         search=bt.Search(sampler="random"), fit=bt.Fit(max_rounds=2000))

Defaults live here only: a group's field default is the option's default everywhere.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from numbers import Integral, Real
from typing import Any

import numpy as np
import optuna

from boosttune.backends import NOT_INSTALLED, REFITS, backend_names, backend_spec
from boosttune.backends.base import POLICIES
from boosttune.backends.device import REQUESTS, Device
from boosttune.core.errors import BoostTuneError, OptionError, did_you_mean
from boosttune.core.folds import SCHEMES
from boosttune.core.machine import Threads, choose_threads, usable_cpus
from boosttune.core.schedules import SCHEDULES
from boosttune.core.space import SearchSpace
from boosttune.search.samplers import PRUNERS, SAMPLERS

DEFAULT_N_TRIALS = 50  # when neither n_trials nor timeout is given
MAX_ROUNDS = 2**31 - 1  # the libraries count rounds in a signed 32-bit int
MAX_SEED = 2**32 - 1  # numpy's and the libraries' seeds are unsigned 32-bit
SELECTS = ("mean", "lcb")


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise OptionError(name, f"must be one of {list(choices)}", value,
                          did_you_mean(value, choices))


def _check_int(name: str, value: Any, low: int, *, high: int | None = None,
               optional: bool = False) -> None:
    if optional and value is None:
        return
    if (isinstance(value, bool) or not isinstance(value, Integral) or int(value) < low
            or (high is not None and int(value) > high)):
        span = f"of at least {low}" if high is None else f"from {low} to {high}"
        raise OptionError(name, f"must be an integer {span}", value, optional=optional)


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise OptionError(name, "must be True or False", value)


def _summary(value: Any) -> Any:
    """A JSON-friendly record of an option's value (arrays and objects by their shape)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str)) for v in value):
        return list(value)
    if isinstance(value, Mapping):
        return {str(k): _summary(v) for k, v in value.items()}
    if hasattr(value, "__len__") and not isinstance(value, (dict, set)):
        return f"{type(value).__name__} of {len(value)}"
    return repr(value)


class _Group:
    """Shared behaviour of the option groups."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _summary(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Data(_Group):
    """How the training frame is read: the task kind (None: inferred from the target), row
    weights, an id column kept out of the features, and columns to drop."""

    task: str | None = None
    weights: Any = None
    id_column: str | None = None
    drop: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.task is not None:
            _check_choice("task", self.task, ("binary", "multiclass", "regression"))
        if isinstance(self.drop, str):
            object.__setattr__(self, "drop", (self.drop,))


@dataclass(frozen=True)
class CV(_Group):
    """The folds, made once per run: ``folds`` is a count, an sklearn splitter or (train,
    valid) index pairs; ``scheme`` is kfold, stratified, group, stratified_group, time or
    predefined, with ``groups`` (a column or an array) holding the groups, the time order or
    the fold ids; ``reshuffle`` draws new folds for each finalize seed."""

    folds: Any = 5
    scheme: str | None = None
    groups: Any = None
    reshuffle: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.folds, (bool, Real)) and not isinstance(self.folds, Integral):
            raise OptionError("cv", "must be a fold count, a splitter or index pairs",
                              self.folds)
        if isinstance(self.folds, Integral):
            _check_int("cv", self.folds, 2)
        if self.scheme is not None:
            _check_choice("scheme", self.scheme, SCHEMES)
        _check_bool("reshuffle", self.reshuffle)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "folds": self.folds if isinstance(self.folds, Integral)
                else repr(self.folds)}


@dataclass(frozen=True)
class Search(_Group):
    """How configurations are proposed: ``sampler`` and ``pruner`` by name or as Optuna
    objects; ``fixed`` params added to every trial; head starts (``portfolio`` of known-good
    first trials, ``warm_start`` from earlier runs, ``lr_finder``, ``lr_schedule``);
    ``parallel_trials`` runs two at a time on a timed CPU run; ``sampler_seed`` (default: the
    run's seed) differs per worker of a shared study."""

    sampler: Any = "tpe"
    pruner: Any = "paired"
    fixed: Mapping[str, Any] | None = None
    portfolio: bool = True
    warm_start: Any = None
    lr_finder: bool = False
    lr_schedule: str = "constant"
    parallel_trials: bool = True
    sampler_seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.sampler, optuna.samplers.BaseSampler):
            _check_choice("sampler", self.sampler, SAMPLERS)
        if not isinstance(self.pruner, optuna.pruners.BasePruner) and self.pruner is not None:
            _check_choice("pruner", self.pruner, PRUNERS)
        _check_choice("lr_schedule", self.lr_schedule, ("search", *SCHEDULES))
        for name in ("portfolio", "lr_finder", "parallel_trials"):
            _check_bool(name, getattr(self, name))
        if self.warm_start is not None and self.sampler == "grid":
            raise BoostTuneError("warm_start enqueues trials off the grid; use another sampler "
                                 "(tpe, random, qmc, ...) with warm_start, or drop it.")
        if self.fixed is not None and not isinstance(self.fixed, Mapping):
            raise BoostTuneError(f"The 'fixed' parameter must be a dict of params; got "
                                 f"{self.fixed!r}.")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "sampler": str(self.sampler), "pruner": str(self.pruner)}


@dataclass(frozen=True)
class Fit(_Group):
    """How each model is fit: early stopping on the validation fold ('fold') or on a slice of
    the training fold ('inner'), its patience, the round ceiling, CPU threads per model
    (None: the CPUs this process may use, fewer where other processes keep some busy; the
    pipeline resolves it once per run into a :class:`Threads`) and whether an unusable GPU is
    an error instead of a CPU fallback."""

    early_stopping: str = "fold"
    early_stopping_rounds: int = 100
    max_rounds: int = 10_000
    n_jobs: int | Threads | None = None
    strict_device: bool = False

    def __post_init__(self) -> None:
        _check_choice("early_stopping", self.early_stopping, POLICIES)
        _check_int("early_stopping_rounds", self.early_stopping_rounds, 1, high=MAX_ROUNDS)
        _check_int("max_rounds", self.max_rounds, 1, high=MAX_ROUNDS)
        if not isinstance(self.n_jobs, Threads):
            _check_int("n_jobs", self.n_jobs, 1, optional=True)
        _check_bool("strict_device", self.strict_device)

    @property
    def threads(self) -> int:
        if isinstance(self.n_jobs, Threads):
            return self.n_jobs.count
        return self.n_jobs or usable_cpus()

    def resolved(self) -> Fit:
        """These settings with the threads chosen for this run (once: see ``Threads``)."""
        if isinstance(self.n_jobs, Threads):
            return self
        return replace(self, n_jobs=choose_threads(self.n_jobs))

    def to_dict(self) -> dict[str, Any]:
        requested = self.n_jobs.requested if isinstance(self.n_jobs, Threads) else self.n_jobs
        return {**super().to_dict(), "n_jobs": requested}


@dataclass(frozen=True)
class Finalize(_Group):
    """What is delivered after the search: ``refit`` 'folds' (the fold models), 'full' (one
    model per seed on all rows), 'blend' (both at half weight) or None (the backend's
    default); the ``top_k`` best trials re-run over every seed and picked by ``select``
    ('mean', or 'lcb': mean minus its standard error); ``ensemble`` trials of each model kept
    for ensemble selection over them (None: 10 when several models are tuned, else none),
    in at most ``ensemble_mb`` megabytes per model where given (OOF predictions and pickled
    fold models, measured by pickling each kept trial: seconds for big multiclass boosters;
    the best trial is kept whatever its size);
    ``low_rate`` k > 1 refits on all rows at the learning rate ÷ k with k× the rounds (where
    the budget allows; 'full' and 'blend' only)."""

    refit: str | None = None
    top_k: int = 1
    select: str = "mean"
    ensemble: int | None = None
    ensemble_mb: float | None = None
    low_rate: float = 1.0

    def __post_init__(self) -> None:
        if self.refit is not None:
            _check_choice("refit", self.refit, REFITS)
        _check_int("top_k", self.top_k, 1)
        _check_choice("select", self.select, SELECTS)
        _check_int("ensemble", self.ensemble, 0, optional=True)
        if self.ensemble_mb is not None and (
                isinstance(self.ensemble_mb, bool) or not isinstance(self.ensemble_mb, Real)
                or not self.ensemble_mb > 0):
            raise OptionError("ensemble_mb", "must be a positive number of megabytes",
                              self.ensemble_mb)
        if isinstance(self.low_rate, bool) or not isinstance(self.low_rate, Real) \
                or not 1 <= self.low_rate <= 100:
            raise OptionError("low_rate", "must be a number from 1 (off) to 100",
                              self.low_rate)


@dataclass(frozen=True)
class Evaluation(_Group):
    """Honest estimates at extra cost: ``nested=k`` tunes inside each of k outer folds (the
    optimism of tuning); ``compare_default`` scores the preset's defaults on the same folds
    and seeds; ``compare_policies`` re-runs the chosen params under the other early-stopping
    policy. ``delivered=k`` replicates the delivery (fold-model average, refit) inside k
    training parts to estimate what the delivered predictor scores (0: off; fewer where the
    budget is short); its 95% prediction interval is for a test set of ``test_size`` rows
    (None: the rows of ``test=``), with the spread of a leaderboard's public share
    (``public_share``) against the rest. ``interval=False`` skips that interval (its
    bootstrap scores the OOF rows 600 times) and ``curves=False`` the learning curves and
    their diagnosis (each fold predicted at 15 rounds): a multi-model run's backends skip
    both, the ensemble has its own interval and no one model's curves."""

    nested: int | None = None
    compare_default: bool = False
    compare_policies: bool = False
    delivered: int = 3
    test_size: int | None = None
    public_share: float = 0.25
    interval: bool = True
    curves: bool = True

    def __post_init__(self) -> None:
        if self.nested is not None:
            _check_int("nested", self.nested, 2)
        _check_bool("compare_default", self.compare_default)
        _check_bool("compare_policies", self.compare_policies)
        _check_int("delivered", self.delivered, 0)
        _check_int("test_size", self.test_size, 1, optional=True)
        _check_bool("interval", self.interval)
        _check_bool("curves", self.curves)
        if isinstance(self.public_share, bool) or not isinstance(self.public_share, Real) \
                or not 0 < self.public_share < 1:
            raise OptionError("public_share", "must be a fraction between 0 and 1 (Kaggle's "
                              "public leaderboard is often 0.2 to 0.3)", self.public_share)


@dataclass(frozen=True)
class Storage(_Group):
    """Where the study lives: an Optuna RDB URL or a path for a SQLite file (None: in
    memory). Calling again resumes it; :func:`boosttune.work` lets other processes search
    it too."""

    url: str | os.PathLike[str] | None = None
    study_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"url": None if self.url is None else os.fspath(self.url),
                "study_name": self.study_name}


GROUPS: dict[str, type[_Group]] = {"data": Data, "cv": CV, "search": Search, "fit": Fit,
                                   "finalize": Finalize, "evaluation": Evaluation,
                                   "storage": Storage}


@dataclass(frozen=True)
class RunConfig:
    """Everything a run is told, besides its data. The flat fields are the everyday options
    of ``tune()``; the rest is in the groups."""

    model: str | Sequence[str] = "lightgbm"  # a backend, several, or "auto" (all installed)
    metric: Any = None
    space: SearchSpace | str = "default"  # a SearchSpace or a preset tier of the model
    n_trials: int | None = None
    timeout: float | None = None
    seeds: int | Sequence[int] = 1
    seed: int = 0
    device: str | Device = "cpu"
    progress: bool = True
    data: Data = field(default_factory=Data)
    cv: CV = field(default_factory=CV)
    search: Search = field(default_factory=Search)
    fit: Fit = field(default_factory=Fit)
    finalize: Finalize = field(default_factory=Finalize)
    evaluation: Evaluation = field(default_factory=Evaluation)
    storage: Storage = field(default_factory=Storage)

    def __post_init__(self) -> None:
        models = _model_list(self.model)
        object.__setattr__(self, "model", models[0] if len(models) == 1 else tuple(models))
        _check_int("n_trials", self.n_trials, 1, optional=True)
        if self.timeout is not None and (isinstance(self.timeout, bool) or not isinstance(
                self.timeout, Real) or not self.timeout > 0):
            raise OptionError("timeout", "must be a positive number of seconds", self.timeout,
                              optional=True)
        _check_int("seed", self.seed, 0, high=MAX_SEED)
        if not isinstance(self.device, Device):
            _check_choice("device", self.device, REQUESTS)
        if isinstance(self.space, str):
            for model in models:
                _check_choice("space", self.space, list(backend_spec(model).presets))
        elif not isinstance(self.space, SearchSpace):
            raise OptionError("space", "must be a preset name or a SearchSpace", self.space)
        _seed_list(self.seeds, self.seed)  # checked; kept as given, so a new seed moves them
        for name, group in GROUPS.items():
            if not isinstance(getattr(self, name), group):
                raise BoostTuneError(f"The '{name}' parameter must be a bt.{group.__name__}"
                                     f"(...); got {getattr(self, name)!r}.")

    @property
    def one_model(self) -> str:
        """The backend of a single-model run (the pipeline splits a multi-model run first)."""
        if not isinstance(self.model, str):
            raise BoostTuneError(f"This stage runs one model; got {list(self.model)}.")
        return self.model

    @property
    def models(self) -> list[str]:
        """The backends this run tunes, one or several."""
        return [self.model] if isinstance(self.model, str) else list(self.model)

    @property
    def seed_list(self) -> list[int]:
        """The finalize seeds: ``seeds`` consecutive from ``seed``, or the listed ones."""
        return _seed_list(self.seeds, self.seed)

    @property
    def trials_wanted(self) -> int | None:
        """n_trials, or DEFAULT_N_TRIALS where neither it nor a timeout bounds the search."""
        if self.n_trials is None and self.timeout is None:
            return DEFAULT_N_TRIALS
        return self.n_trials

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``config``: the options as given, group by group."""
        flat = {"model": self.model if isinstance(self.model, str) else list(self.model),
                "metric": getattr(self.metric, "name", self.metric),
                "space": self.space if isinstance(self.space, str) else self.space.name,
                "n_trials": self.n_trials, "timeout": self.timeout,
                "seeds": self.seed_list, "seed": self.seed,
                "device": getattr(self.device, "requested", self.device)}
        if not isinstance(flat["metric"], (str, type(None))):
            flat["metric"] = repr(flat["metric"])
        return flat | {name: getattr(self, name).to_dict() for name in GROUPS}


AUTO_MODELS = ("lightgbm", "xgboost", "catboost")  # "auto": those of these installed


def _model_list(model: Any) -> list[str]:
    """The backends named: one, several (distinct) or 'auto'; each checked by name."""
    if model == "auto":
        return [m for m in AUTO_MODELS if m in backend_names()]
    models = [model] if isinstance(model, str) else list(model) if isinstance(
        model, (list, tuple)) else [model]
    if not models or len(set(map(str, models))) != len(models):
        raise OptionError("model", "must name one backend or a list of distinct backends",
                          model)
    for name in models:
        if name in NOT_INSTALLED and name not in backend_names():
            raise BoostTuneError(f"The model {name!r} needs its library, which is not "
                                 f"installed: {NOT_INSTALLED[name]}.")
        _check_choice("model", name, backend_names())
    return models


def _seed_list(seeds: int | Sequence[int], seed: int) -> list[int]:
    if isinstance(seeds, Integral) and not isinstance(seeds, bool):
        _check_int("seeds", seeds, 1)
        return [seed + i for i in range(int(seeds))]
    listed = list(seeds) if isinstance(seeds, (list, tuple, np.ndarray)) else []
    if not listed or len(set(listed)) != len(listed) or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and 0 <= int(s) <= MAX_SEED
            for s in listed):
        raise OptionError("seeds", f"must be a count of at least 1 or a list of distinct "
                          f"integers from 0 to {MAX_SEED}", seeds)
    return [int(s) for s in listed]


# Every flat option name → where it lives: a RunConfig field, or "group.field". The old flat
# names of tune() that moved into a group are kept for one release with a DeprecationWarning;
# the estimators' parameters and the CLI's defaults are looked up here too.
FLAT = ("model", "metric", "space", "n_trials", "timeout", "seeds", "seed", "device",
        "progress")
MOVED: dict[str, str] = {
    "task": "data.task", "weights": "data.weights", "id_column": "data.id_column",
    "drop": "data.drop",
    "cv_scheme": "cv.scheme", "groups": "cv.groups", "reshuffle_folds": "cv.reshuffle",
    "preset": "space", "fixed": "search.fixed",
    "sampler": "search.sampler", "pruner": "search.pruner", "portfolio": "search.portfolio",
    "warm_start": "search.warm_start", "lr_finder": "search.lr_finder",
    "lr_schedule": "search.lr_schedule", "parallel_trials": "search.parallel_trials",
    "early_stopping": "fit.early_stopping", "early_stopping_rounds": "fit.early_stopping_rounds",
    "max_rounds": "fit.max_rounds", "n_jobs": "fit.n_jobs", "strict_device": "fit.strict_device",
    "refit": "finalize.refit", "top_k": "finalize.top_k", "select": "finalize.select",
    "nested": "evaluation.nested", "compare_default": "evaluation.compare_default",
    "compare_policies": "evaluation.compare_policies",
    "study_name": "storage.study_name",
}
SHORTHANDS = {"cv": "cv.folds", "storage": "storage.url"}  # a value, or the group itself
OPTIONS: dict[str, str] = {name: name for name in FLAT} | SHORTHANDS | MOVED


def default(name: str) -> Any:
    """The default of the flat option ``name``, wherever it lives."""
    where = OPTIONS[name]
    if "." not in where:
        return _field_default(RunConfig, where)
    group, attribute = where.split(".")
    return _field_default(GROUPS[group], attribute)


def _field_default(cls: type, name: str) -> Any:
    for f in fields(cls):
        if f.name == name:
            return f.default
    raise KeyError(name)


def build_config(base: RunConfig | None = None, /, **options: Any) -> RunConfig:
    """A RunConfig from flat option names (and group objects), on top of ``base``.

    A flat name that lives in a group sets that field of the group; a value that is a group
    object replaces the group. An unknown name is an error that suggests the closest one.
    """
    config = base or RunConfig()
    top: dict[str, Any] = {}
    grouped: dict[str, dict[str, Any]] = {}
    for name, value in options.items():
        if name in GROUPS and (value is None or isinstance(value, GROUPS[name])):
            if value is not None:
                top[name] = value
            continue
        if name not in OPTIONS:
            raise BoostTuneError(f"Unknown option {name!r}"
                                 f"{did_you_mean(name, [*OPTIONS, *GROUPS])}.")
        where = OPTIONS[name]
        if "." in where:
            group, attribute = where.split(".")
            grouped.setdefault(group, {})[attribute] = value
        else:
            top[where] = value
    config = replace(config, **top)
    for group, values in grouped.items():
        config = replace(config, **{group: replace(getattr(config, group), **values)})
    return config


def warn_moved(options: Mapping[str, Any], caller: str) -> None:
    """One DeprecationWarning per old flat name of ``caller`` in ``options``."""
    for name in [n for n in options if n in MOVED]:
        group, _, attribute = MOVED[name].partition(".")
        target = f"{group}=bt.{GROUPS[group].__name__}({attribute}=...)" if attribute else group
        warnings.warn(f"{caller}({name}=...) is deprecated and will be removed in the next "
                      f"release; pass {target} instead.", DeprecationWarning, stacklevel=4)
