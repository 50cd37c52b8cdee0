"""The backend protocol: per-fold native datasets built once, one early-stopped fit per call.

Early-stopping policy ``fold`` stops on the validation fold (the Kaggle habit, slightly
optimistic); ``inner`` stops on a seeded slice of the training fold, so the validation fold
is never seen before it is scored (leak-free).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from boosttune.core import clock
from boosttune.core.errors import BoostTuneError
from boosttune.core.folds import Folds, split_rows
from boosttune.core.results import FoldFit
from boosttune.core.task import Task

POLICIES = ("fold", "inner")
INNER_FRACTION = 0.1  # share of the training fold held out for early stopping under 'inner'

# Params fixed by the binned dataset: a run builds it once, so trials cannot vary them.
DATASET_PARAMS = frozenset({"max_bin", "min_data_in_bin", "bin_construct_sample_cnt",
                            "max_cat_threshold_bins", "enable_bundle", "use_missing",
                            "zero_as_missing", "feature_pre_filter"})


class BudgetExhausted(Exception):
    """Raised from inside a fit when the run's time budget is spent."""


@dataclass
class Cut:
    """When a fit ends before early stopping would: a fit calls it every boosting round;
    once ``due`` says so the fit is cut (it raises BudgetExhausted), or, with ``keep``, it
    stops boosting and keeps its best round so far: a shorter but usable model (for a trial
    that must finish, a run's first). ``end``: a second rule, checked after ``due``, whose
    stop always keeps the best round (a lower rung's time for each fold). ``kept``: whether
    the stop that came keeps; ``ended``: a stop came in some fit."""

    due: Callable[[], bool]
    keep: bool = False
    end: Callable[[], bool] | None = None
    ended: bool = False
    kept: bool = False

    def __call__(self) -> bool:
        if self.due():
            self.kept = self.keep
        elif self.end is not None and self.end():
            self.kept = True
        else:
            return False
        self.ended = True
        return True

    @property
    def may_keep(self) -> bool:
        """Whether a stop of this cut may keep the fit's best round."""
        return self.keep or self.end is not None


@dataclass
class FitSettings:
    early_stopping: str = "fold"
    early_stopping_rounds: int = 100
    max_rounds: int = 10_000
    n_threads: int = 1
    device_params: dict[str, Any] = field(default_factory=dict)  # native params of the device


@dataclass
class FoldParts:
    fit: np.ndarray
    stop: np.ndarray
    valid: np.ndarray


@dataclass
class Backend(ABC):
    """One library behind the engine. Subclasses build native datasets and train."""

    name: ClassVar[str]
    task: Task
    folds: Folds
    settings: FitSettings = field(default_factory=FitSettings)
    dataset_params: dict[str, Any] = field(default_factory=dict)  # fixed binning params
    # what the library early-stops on: BackendSpec.build resolves it from the task's metric
    native_metric: str = field(kw_only=True)
    native_seconds: float = 0.0  # time spent inside native train and predict calls
    _parts: dict[int, FoldParts] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.settings.early_stopping not in POLICIES:
            raise BoostTuneError(
                f"The 'early_stopping' parameter must be one of {list(POLICIES)}; got "
                f"{self.settings.early_stopping!r} instead."
            )

    def copy(self) -> Backend:
        """The same task, folds and settings, with native datasets of its own."""
        return type(self)(self.task, self.folds, self.settings, self.dataset_params,
                          native_metric=self.native_metric)

    def on_folds(self, folds: Folds) -> Backend:
        """The same task and settings on other folds of its rows (a low-fidelity rung)."""
        return type(self)(self.task, folds, self.settings, self.dataset_params,
                          native_metric=self.native_metric)

    def build(self) -> None:
        """Build every fold's native datasets now, so that a trial's time is its training."""
        for fold in range(self.folds.n_splits):
            self._build_fold(fold)

    def parts(self, fold: int) -> FoldParts:
        """Row indices to fit on, to early-stop on, and to score, for one fold (cached)."""
        if fold not in self._parts:
            train, valid = self.folds.splits[fold]
            if self.settings.early_stopping == "fold":
                self._parts[fold] = FoldParts(train, valid, valid)
            else:
                fit, stop = self._inner_split(train, fold)
                self._parts[fold] = FoldParts(fit, stop, valid)
        return self._parts[fold]

    def _inner_split(self, train: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
        labels = self.task.y if self.task.kind != "regression" else None
        return split_rows(train, labels, self.folds.seed + fold, test_size=INNER_FRACTION)

    def fit_fold(
        self,
        params: dict[str, Any],
        fold: int,
        seed: int,
        *,
        stop: Cut | None = None,
    ) -> FoldFit:
        """Fit ``params`` on one fold with early stopping, or until ``stop`` is due; predict
        its validation rows."""
        started = clock.now()
        model, n_rounds, curves = self._train(params, fold, seed, stop)
        trained = clock.now()
        valid_pred = self._predict_valid(model, fold, n_rounds)
        ended = clock.now()
        self.native_seconds += ended - started
        return FoldFit(fold, seed, n_rounds, valid_pred, curves, model, ended - started,
                       predict_seconds=ended - trained)

    def predict_fold(self, model: Any, fold: int, n_rounds: int) -> np.ndarray:
        """A fold model's predictions of this backend's validation rows of ``fold``."""
        return self._predict_valid(model, fold, n_rounds)

    def fit_all(self, params: dict[str, Any], n_rounds: int, seed: int) -> Any:
        """Fit ``n_rounds`` rounds on every row, no early stopping (refit on all data)."""
        started = clock.now()
        model = self._train_all(params, n_rounds, seed)
        self.native_seconds += clock.now() - started
        return model

    def refit_rounds(self, fold_rounds: float) -> int:
        """Rounds for a fit on all rows: the folds' best rounds scaled by the larger data."""
        fit_rows = np.mean([len(self.parts(k).fit) for k in range(self.folds.n_splits)])
        return max(1, int(np.rint(fold_rounds * self.task.n_rows / fit_rows)))

    def check_params(self, names: set[str]) -> None:
        varied = sorted(names & DATASET_PARAMS)
        if varied:
            raise BoostTuneError(
                f"{varied} shape the binned dataset, which is built once per run; fix them "
                "(fixed={...}) instead of searching them."
            )

    @abstractmethod
    def _train(
        self, params: dict[str, Any], fold: int, seed: int, stop: Cut | None,
    ) -> tuple[Any, int, dict[str, list[float]]]: ...

    def _build_fold(self, fold: int) -> None:  # noqa: B027 (optional: not abstract)
        """Build one fold's native datasets (a backend may leave them to its first fit)."""

    @abstractmethod
    def _train_all(self, params: dict[str, Any], n_rounds: int, seed: int) -> Any: ...

    @abstractmethod
    def _predict_valid(self, model: Any, fold: int, n_rounds: int) -> np.ndarray: ...

    @abstractmethod
    def export_params(self, params: dict[str, Any], n_rounds: int) -> dict[str, Any]:
        """Params for params.json, loadable into the library's sklearn estimator."""
