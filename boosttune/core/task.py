"""Task: the checked, encoded inputs of one run (features, target, kind, metric, test data).

Features become one float64 matrix: numbers as they are (NaN stays missing), categorical
columns (pandas ``category``, strings, objects) as category codes with NaN for missing, so both
libraries train them natively. The training categories are recorded; test data is encoded with
the same categories and values unseen in training become missing (with a warning).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from boosttune.core.errors import BoostTuneError, did_you_mean
from boosttune.core.metrics import Metric, TaskKind, get_metric

# Integer targets with at most this many distinct values are read as classes.
MAX_INTEGER_CLASSES = 20


@dataclass
class FeatureEncoder:
    """Turns frames into the float matrix the backends train on, the same way every time."""

    columns: list[str]
    categories: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if c in self.categories]

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> FeatureEncoder:
        categories: dict[str, list[Any]] = {}
        for name in frame.columns:
            column = frame[name]
            if isinstance(column.dtype, pd.CategoricalDtype):
                categories[name] = list(column.cat.categories)
            elif _is_text(column):
                categories[name] = sorted(column.dropna().astype(str).unique())
            elif pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(
                column
            ):
                raise BoostTuneError(
                    f"Column {name!r} holds dates or times ({column.dtype}); convert it to "
                    "numbers (e.g. day of year, hour) or drop it with drop=[...]."
                )
        return cls([str(c) for c in frame.columns], categories)

    def transform(self, frame: pd.DataFrame, what: str = "test data") -> np.ndarray:
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise BoostTuneError(
                f"The {what} lacks the training column(s) {missing}; give it the same feature "
                "columns as the training data."
            )
        matrix = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, name in enumerate(self.columns):
            matrix[:, j] = self._encode_column(frame[name], name, what)
        return matrix

    def frame(self, frame: pd.DataFrame, what: str = "data") -> pd.DataFrame:
        """The training columns of ``frame`` as the libraries' sklearn estimators take them:
        numbers as floats, categorical columns as pandas categories in the training order (so
        their codes are the ones boosttune trained with; unseen values become missing)."""
        matrix = self.transform(frame, what)
        columns: dict[str, Any] = {}
        for j, name in enumerate(self.columns):
            if name in self.categories:
                codes = np.where(np.isnan(matrix[:, j]), -1, matrix[:, j]).astype(np.int64)
                columns[name] = pd.Categorical.from_codes(codes, self.categories[name])
            else:
                columns[name] = matrix[:, j]
        return pd.DataFrame(columns, index=frame.index)

    def _encode_column(self, column: pd.Series, name: str, what: str) -> np.ndarray:
        if name not in self.categories:
            try:
                return pd.to_numeric(column, errors="raise").to_numpy(dtype=np.float64,
                                                                      na_value=np.nan)
            except (ValueError, TypeError) as exc:
                raise BoostTuneError(
                    f"Column {name!r} of the {what} is numeric in training but holds "
                    f"non-numbers here ({exc}); clean it or make it categorical in both."
                ) from None
        known = self.categories[name]
        values = column
        if all(isinstance(k, str) for k in known):  # text categories: match on the text
            values = column.astype(str).where(column.notna(), None)
        elif known and _holds_text(column):
            raise BoostTuneError(
                f"Column {name!r} is a category of {type(known[0]).__name__} values in "
                f"training but holds text in the {what} (e.g. {column.dropna().iloc[0]!r}); "
                f"give it the same type in both (e.g. test[{name!r}] = test[{name!r}]"
                f".astype({type(known[0]).__name__!r}))."
            )
        codes = pd.Index(known).get_indexer(values).astype(np.float64)  # -1: missing or unseen
        unseen = int(((codes < 0) & column.notna().to_numpy()).sum())
        if unseen:
            warnings.warn(
                f"Column {name!r} of the {what} has {unseen} value(s) not seen in training; "
                "they are treated as missing.",
                UserWarning,
                stacklevel=4,
            )
        codes[codes < 0] = np.nan
        return codes


def _is_text(column: pd.Series) -> bool:
    return column.dtype == object or pd.api.types.is_string_dtype(column.dtype)


def _holds_text(column: pd.Series) -> bool:
    """Whether the column's values are strings (as text, or as a category's labels)."""
    present = column.dropna()
    if isinstance(column.dtype, pd.CategoricalDtype):
        present = pd.Series(column.cat.categories)
    return bool(len(present)) and pd.api.types.infer_dtype(present, skipna=True) == "string"


@dataclass
class Task:
    """Everything a run knows about its data, checked and encoded."""

    X: np.ndarray
    y: np.ndarray
    kind: TaskKind
    metric: Metric
    encoder: FeatureEncoder
    target_name: str
    classes: list[Any] | None = None
    weights: np.ndarray | None = None
    groups: np.ndarray | None = None
    X_test: np.ndarray | None = None
    test_ids: pd.Series | None = None
    kind_reason: str = ""  # why an inferred kind is what it is, where it may surprise

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes is not None else 0

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    def data_hash(self) -> str:
        """SHA-256 of the encoded features, target and column names: same data, same hash."""
        digest = hashlib.sha256()
        digest.update("\x1f".join(self.encoder.columns).encode())
        for array in (self.X, self.y, self.weights, self.groups_codes()):
            if array is not None:
                digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def groups_codes(self) -> np.ndarray | None:
        if self.groups is None:
            return None
        return pd.factorize(pd.Series(self.groups), sort=True)[0]

    def decode_labels(self, codes: np.ndarray) -> np.ndarray:
        assert self.classes is not None
        return np.asarray(self.classes, dtype=object)[codes]


def make_task(
    train: pd.DataFrame | np.ndarray,
    target: str | Sequence[Any] | np.ndarray | pd.Series,
    *,
    test: pd.DataFrame | np.ndarray | None = None,
    task: str | None = None,
    metric: Any = None,
    weights: str | Sequence[float] | np.ndarray | None = None,
    groups: str | Sequence[Any] | np.ndarray | None = None,
    id_column: str | None = None,
    drop: Sequence[str] = (),
) -> Task:
    """Check and encode the inputs of a run; every problem raises a :class:`BoostTuneError`."""
    frame = as_frame(train, "train")
    if frame.empty or len(frame.columns) == 0:
        raise BoostTuneError("The training data is empty; pass a frame with rows and columns.")
    y_raw, target_name = _target_values(frame, target)
    weight_values = _column_or_array(frame, weights, "weights")
    group_values = _column_or_array(frame, groups, "groups")
    removed = {target_name, *drop} | ({id_column} if id_column else set())
    if isinstance(weights, str):
        removed.add(weights)
    unknown_drop = [c for c in drop if c not in frame.columns]
    if unknown_drop:
        raise BoostTuneError(f"drop names column(s) {unknown_drop} that the training data lacks.")
    if id_column is not None:
        _check_id_column(frame, id_column, "training data")
    features = frame.drop(columns=[c for c in frame.columns if c in removed])
    if features.shape[1] == 0:
        raise BoostTuneError("No feature columns are left once the target and drop are removed.")
    kind = _task_kind(y_raw, task, target_name)
    numeric_classes = kind == "multiclass" and pd.api.types.is_numeric_dtype(y_raw)
    reason = integer_classes(target_name, y_raw.nunique()) if task is None and \
        numeric_classes else ""
    y, classes = _encode_target(y_raw, kind, target_name)
    scorer = get_metric(metric, kind)
    if scorer.name == "rmsle" and np.nanmin(y) < 0:
        raise BoostTuneError("Metric 'rmsle' needs a non-negative target; use 'rmse' instead.")
    if weight_values is not None:
        weight_values = _checked_weights(weight_values)
        _check_weighted_classes(y, classes, weight_values, target_name)
    encoder = FeatureEncoder.fit(features)
    X = encoder.transform(features, "training data")
    X_test, test_ids = _encode_test(test, encoder, removed, id_column)
    return Task(X, y, kind, scorer, encoder, target_name, classes, weight_values,
                None if group_values is None else np.asarray(group_values), X_test, test_ids,
                reason)


def as_frame(data: pd.DataFrame | np.ndarray, what: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        if data.columns.duplicated().any():
            dup = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
            raise BoostTuneError(f"The {what} data has duplicated column names {dup}; rename them.")
        return data.reset_index(drop=True).set_axis([str(c) for c in data.columns], axis=1)
    array = np.asarray(data)
    if array.ndim != 2:
        raise BoostTuneError(
            f"The {what} data must be a DataFrame or a 2-d array; got {array.ndim} dimension(s)."
        )
    return pd.DataFrame(array, columns=[f"f{i}" for i in range(array.shape[1])])


def _target_values(frame: pd.DataFrame, target: Any) -> tuple[pd.Series, str]:
    if isinstance(target, str):
        if target not in frame.columns:
            raise BoostTuneError(
                f"Target column {target!r} is not in the training data"
                f"{did_you_mean(target, frame.columns)}; its columns are "
                f"{list(map(str, frame.columns))[:30]}. Pass target=<column name> or an array."
            )
        return frame[target], target
    if target is None:
        raise BoostTuneError("target is required: a column name of train, or an array of labels.")
    values = pd.Series(np.asarray(target)) if not isinstance(target, pd.Series) else target
    if len(values) != len(frame):
        raise BoostTuneError(
            f"target has {len(values)} values but the training data has {len(frame)} rows."
        )
    return values.reset_index(drop=True), str(getattr(target, "name", None) or "target")


def _check_id_column(frame: pd.DataFrame, id_column: str, what: str) -> None:
    if id_column not in frame.columns:
        raise BoostTuneError(f"The id column {id_column!r} is not in the {what}"
                             f"{did_you_mean(id_column, frame.columns)}; its columns are "
                             f"{list(frame.columns)[:20]}.")


def _column_or_array(frame: pd.DataFrame, value: Any, what: str) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value not in frame.columns:
            raise BoostTuneError(f"{what}={value!r} is not a column of the training data.")
        return frame[value].to_numpy()
    array = np.asarray(value)
    if len(array) != len(frame):
        raise BoostTuneError(
            f"{what} has {len(array)} values but the training data has {len(frame)} rows."
        )
    return array


def _checked_weights(weights: np.ndarray) -> np.ndarray:
    w = pd.to_numeric(pd.Series(weights), errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise BoostTuneError("weights must be finite and non-negative numbers.")
    return w


def _check_weighted_classes(y: np.ndarray, classes: list | None, weights: np.ndarray,
                            name: str) -> None:
    if classes is None:
        return
    weighted = np.bincount(y.astype(np.int64), weights=weights, minlength=len(classes))
    if (weighted > 0).sum() < 2:
        raise BoostTuneError(
            f"Target {name!r} has one class only among the rows with positive weight; "
            "classification needs at least two weighted classes."
        )


def _task_kind(y: pd.Series, task: str | None, target_name: str) -> TaskKind:
    if task is not None:
        if task not in ("binary", "multiclass", "regression"):
            raise BoostTuneError(
                f"The 'task' parameter must be 'binary', 'multiclass' or 'regression'; got "
                f"{task!r} instead."
            )
        return task  # type: ignore[return-value]
    non_null = y.dropna()
    n_unique = non_null.nunique()
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if not numeric:
        return "binary" if n_unique <= 2 else "multiclass"
    values = non_null.to_numpy(dtype=np.float64)
    if n_unique <= 2:
        return "binary"
    integral = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if integral and n_unique <= MAX_INTEGER_CLASSES:
        warnings.warn(integer_classes(target_name, n_unique) + " task='multiclass' silences "
                      "this warning.", UserWarning, stacklevel=5)
        return "multiclass"
    return "regression"


def integer_classes(target_name: str, n_unique: int) -> str:
    """Why an integer target was read as classes, and how to say otherwise."""
    return (f"Target {target_name!r} holds {n_unique} distinct integers, so it is read as "
            f"{n_unique} classes (multiclass); pass task='regression' ([task] type = "
            "\"regression\" in a config) if it is a quantity.")


def _encode_target(y: pd.Series, kind: TaskKind, name: str) -> tuple[np.ndarray, list | None]:
    missing = y.isna().to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        raise BoostTuneError(
            f"Target {name!r} has {int(missing.sum())} missing value(s) (first rows {rows}); "
            "drop those rows or fill the target."
        )
    if kind == "regression":
        try:
            values = y.to_numpy(dtype=np.float64)
        except (ValueError, TypeError):
            raise BoostTuneError(
                f"Target {name!r} is not numeric, so it cannot be a regression target; "
                "pass task='binary' or 'multiclass', or convert it."
            ) from None
        if not np.all(np.isfinite(values)):
            rows = np.flatnonzero(~np.isfinite(values))[:5].tolist()
            raise BoostTuneError(
                f"Target {name!r} has infinite value(s) (first rows {rows}); drop or clip them."
            )
        return values, None
    if pd.api.types.is_numeric_dtype(y) and not np.all(np.isfinite(y.to_numpy(np.float64))):
        raise BoostTuneError(f"Target {name!r} has infinite value(s); drop those rows.")
    codes, uniques = pd.factorize(y, sort=True)
    classes = list(uniques)
    if len(classes) < 2:
        raise BoostTuneError(
            f"Target {name!r} has one class only ({classes[0]!r}); classification needs at "
            "least two."
        )
    if kind == "binary" and len(classes) > 2:
        raise BoostTuneError(
            f"task='binary' but target {name!r} has {len(classes)} classes; use 'multiclass'."
        )
    return codes.astype(np.float64), classes


def _encode_test(
    test: pd.DataFrame | np.ndarray | None,
    encoder: FeatureEncoder,
    removed: set[str],
    id_column: str | None,
) -> tuple[np.ndarray | None, pd.Series | None]:
    if test is None:
        return None, None
    frame = as_frame(test, "test")
    if id_column is not None:
        _check_id_column(frame, id_column, "test data")
    extra = [c for c in frame.columns if c not in encoder.columns and c not in removed]
    if extra:
        raise BoostTuneError(
            f"The test data has column(s) {extra} that training does not use; drop them or "
            "name them in drop=[...]."
        )
    ids = frame[id_column].reset_index(drop=True) if id_column else None
    return encoder.transform(frame, "test data"), ids
