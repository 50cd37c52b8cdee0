"""Competition configs: TOML files read with the standard library and checked against a schema.

Configs are data: nothing in them is executed. An unknown key or a wrong type is an error that
names the file, the key and what was expected. Data paths resolve against a data directory
(``--data-dir``, else $BOOSTTUNE_DATA_DIR, else the config's folder, else on Kaggle the one
folder under /kaggle/input that holds the training file), so one config works on Kaggle, on a
laptop and in CI; ``sklearn:NAME`` names a dataset bundled with scikit-learn. On Kaggle, runs
go under /kaggle/working, the one writable folder.
"""

from __future__ import annotations

import gzip
import os
import tomllib
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split

from boosttune.backends import backend_names
from boosttune.core.errors import BoostTuneError, did_you_mean, first_line

DATA_DIR_ENV = "BOOSTTUNE_DATA_DIR"
KAGGLE_ROOT_ENV = "BOOSTTUNE_KAGGLE_ROOT"  # where /kaggle is (tests point it at a fake one)
# where Kaggle mounts a notebook's inputs: <slug>/, and in newer layouts competitions/<slug>/
# and datasets/<owner>/<slug>/
KAGGLE_LAYOUTS = ("*", "competitions/*", "datasets/*/*")
EMBEDDED = {"breast_cancer": sk_datasets.load_breast_cancer, "iris": sk_datasets.load_iris,
            "wine": sk_datasets.load_wine, "diabetes": sk_datasets.load_diabetes}
TRANSFORMS = ("log1p",)
OUTPUTS = ("probability", "label", "value")

_NUMBER = (int, float)
# section → key → accepted types; "" holds the top-level keys
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "": {"name": (str,), "seeds": (int,)},
    "data": {"train": (str,), "test": (str,), "target": (str,), "id": (str,), "drop": (list,),
             "target_transform": (str,), "split_column": (str,), "holdout": _NUMBER},
    "task": {"type": (str,), "metric": (str,)},
    "cv": {"scheme": (str,), "n_splits": (int,), "column": (str,), "seed": (int,)},
    "search": {"models": (list,), "preset": (str,), "n_trials": (int,), "timeout": _NUMBER,
               "sampler": (str,), "pruner": (str,), "lr_schedule": (str,)},
    "submission": {"columns": (list,), "output": (str,)},
}
REQUIRED = (("", "name"), ("data", "train"), ("data", "target"))
_MAGIC = {"gzip": b"\x1f\x8b", "zip": b"PK\x03\x04"}  # a data file's first bytes
# what pandas and pyarrow raise on a file that is not the CSV or parquet it seems to be
_UNREADABLE = (ValueError, EOFError, gzip.BadGzipFile, zipfile.BadZipFile, zlib.error,
               pa.ArrowException)


@dataclass
class Competition:
    """A checked competition config (see competitions/*.toml for examples)."""

    name: str
    source: Path
    data: dict[str, Any]
    task: dict[str, Any] = field(default_factory=dict)
    cv: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)
    submission: dict[str, Any] = field(default_factory=dict)
    seeds: int = 1

    @property
    def target(self) -> str:
        return str(self.data["target"])

    @property
    def models(self) -> list[str]:
        return list(self.search.get("models", ["lightgbm"]))


def load_competition(path: str | Path) -> Competition:
    source = Path(path)
    if not source.is_file():
        raise BoostTuneError(f"{source}: no such config file.")
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BoostTuneError(f"{source}: not valid TOML ({exc}).") from None
    _check_schema(source, raw)
    sections = {name: raw.get(name, {}) for name in SCHEMA if name}
    comp = Competition(raw["name"], source, seeds=raw.get("seeds", 1), **sections)
    _check_values(comp)
    return comp


def _check_schema(source: Path, raw: dict[str, Any]) -> None:
    for key, value in raw.items():
        if key in SCHEMA and key:
            if not isinstance(value, dict):
                raise BoostTuneError(f"{source}: [{key}] must be a table; got {value!r}.")
            _check_keys(source, key, value)
        elif key not in SCHEMA[""]:
            known = sorted([k for k in SCHEMA if k] + list(SCHEMA[""]))
            raise BoostTuneError(f"{source}: unknown key {key!r}; expected one of {known}.")
    _check_keys(source, "", {k: v for k, v in raw.items() if k in SCHEMA[""]})
    for section, key in REQUIRED:
        if key not in (raw.get(section, {}) if section else raw):
            where = f"[{section}] " if section else ""
            raise BoostTuneError(f"{source}: {where}key {key!r} is required.")


def _check_keys(source: Path, section: str, table: dict[str, Any]) -> None:
    where = f"[{section}] " if section else ""
    for key, value in table.items():
        if key not in SCHEMA[section]:
            raise BoostTuneError(f"{source}: {where}unknown key {key!r}; expected one of "
                                 f"{sorted(SCHEMA[section])}.")
        types = SCHEMA[section][key]
        if not isinstance(value, types) or isinstance(value, bool):
            expected = " or ".join(t.__name__ for t in types)
            raise BoostTuneError(f"{source}: {where}key {key!r} must be {expected}; got "
                                 f"{value!r} ({type(value).__name__}).")


