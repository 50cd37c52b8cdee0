"""Folds: made once per run from a scheme and a seed, shared by every trial, model and seed.

``cv`` may be an int (number of folds), an sklearn splitter, or a list of (train, valid) index
pairs; ``scheme`` picks how an int is split: kfold, stratified (default for classification),
group, stratified_group, time (ordered by the groups values, or row order), predefined (the
groups values are fold ids; rows with a missing or negative id are never validated).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import model_selection as ms

from boosttune.core.errors import BoostTuneError, did_you_mean
from boosttune.core.task import Task

SCHEMES = ("kfold", "stratified", "group", "stratified_group", "time", "predefined")
NEEDS_GROUPS = ("group", "stratified_group", "predefined", "time")


@dataclass
class Folds:
    """Train and validation row indices per fold."""

    splits: list[tuple[np.ndarray, np.ndarray]]
    scheme: str
    seed: int

    @property
    def n_splits(self) -> int:
        return len(self.splits)

    @property
    def n_rows(self) -> int:
        return int(max(max(t.max(), v.max()) for t, v in self.splits)) + 1

    def fold_of_row(self, n_rows: int | None = None) -> np.ndarray:
        """The validation fold of each row; -1 for rows no fold validates."""
        fold = np.full(n_rows or self.n_rows, -1, dtype=np.int64)
        for k, (_, valid) in enumerate(self.splits):
            fold[valid] = k
        return fold

    def digest(self) -> str:
        """SHA-256 of every fold's train and validation rows: same folds, same digest."""
        digest = hashlib.sha256()
        for train, valid in self.splits:
            for rows in (train, valid):
                digest.update(np.asarray(rows, dtype=np.int64).tobytes() + b"|")
        return digest.hexdigest()

    def to_frame(self, n_rows: int) -> pd.DataFrame:
        """One row per data row: its validation fold and, per fold, whether it trains it."""
        frame = pd.DataFrame({"row": np.arange(n_rows), "fold": self.fold_of_row(n_rows)})
        for k, (train, _) in enumerate(self.splits):
            member = np.zeros(n_rows, dtype=bool)
            member[train] = True
            frame[f"train_{k}"] = member
        return frame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, scheme: str, seed: int) -> Folds:
        fold = frame["fold"].to_numpy()
        n_splits = sum(c.startswith("train_") for c in frame.columns)
        splits = [
            (np.flatnonzero(frame[f"train_{k}"].to_numpy()), np.flatnonzero(fold == k))
            for k in range(n_splits)
        ]
        return cls(splits, scheme, seed)


def make_folds(task: Task, cv: Any = 5, scheme: str | None = None, seed: int = 0) -> Folds:
    """Build the run's folds; bad combinations raise a :class:`BoostTuneError`."""
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        scheme = _resolve_scheme(task, scheme)
        splits = _split_by_scheme(task, int(cv), scheme, seed)
    elif hasattr(cv, "split"):
        scheme = type(cv).__name__
        splits = list(cv.split(task.X, task.y, task.groups))
    elif isinstance(cv, Sequence) and not isinstance(cv, str):
        scheme = "given"
        splits = list(cv)
    else:
        raise BoostTuneError(
            "The 'cv' parameter must be an int, an sklearn splitter or a list of "
            f"(train_idx, valid_idx) pairs; got {cv!r} instead."
        )
    return Folds(_checked_splits(splits, task.n_rows), scheme, seed)


def _resolve_scheme(task: Task, scheme: str | None) -> str:
    if scheme is None:
        if task.groups is not None:
            return "group"
        return "kfold" if task.kind == "regression" else "stratified"
    if scheme not in SCHEMES:
        raise BoostTuneError(f"The cv scheme must be one of {list(SCHEMES)}; got {scheme!r} "
                             f"instead{did_you_mean(scheme, SCHEMES)}.")
    if scheme in NEEDS_GROUPS and task.groups is None:
        what = {"time": "the time order (a date or time-step column)",
                "predefined": "each row's fold id"}.get(scheme, "the groups")
        raise BoostTuneError(
            f"The cv scheme {scheme!r} needs {what}: pass bt.CV(scheme={scheme!r}, "
            "groups=<column name or array>) ([cv] column in a config)."
            + (" For rows already in time order, groups=numpy.arange(len(train))."
               if scheme == "time" else "")
        )
    if scheme in ("stratified", "stratified_group") and task.kind == "regression":
        raise BoostTuneError(
            f"The cv scheme {scheme!r} stratifies by class and the task is regression; use "
            "'kfold'."
        )
    return scheme


