"""Competition configs: TOML files read with the standard library and checked against a schema.

Configs are data: nothing in them is executed. An unknown key or a wrong type is an error that
names the file, the key and what was expected. Data paths resolve against a data directory
(``--data-dir``, else $BOOSTTUNE_DATA_DIR, else the config's folder), so one config works on
Kaggle, on a laptop and in CI; ``sklearn:NAME`` names a dataset bundled with scikit-learn.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split

from boosttune.core.errors import BoostTuneError

DATA_DIR_ENV = "BOOSTTUNE_DATA_DIR"
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


def data_dir(cli_value: str | Path | None, comp: Competition) -> Path:
    if cli_value:
        return Path(cli_value)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    return comp.source.parent


def load_frames(comp: Competition, directory: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The competition's train frame and test frame (None where it has none)."""
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
    if comp.target not in train.columns:
        raise BoostTuneError(f"{comp.source}: [data] target {comp.target!r} is not a column of "
                             f"the training data; its columns are {list(train.columns)[:20]}.")
    return train.reset_index(drop=True), None if test is None else test.reset_index(drop=True)


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
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path)


def transform_target(comp: Competition, values: pd.Series) -> pd.Series:
    if comp.data.get("target_transform") == "log1p":
        return np.log1p(values)
    return values


def inverse_transform(comp: Competition, values: np.ndarray) -> np.ndarray:
    if comp.data.get("target_transform") == "log1p":
        return np.expm1(values)
    return values
