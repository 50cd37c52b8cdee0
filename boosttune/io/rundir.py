"""The run directory: the sole owner of its file names and of reading manifest.json.

params.json · oof.parquet · test_pred.parquet · folds.parquet · scores.csv · trials.csv ·
selection.csv · nested.csv · curves.parquet · study.db · manifest.json, and options.json
(what ``boosttune run`` was told). Every file is written atomically and manifest.json last: a
directory with a manifest is a complete run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from boosttune.core.errors import BoostTuneError
from boosttune.core.manifest import Manifest
from boosttune.io.atomic import to_json, write_csv, write_parquet, write_text

PARAMS, OOF, TEST_PRED, FOLDS = "params.json", "oof.parquet", "test_pred.parquet", "folds.parquet"
SCORES, TRIALS, SELECTION, NESTED = "scores.csv", "trials.csv", "selection.csv", "nested.csv"
CURVES, STUDY, MANIFEST = "curves.parquet", "study.db", "manifest.json"
ENSEMBLE = "ensemble.json"  # a multi-model run's members: backend, trial, params, weight, score
RUN_OPTIONS = "options.json"  # the CLI's options of a run, to resume it with the same ones


@dataclass
class RunFiles:
    """What a run directory holds, in memory."""

    params: dict[str, Any]
    oof: pd.DataFrame
    folds: pd.DataFrame
    scores: pd.DataFrame
    trials: pd.DataFrame
    manifest: Manifest
    test_pred: pd.DataFrame | None = None
    selection: pd.DataFrame | None = None
    nested: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    ensemble: list[dict[str, Any]] | None = None  # a multi-model run's members and weights


def write_run(path: Path, files: RunFiles, study: optuna.Study | None) -> Path:
    """Write every file, then the manifest, which records how long the export took."""
    started = time.perf_counter()
    write_text(path / PARAMS, to_json(files.params))
    write_parquet(path / OOF, files.oof)
    if files.test_pred is not None:
        write_parquet(path / TEST_PRED, files.test_pred)
    write_parquet(path / FOLDS, files.folds)
    write_csv(path / SCORES, files.scores)
    write_csv(path / TRIALS, _flat_trials(files.trials))
    for name, frame in ((SELECTION, files.selection), (NESTED, files.nested)):
        if frame is not None:
            write_csv(path / name, frame)
    if files.curves is not None:
        write_parquet(path / CURVES, files.curves)
    if files.ensemble is not None:
        write_text(path / ENSEMBLE, to_json({"members": files.ensemble}))
    if study is not None and not (path / STUDY).exists():
        _copy_study(study, path / STUDY)
    files.manifest.record_stage("export", time.perf_counter() - started)
    write_manifest(path, files.manifest)
    return path


def write_manifest(path: Path, manifest: Manifest) -> None:
    write_text(path / MANIFEST, to_json(manifest.to_dict()))


def read_manifest(path: Path) -> Manifest:
    """The manifest of the run directory ``path``; a clear error where it is missing or
    unreadable."""
    file = path / MANIFEST
    if not file.exists():
        raise BoostTuneError(
            f"{path} is not a finished run directory (no {MANIFEST}); was the run killed?")
    return Manifest.from_dict(_read_json(file), str(file))


def _read_json(file: Path) -> Any:
    """The JSON in ``file``; an error naming it where it is missing, cut short or garbled."""
    damaged = ("the run directory may be from an interrupted save or damaged: run it again or "
               "delete it.")
    if not file.is_file():
        raise BoostTuneError(f"{file} is missing; {damaged}")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BoostTuneError(f"{file} is not valid JSON ({exc.msg}: line {exc.lineno}, "
                             f"column {exc.colno}); {damaged}") from None
    except UnicodeDecodeError as exc:
        raise BoostTuneError(f"{file} is not valid JSON (not UTF-8 text: {exc.reason} at "
                             f"byte {exc.start}); {damaged}") from None


def read_run(path: Path) -> RunFiles:
    manifest = read_manifest(path)
    params = _read_json(path / PARAMS)
    if not isinstance(params, dict):
        raise BoostTuneError(f"{path / PARAMS}: expected a JSON object of params; got "
                             f"{type(params).__name__}.")
    return RunFiles(
        params=params,
        oof=pd.read_parquet(path / OOF),
        folds=pd.read_parquet(path / FOLDS),
        scores=pd.read_csv(path / SCORES),
        trials=pd.read_csv(path / TRIALS),
        manifest=manifest,
        test_pred=_read_if(path / TEST_PRED),
        selection=_read_if(path / SELECTION),
        nested=_read_if(path / NESTED),
        curves=_read_if(path / CURVES),
        ensemble=_read_json(path / ENSEMBLE)["members"] if (path / ENSEMBLE).exists() else None,
    )


def load_study(path: Path, manifest: Manifest) -> optuna.Study | None:
    """The run's study from its study.db, if the directory has one."""
    if not (path / STUDY).exists():
        return None
    url = f"sqlite:///{(path / STUDY).resolve()}"
    with quiet_optuna():
        name = manifest.study_name or optuna.get_all_study_names(storage=url)[0]
        return optuna.load_study(study_name=name, storage=url)


def _copy_study(study: optuna.Study, target: Path) -> None:
    """A SQLite copy of the study (for the report and optuna-dashboard), renamed into place."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    # Optuna's Study has no public handle on its storage; copy_study needs it for in-memory ones
    with quiet_optuna():  # no "A new study created in RDB" line in a notebook
        optuna.copy_study(from_study_name=study.study_name, from_storage=study._storage,
                          to_storage=f"sqlite:///{partial.resolve()}")
    os.replace(partial, target)


def _flat_trials(trials: pd.DataFrame) -> pd.DataFrame:
    # list- and dict-valued cells (fold scores, params) become JSON text: the CSV reads back
    return trials.apply(
        lambda col: col.map(lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
    )


def _read_if(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines (study created, trial finished) off for the block."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)
