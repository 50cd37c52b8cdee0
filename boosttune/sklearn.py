"""sklearn estimators that tune themselves in ``fit``: BoostTuneClassifier, BoostTuneRegressor.

They are a front end of ``tune()``: ``fit`` runs the same engine and keeps its TuneResult in
``result_``. ``__init__`` only stores its arguments; they are checked in ``fit``.

>>> from boosttune.sklearn import BoostTuneClassifier             # doctest: +SKIP
>>> clf = BoostTuneClassifier(n_trials=20, seeds=3).fit(X, y)
>>> clf.best_params_, clf.best_score_, clf.predict_proba(X_new)
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from boosttune.config import RunConfig, build_config, default
from boosttune.core.errors import BoostTuneError, OptionError
from boosttune.core.metrics import Direction
from boosttune.core.predictions import pred_matrix
from boosttune.pipeline import run as pipeline
from boosttune.result import TuneResult

PARAMETERS = {"space": "preset", "seed": "random_state"}  # option → the estimator's name


class ParameterError(InvalidParameterError, OptionError):
    """A bad estimator parameter: sklearn's error type, boosttune's check and message."""


class _BoostTuneEstimator(BaseEstimator):
    _task_kinds: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        model: str = default("model"),
        preset: str = default("preset"),
        n_trials: int | None = default("n_trials"),
        timeout: float | None = default("timeout"),
        cv: Any = default("cv"),
        metric: Any = default("metric"),
        seeds: int = default("seeds"),
        device: str = default("device"),
        strict_device: bool = default("strict_device"),
        portfolio: bool = default("portfolio"),
        early_stopping: str = default("early_stopping"),
        refit: str | None = default("refit"),
        sampler: str = default("sampler"),
        pruner: str = default("pruner"),
        max_rounds: int = default("max_rounds"),
        random_state: int = default("seed"),
        n_jobs: int | None = default("n_jobs"),
        verbose: int = 0,
    ) -> None:
        self.model = model
        self.preset = preset
        self.n_trials = n_trials
        self.timeout = timeout
        self.cv = cv
        self.metric = metric
        self.seeds = seeds
        self.device = device
        self.strict_device = strict_device
        self.portfolio = portfolio
        self.early_stopping = early_stopping
        self.refit = refit
        self.sampler = sampler
        self.pruner = pruner
        self.max_rounds = max_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        """sklearn's view of the estimator, and once fitted, the run's summary below it."""
        bundle: dict[str, str] = super()._repr_mimebundle_(**kwargs)
        if "text/html" in bundle and hasattr(self, "result_"):
            bundle["text/html"] += self.result_._repr_html_()
        return bundle

    def fit(self, X: Any, y: Any, groups: Any = None, sample_weight: Any = None) -> Any:
        """Tune on (X, y) with cross-validation, then predict with the fold models
        (``refit='folds'``), one model per seed fit on all rows (``'full'``), or both at half
        weight each (``'blend'``); by default blend for LightGBM, folds for XGBoost."""
        frame, target = self._checked_fit_input(X, y)
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, frame)
        config = self._config(target, groups, weights)
        result = pipeline.run(frame, target, None, config)
        self.result_: TuneResult = result
        self.best_params_ = result.best_params
        self.best_score_ = result.score.mean
        self.best_score_std_ = result.score.std
        self.cv_results_ = _cv_results(result)
        self.oof_pred_ = _oof_matrix(result)
        self.study_ = result.study
        return self

    def _config(self, target: np.ndarray, groups: Any, weights: Any) -> RunConfig:
        """The RunConfig of these parameters, checked where tune()'s are (boosttune.config);
        a bad value is named by its parameter here."""
        try:
            return build_config(
                model=self.model, task=self._task_kind(target), metric=self.metric,
                cv=self._folds_for(target), groups=groups, weights=weights, preset=self.preset,
                n_trials=self.n_trials, timeout=self.timeout, sampler=self.sampler,
                pruner=self.pruner, seeds=self.seeds, seed=self.random_state,
                refit=self.refit, early_stopping=self.early_stopping,
                max_rounds=self.max_rounds, n_jobs=self.n_jobs, device=self.device,
                strict_device=self.strict_device, portfolio=self.portfolio,
                progress=bool(self.verbose),
            )
        except OptionError as exc:
            name = PARAMETERS.get(exc.option, exc.option)
            raise ParameterError(name, exc.requirement, exc.value, exc.hint, exc.optional,
                                 label=f"The '{name}' parameter of {type(self).__name__}"
                                 ) from None

    def _checked_fit_input(self, X: Any, y: Any) -> tuple[pd.DataFrame, np.ndarray]:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None.")
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True, reset=True)
            frame = X.reset_index(drop=True)
            if len(frame) == 0:
                raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
            y = column_or_1d(np.asarray(y), warn=True)
        else:
            array, y = validate_data(self, X, y, ensure_all_finite="allow-nan",
                                     dtype=np.float64, y_numeric=not self._task_kinds)
            frame = pd.DataFrame(array, columns=[f"f{i}" for i in range(array.shape[1])])
        if len(y) != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {len(y)} values.")
        return frame, self._checked_target(y)

    def _checked_target(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64)

    def _task_kind(self, y: np.ndarray) -> str:
        return "regression"

    def _folds_for(self, y: np.ndarray) -> Any:
        return self.cv

    def _frame(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "result_")
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True, reset=False)
            return X
        array = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64,
                              reset=False)
        names = getattr(self, "feature_names_in_", None)
        columns = list(names) if names is not None else [f"f{i}" for i in
                                                          range(array.shape[1])]
        return pd.DataFrame(array, columns=columns)

    def _raw_predict(self, X: Any) -> np.ndarray:
        frame = self._frame(X)
        return self.result_.predict(frame)


class BoostTuneClassifier(ClassifierMixin, _BoostTuneEstimator):
    """A LightGBM or XGBoost classifier that tunes itself in ``fit``.

    Learned attributes: ``classes_``, ``best_params_``, ``best_score_`` (mean over seeds) and
    ``best_score_std_``, ``cv_results_``, ``oof_pred_``, ``study_``, ``result_``,
    ``n_features_in_``, ``feature_names_in_``.
    """

    _task_kinds = ("binary", "multiclass")

    def _checked_target(self, y: np.ndarray) -> np.ndarray:
        missing = pd.isna(y)
        if missing.any():
            rows = np.flatnonzero(missing)[:5].tolist()
            raise BoostTuneError(f"Input y contains NaN: {int(missing.sum())} missing label(s) "
                                 f"(first rows {rows}); drop those rows or fill the labels.")
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"The target has one class only ({self.classes_[0]!r}); a "
                             "classifier needs at least two.")
        return codes

    def _task_kind(self, y: np.ndarray) -> str:
        return "binary" if len(self.classes_) == 2 else "multiclass"

    def _folds_for(self, y: np.ndarray) -> Any:
        # small data: fewer stratified folds rather than an error, down to two
        if isinstance(self.cv, Integral) and int(self.cv) >= 2:
            smallest_class = int(np.bincount(y).min())
            return max(2, min(int(self.cv), smallest_class))
        return self.cv

    def predict_proba(self, X: Any) -> np.ndarray:
        pred = self._raw_predict(X)
        return np.column_stack([1 - pred, pred]) if pred.ndim == 1 else pred

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class BoostTuneRegressor(RegressorMixin, _BoostTuneEstimator):
    """A LightGBM or XGBoost regressor that tunes itself in ``fit`` (attributes as the
    classifier's, without ``classes_``)."""

    def _checked_target(self, y: np.ndarray) -> np.ndarray:
        values = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError("Input y contains NaN or infinity; drop or fill those rows.")
        return values

    def _folds_for(self, y: np.ndarray) -> Any:
        if isinstance(self.cv, Integral) and int(self.cv) >= 2:
            if len(y) < 2:
                raise ValueError(f"Cross-validation needs at least 2 rows; got n_samples="
                                 f"{len(y)}.")
            return min(int(self.cv), len(y))
        return self.cv

    def predict(self, X: Any) -> np.ndarray:
        return self._raw_predict(X)


def _cv_results(result: TuneResult) -> dict[str, np.ndarray]:
    """The trials as sklearn's search estimators lay them out: one array per key."""
    trials = result.trials
    param_columns = [c for c in trials.columns if c.startswith("params_")]
    results: dict[str, Any] = {
        "params": np.array([{c[7:]: row[c] for c in param_columns if pd.notna(row[c])}
                            for _, row in trials.iterrows()], dtype=object),
        "state": trials["state"].to_numpy(),
        "mean_fit_time": trials["duration"].to_numpy(dtype=np.float64),
    }
    for column in param_columns:
        results[f"param_{column[7:]}"] = trials[column].to_numpy()
    folds = result.folds.n_splits
    scores = np.full((len(trials), folds), np.nan)
    if "user_attrs_fold_scores" in trials:
        for i, fold_scores in enumerate(trials["user_attrs_fold_scores"]):
            if isinstance(fold_scores, list):
                scores[i, : len(fold_scores)] = fold_scores
    for k in range(folds):
        results[f"split{k}_test_score"] = scores[:, k]
    results["mean_test_score"] = trials["value"].to_numpy(dtype=np.float64)
    results["std_test_score"] = np.nanstd(np.where(np.isnan(scores).all(axis=1, keepdims=True),
                                                   0.0, scores), axis=1)
    goal = Direction.of(result.score.direction)
    ranked = pd.Series(goal.sort_key(results["mean_test_score"])).rank(method="min",
                                                                      na_option="bottom")
    results["rank_test_score"] = ranked.to_numpy(dtype=np.int64)
    return results


def _oof_matrix(result: TuneResult) -> np.ndarray:
    return pred_matrix(result.oof)
