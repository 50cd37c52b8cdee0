"""TuneResult: what a run delivers, ready to inspect, predict with, save, load and report.

It sits above the io layer (it saves, loads and reports itself through it) and below the
pipeline that builds it; the models it predicts with carry their backend's predict function,
so it needs no backend module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from boosttune.core.ambiguity import Weighted
from boosttune.core.errors import BoostTuneError
from boosttune.core.folds import Folds
from boosttune.core.manifest import Manifest
from boosttune.core.results import CVScore, Kept, Members, NestedReport, Predict
from boosttune.core.task import FeatureEncoder, as_frame
from boosttune.io.report import Report, build_report, summary_html
from boosttune.io.rundir import RunFiles, load_study, read_run, write_run


@dataclass
class Ensemble:
    """The finalize fits: fold models (folds × seeds) and models refit on all rows (one per
    seed). A prediction is the mean of each group's average: half and half when both are
    kept (``refit='blend'``). ``predict_members`` is the backend's (BackendSpec.predict)."""

    predict_members: Predict
    members: Members  # fold models
    encoder: FeatureEncoder
    full_members: Members = field(default_factory=list)  # refit on all rows

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return self.predict_matrix(_encoded(X, self.encoder))

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Mean prediction on an already encoded feature matrix."""
        groups = [group for group in (self.members, self.full_members) if group]
        return np.mean([self.predict_members(group, matrix, self.encoder.categorical_indices)
                        for group in groups], axis=0)

    def member_predictions(self, matrix: np.ndarray) -> Weighted:
        """Each model's own prediction and its weight in ``predict_matrix``."""
        groups = [group for group in (self.members, self.full_members) if group]
        cats = self.encoder.categorical_indices
        return Weighted([self.predict_members([member], matrix, cats)
                         for group in groups for member in group],
                        np.array([1 / len(groups) / len(group)
                                  for group in groups for _ in group]))

@dataclass
class WeightedEnsemble:
    """An ensemble selection's predictor: the weighted mean of its members' fold-model
    averages (members of several backends, each with its own predict function)."""

    parts: list[tuple[float, Ensemble]]
    encoder: FeatureEncoder

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return self.predict_matrix(_encoded(X, self.encoder))

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        return np.sum([w * part.predict_matrix(matrix) for w, part in self.parts], axis=0)

    def member_predictions(self, matrix: np.ndarray) -> Weighted:
        """Each model's own prediction and weight (its part's weight times its weight
        there)."""
        found = [part.member_predictions(matrix) for _, part in self.parts]
        return Weighted([p for f in found for p in f.preds],
                        np.concatenate([w * f.weights
                                        for (w, _), f in zip(self.parts, found, strict=True)]))

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
    manifest: Manifest
    study: optuna.Study | None = None
    ensemble: Ensemble | WeightedEnsemble | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)
    selection: pd.DataFrame | None = None  # the top-k re-evaluated over seeds
    nested: NestedReport | None = None
    curves: pd.DataFrame | None = None  # per seed, fold, round: train and valid score
    kept: list[Kept] = field(default_factory=list)  # trials kept for an ensemble (not saved)
    by_model: dict[str, TuneResult] = field(default_factory=dict)  # a multi-model run's
    members: list[dict[str, Any]] = field(default_factory=list)  # an ensemble's: ensemble.json

    @property
    def diagnosis(self) -> str | None:
        """The fit diagnosis of the final folds, in words (see ``manifest.diagnosis``)."""
        return self.manifest.diagnosis_text

    @property
    def classes(self) -> list[Any] | None:
        return self.manifest.classes

    def class_codes(self, labels: Any) -> np.ndarray:
        """Codes of class labels in this run's coding; -1 for a class the run never saw."""
        position = {c: i for i, c in enumerate(self.classes or [])}
        return np.array([position.get(v, -1) for v in labels], dtype=np.int64)

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Prediction of the ensemble (fold models of every seed and/or the models refit on
        all rows, blended as ``refit`` says): P(positive class) for binary, (n, K)
        probabilities for multiclass, values for regression."""
        if self.ensemble is None:
            raise BoostTuneError(
                "This result holds no models (it was loaded from disk); run tune() again "
                "or train with result.params."
            )
        return self.ensemble.predict(X)

    def encode(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """``X`` as ``params`` expect it: text and categorical columns as pandas categories
        in the training order, so ``XGBClassifier(**result.params).fit(result.encode(X), y)``
        (``enable_categorical``) and LightGBM's estimators take it as boosttune trained."""
        encoder = FeatureEncoder(self.manifest.features, self.manifest.categories)
        encoded = encoder.frame(as_frame(X, "new"), "data to encode")
        if isinstance(X, pd.DataFrame):
            encoded.index = X.index  # rows stay aligned with X and y
        return encoded

    def save(self, path: str | Path) -> Path:
        """Write the run directory (every file atomically, the manifest last, with the export
        time in its ``timing['stages']['export']``)."""
        folder = Path(path)
        files = RunFiles(
            params=self.params, oof=self.oof, folds=self.folds.to_frame(len(self.oof)),
            scores=self.score.table, trials=self.trials, manifest=self.manifest,
            test_pred=self.test_pred, selection=self.selection,
            nested=None if self.nested is None else self.nested.table, curves=self.curves,
            ensemble=self.members or None)
        return write_run(folder, files, self.study)

    def report(self, path: str | Path | None = None) -> Report:
        """Plots of the search, the fit and the OOF predictions; with ``path`` (a folder),
        also writes report.html (self-contained) and the PNGs there. Displays in notebooks."""
        report = build_report(self)
        if path is not None:
            report.save(Path(path))
        return report

    @classmethod
    def load(cls, path: str | Path) -> TuneResult:
        folder = Path(path)
        files = read_run(folder)
        manifest = files.manifest
        score = CVScore.from_summary(manifest.score, files.scores)
        nested = (None if files.nested is None else NestedReport.from_summary(
            manifest.evaluation["nested"], score.direction, files.nested))
        return cls(
            model=manifest.model, best_params=manifest.best_params, params=files.params,
            score=score, oof=files.oof, test_pred=files.test_pred, trials=files.trials,
            folds=Folds.from_frame(files.folds, manifest.cv["scheme"], manifest.cv["seed"]),
            manifest=manifest, evaluation=manifest.evaluation, selection=files.selection,
            nested=nested, curves=files.curves, study=load_study(folder, manifest),
            members=files.ensemble or [])

    def _repr_html_(self) -> str:
        return summary_html(self)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in self.best_params.items())
        return (f"TuneResult({self.model}: {self.score}; {self.manifest.n_complete} "
                f"complete / {self.manifest.n_pruned} pruned trials; {shown})")


def _encoded(X: pd.DataFrame | np.ndarray, encoder: FeatureEncoder) -> np.ndarray:
    """Rows to predict, encoded as at fit time (an array's columns named as tune() names them)."""
    return encoder.transform(as_frame(X, "new"), "data to predict")


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)
