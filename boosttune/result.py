"""TuneResult: what a run found, ready to inspect, predict with, save and load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import pandas as pd

from boosttune.backends import PREDICT
from boosttune.cv import Folds
from boosttune.errors import BoostTuneError
from boosttune.evaluate import CVScore
from boosttune.nested import NestedReport
from boosttune.task import FeatureEncoder

if TYPE_CHECKING:
    from boosttune.report import Report


@dataclass
class Ensemble:
    """The finalize fits: fold models (folds × seeds) and models refit on all rows (one per
    seed). A prediction is the mean of each group's average: half and half when both are
    kept (``refit='blend'``)."""

    model: str
    members: list[tuple[Any, int]]  # fold models: (native booster, rounds to use)
    encoder: FeatureEncoder
    full_members: list[tuple[Any, int]] = field(default_factory=list)  # refit on all rows

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            array = np.asarray(X)
            X = pd.DataFrame(array, columns=[f"f{i}" for i in range(array.shape[1])])
        return self.predict_matrix(self.encoder.transform(X, "data to predict"))

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Mean prediction on an already encoded feature matrix."""
        groups = [group for group in (self.members, self.full_members) if group]
        return np.mean([PREDICT[self.model](group, matrix, self.encoder.categorical_indices)
                        for group in groups], axis=0)


@dataclass
class TuneResult:
    """Best params, seed-averaged score, OOF and test predictions, trials, folds, manifest.

    ``params`` loads straight into the library's sklearn estimator, e.g.
    ``lightgbm.LGBMClassifier(**result.params)``; ``best_params`` are the searched ones only.
    """

    model: str
    best_params: dict[str, Any]
    params: dict[str, Any]
    score: CVScore
    oof: pd.DataFrame
    test_pred: pd.DataFrame | None
    trials: pd.DataFrame
    folds: Folds
    manifest: dict[str, Any]
    study: optuna.Study | None = None
    ensemble: Ensemble | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)
    selection: pd.DataFrame | None = None  # the top-k re-evaluated over seeds
    nested: NestedReport | None = None
    curves: pd.DataFrame | None = None  # per seed, fold, round: train and valid score

    @property
    def diagnosis(self) -> str | None:
        """The fit diagnosis of the final folds, in words (see ``manifest['diagnosis']``)."""
        found = self.manifest.get("diagnosis")
        return None if found is None else f"{found['verdict']}: {found['reason']}"

    @property
    def classes(self) -> list[Any] | None:
        return self.manifest.get("classes")

    def class_codes(self, labels: Any) -> np.ndarray:
        """Codes of class labels in this run's coding; -1 for a class the run never saw."""
        position = {c: i for i, c in enumerate(self.classes or [])}
        return np.array([position.get(v, -1) for v in labels], dtype=np.int64)

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Prediction of the ensemble (fold models of every seed and/or the models refit on
        all rows): P(positive class) for binary, (n, K) probabilities for multiclass, values
        for regression."""
        if self.ensemble is None:
            raise BoostTuneError(
                "This result holds no models (it was loaded from disk); run tune() again "
                "or train with result.params."
            )
        return self.ensemble.predict(X)

    def save(self, path: str | Path) -> Path:
        """Write the run directory (every file atomically); returns its path."""
        from boosttune.export import save_run

        return save_run(self, Path(path))

    def report(self, path: str | Path | None = None) -> Report:
        """Plots of the search, the fit and the OOF predictions; with ``path`` (a folder),
        also writes report.html (self-contained) and the PNGs there. Displays in notebooks."""
        from boosttune.report import build_report

        report = build_report(self)
        if path is not None:
            report.save(Path(path))
        return report

    @classmethod
    def load(cls, path: str | Path) -> TuneResult:
        from boosttune.export import load_run

        return load_run(Path(path))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in self.best_params.items())
        trials = self.manifest.get("search", {})
        return (f"TuneResult({self.model}: {self.score}; {trials.get('n_complete', '?')} "
                f"complete / {trials.get('n_pruned', '?')} pruned trials; {shown})")


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)