def _split_by_scheme(task: Task, n_splits: int, scheme: str, seed: int) -> list:
    if scheme == "predefined":
        return _predefined(task.groups)
    if n_splits < 2:
        raise BoostTuneError(f"cv must be at least 2 folds; got {n_splits}.")
    if task.n_rows < n_splits:
        raise BoostTuneError(
            f"cv={n_splits} folds need at least {n_splits} rows; the data has {task.n_rows}."
        )
    if scheme in ("stratified", "stratified_group"):
        _check_class_counts(task, n_splits)
    if scheme in ("group", "stratified_group"):
        n_groups = len(pd.unique(pd.Series(task.groups)))
        if n_groups < n_splits:
            raise BoostTuneError(
                f"cv={n_splits} group folds need at least {n_splits} groups; found {n_groups}."
            )
    splitter: Any
    if scheme == "kfold":
        splitter = ms.KFold(n_splits, shuffle=True, random_state=seed)
    elif scheme == "stratified":
        splitter = ms.StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    elif scheme == "group":
        splitter = ms.GroupKFold(n_splits, shuffle=True, random_state=seed)
    elif scheme == "stratified_group":
        splitter = ms.StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)
    else:
        return _time_splits(task, n_splits)
    return list(splitter.split(task.X, task.y, task.groups))


def _time_splits(task: Task, n_splits: int) -> list:
    order = np.arange(task.n_rows)
    if task.groups is not None:
        order = np.argsort(pd.Series(task.groups).to_numpy(), kind="stable")
    return [
        (np.sort(order[train]), np.sort(order[valid]))
        for train, valid in ms.TimeSeriesSplit(n_splits).split(order)
    ]


def _predefined(fold_ids: np.ndarray | None) -> list:
    ids = pd.Series(fold_ids)
    usable = ids.notna() & (pd.to_numeric(ids, errors="coerce").fillna(0) >= 0)
    labels = sorted(ids[usable].unique())
    if len(labels) < 2:
        raise BoostTuneError("The cv scheme 'predefined' needs at least two distinct fold ids.")
    rows = np.arange(len(ids))
    return [(rows[(ids != k).to_numpy()], rows[(ids == k).to_numpy()]) for k in labels]


def _check_class_counts(task: Task, n_splits: int) -> None:
    classes = task.classes or []
    counts = np.bincount(task.y.astype(np.int64), minlength=len(classes))
    small = [(classes[i], int(c)) for i, c in enumerate(counts) if c < n_splits]
    if small:
        raise BoostTuneError(
            f"Stratified cv with {n_splits} folds needs at least {n_splits} rows of each class; "
            f"class(es) {small} have fewer. Use fewer folds, bt.CV(scheme='kfold'), or drop or "
            "merge the rare classes." + (f" {task.kind_reason}" if task.kind_reason else "")
        )


def _checked_splits(splits: list, n_rows: int) -> list[tuple[np.ndarray, np.ndarray]]:
    checked = []
    for k, (train, valid) in enumerate(splits):
        train_idx, valid_idx = np.asarray(train, dtype=np.int64), np.asarray(valid, dtype=np.int64)
        if len(train_idx) == 0 or len(valid_idx) == 0:
            raise BoostTuneError(f"Fold {k} has an empty training or validation part.")
        if max(train_idx.max(), valid_idx.max()) >= n_rows or min(train_idx.min(),
                                                                  valid_idx.min()) < 0:
            raise BoostTuneError(f"Fold {k} holds row indices outside 0..{n_rows - 1}.")
        checked.append((train_idx, valid_idx))
    if not checked:
        raise BoostTuneError("cv produced no folds.")
    return checked


def split_rows(rows: np.ndarray, labels: np.ndarray | None, seed: int, *,
               train_size: float | None = None, test_size: float | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` split in two as ``train_test_split`` sizes them, each part sorted, stratified
    by ``labels[rows]`` where given (plainly where a class is too rare to stratify)."""
    sizes = {"train_size": train_size, "test_size": test_size, "random_state": seed}
    try:
        kept, rest = ms.train_test_split(rows, stratify=None if labels is None
                                         else labels[rows], **sizes)
    except ValueError:
        kept, rest = ms.train_test_split(rows, **sizes)
    return np.sort(kept), np.sort(rest)