def _check_values(comp: Competition) -> None:
    transform = comp.data.get("target_transform")
    if transform is not None and transform not in TRANSFORMS:
        raise BoostTuneError(f"{comp.source}: [data] target_transform must be one of "
                             f"{list(TRANSFORMS)}; got {transform!r}.")
    output = comp.submission.get("output", "probability")
    if output not in OUTPUTS:
        raise BoostTuneError(f"{comp.source}: [submission] output must be one of "
                             f"{list(OUTPUTS)}; got {output!r}.")
    holdout = comp.data.get("holdout")
    if holdout is not None and not 0 < holdout < 1:
        raise BoostTuneError(f"{comp.source}: [data] holdout must be between 0 and 1; got "
                             f"{holdout}.")
    given = [key for key in ("test", "holdout", "split_column") if key in comp.data]
    if len(given) > 1:
        raise BoostTuneError(f"{comp.source}: [data] {' and '.join(given)} both name the test "
                             "rows (a test file, a share of the training file held out, or a "
                             "column marking them); keep one.")
    _check_models(comp)
    columns = comp.submission.get("columns")
    if columns is not None and (len(columns) < 2 or not all(isinstance(c, str) and c
                                                            for c in columns)):
        raise BoostTuneError(f"{comp.source}: [submission] columns must name the id column "
                             f"and at least one prediction column; got {columns!r}.")


def _check_models(comp: Competition) -> None:
    models = comp.search.get("models")
    if models is None:
        return
    if not models or len(set(models)) != len(models):
        raise BoostTuneError(f"{comp.source}: [search] models must list distinct models of "
                             f"{backend_names()}; got {models!r}.")
    check_model_names(models, f"{comp.source}: [search] models")


def check_model_names(models: list[str], where: str) -> None:
    """Each name a registered backend; ``where`` names the flag or config key in the error."""
    names = backend_names()
    for model in models:
        if model not in names:
            raise BoostTuneError(f"{where} names {model!r}, which is not a model"
                                 f"{did_you_mean(model, names)}; choose from {names}.")


def check_submission(comp: Competition, n_classes: int) -> None:
    """The [submission] columns fit the task: the id and one prediction column, or the id and
    one column per class for multiclass probabilities."""
    columns = comp.submission.get("columns")
    if columns is None:
        return
    per_class = n_classes > 2 and comp.submission.get("output", "probability") == "probability"
    allowed = (2, n_classes + 1) if per_class else (2,)
    if len(columns) not in allowed:
        wanted = (f"2 (the id and the target; the class names head the class columns) or "
                  f"{n_classes + 1} (the id and one per class)") if per_class else (
                  "2: the id and the prediction")
        raise BoostTuneError(f"{comp.source}: [submission] columns has {len(columns)} "
                             f"name(s) {columns}; this task needs {wanted}.")


def data_dir(cli_value: str | Path | None, comp: Competition) -> Path:
    if cli_value:
        return Path(cli_value)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    train = comp.data["train"]
    local = comp.source.parent
    if (train.startswith("sklearn:") or Path(train).is_absolute() or (local / train).exists()
            or not (kaggle_root() / "input").is_dir()):
        return local
    return kaggle_input_dir(comp, train) or local


def kaggle_root() -> Path:
    return Path(os.environ.get(KAGGLE_ROOT_ENV) or "/kaggle")


def kaggle_input_dir(comp: Competition, train: str) -> Path | None:
    """The folder under /kaggle/input holding ``train`` (one named as the competition where
    several do); None where none does."""
    inputs = kaggle_root() / "input"
    depth = len(Path(train).parts)  # train = "data/train.csv": the slug is two levels up
    found = sorted({path.parents[depth - 1] for layout in KAGGLE_LAYOUTS
                    for path in inputs.glob(f"{layout}/{train}")})
    named = [folder for folder in found if folder.name == comp.name]
    if len(found) > 1 and len(named) != 1:
        raise BoostTuneError(
            f"{comp.source}: {len(found)} folders under {inputs} hold {train}: "
            f"{[str(f) for f in found]}; pass --data-dir to choose one.")
    return named[0] if named else (found[0] if found else None)


def runs_dir(cli_value: Path | None) -> Path:
    """``--out``, else runs/ under /kaggle/working on Kaggle (the one writable folder), else
    runs/ here."""
    if cli_value is not None:
        return cli_value
    working = kaggle_root() / "working"
    return working / "runs" if working.is_dir() else Path("runs")


def load_frames(comp: Competition, directory: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The competition's train frame and test frame (None where it has none). The test frame's
    index numbers its rows in the file they came from: a submission's ids without an id."""
    train = _read(comp, comp.data["train"], directory)
    test = _read(comp, comp.data["test"], directory) if "test" in comp.data else None
    split_column = comp.data.get("split_column")
    if split_column:
        if split_column not in train.columns:
            raise BoostTuneError(f"{comp.source}: [data] split_column {split_column!r} is not a "
                                 "column of the training data.")
        parts = train[split_column].astype(str)
        train, test = (train[parts == "train"].drop(columns=split_column),
                       train[parts == "test"].drop(columns=split_column))
    elif "holdout" in comp.data:
        train, test = train_test_split(train, test_size=comp.data["holdout"],
                                       random_state=comp.cv.get("seed", 0))
    _check_column(comp, train, "target", "training data")
    if "id" in comp.data:
        _check_column(comp, train, "id", "training data")
        if test is not None:
            _check_column(comp, test, "id", "test data")
    return train.reset_index(drop=True), test


def _check_column(comp: Competition, frame: pd.DataFrame, key: str, what: str) -> None:
    name = comp.data[key]
    if name not in frame.columns:
        raise BoostTuneError(f"{comp.source}: [data] {key} {name!r} is not a column of the "
                             f"{what}{did_you_mean(name, frame.columns)}; its columns are "
                             f"{list(frame.columns)[:20]}.")


def _read(comp: Competition, name: str, directory: Path) -> pd.DataFrame:
    if name.startswith("sklearn:"):
        loader = EMBEDDED.get(name.removeprefix("sklearn:"))
        if loader is None:
            raise BoostTuneError(f"{comp.source}: unknown embedded source {name!r}; choose "
                                 f"one of {['sklearn:' + k for k in EMBEDDED]}.")
        return loader(as_frame=True).frame
    path = Path(name) if Path(name).is_absolute() else directory / name
    if not path.exists():
        raise BoostTuneError(f"{comp.source}: data file {path} does not exist; pass "
                             f"--data-dir or set {DATA_DIR_ENV} to the folder that holds it.")
    return _read_file(f"{comp.source}: data file {path}", path)


def _read_file(where: str, path: Path) -> pd.DataFrame:
    """A CSV (plain, gzip or zip, told by its first bytes) or parquet file; ``where`` names it
    in the error for an empty or unreadable file or one that repeats a column name."""
    kind = _sniff(path)
    if kind == "empty":
        raise BoostTuneError(f"{where} is empty (0 bytes); expected a CSV file with a header row.")
    try:
        frame, names = _parse(path, kind)
    except _UNREADABLE as exc:
        what = {"parquet": "parquet", "gzip": "gzip-compressed CSV", "zip": "zipped CSV"}
        expected = ("a complete .parquet file" if kind == "parquet" else
                    "comma-separated UTF-8 text, optionally gzip-compressed, or a .parquet file")
        raise BoostTuneError(f"{where} could not be read as {what.get(kind, 'CSV')} "
                             f"({first_line(exc)}); expected {expected}.") from None
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BoostTuneError(f"{where} has more than one column named {repeated}; expected "
                             "each column name once: rename the repeated columns.")
    return frame


def _sniff(path: Path) -> str:
    """'empty', 'parquet', 'gzip', 'zip', or 'infer' (text, or compressed as the suffix says,
    e.g. .csv.bz2): by the file's first and last bytes, else by its suffix."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if len(head) == 4:
            handle.seek(-4, os.SEEK_END)  # a parquet file also ends with its magic bytes
            head += handle.read(4)
    if not head:
        return "empty"
    if head[:4] == head[4:] == b"PAR1" or path.suffix == ".parquet":
        return "parquet"
    return next((kind for kind, magic in _MAGIC.items() if head.startswith(magic)), "infer")


def _parse(path: Path, kind: str) -> tuple[pd.DataFrame, list[str]]:
    """The frame and its column names as the file spells them (pandas renames a repeated
    CSV header name: age, age.1)."""
    if kind == "parquet":
        frame = pd.read_parquet(path)
        return frame, [str(c) for c in frame.columns]
    header = pd.read_csv(path, compression=kind, header=None, nrows=1, dtype=str)
    names = [c for c in header.iloc[0] if isinstance(c, str)]  # NaN: a blank name
    return pd.read_csv(path, compression=kind), names


def transform_target(comp: Competition, values: pd.Series) -> pd.Series:
    if comp.data.get("target_transform") == "log1p":
        negative = np.flatnonzero(pd.to_numeric(values, errors="coerce") < 0)
        if negative.size:
            raise BoostTuneError(f"{comp.source}: [data] target_transform = 'log1p' needs a "
                                 f"non-negative target; {values.name!r} has {negative.size} "
                                 f"negative value(s) (first rows {negative[:5].tolist()}). "
                                 "Drop the transform, or those rows.")
        return np.log1p(values)
    return values


def inverse_transform(comp: Competition, values: np.ndarray) -> np.ndarray:
    if comp.data.get("target_transform") == "log1p":
        return np.expm1(values)
    return values
