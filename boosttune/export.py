"""Run directory: write and read the files of a TuneResult.

params.json · oof.parquet · test_pred.parquet · folds.parquet · scores.csv · trials.csv ·
curves.parquet · study.db · manifest.json. Each file is written to a temporary name and
renamed into place, and manifest.json is written last: a directory with a manifest is a
complete run.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from boosttune.cv import Folds
from boosttune.errors import BoostTuneError
from boosttune.evaluate import CVScore
from boosttune.nested import NestedReport
from boosttune.result import TuneResult

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; exports are ordinary files
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=_plain, ensure_ascii=False) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _write_text(path: Path, text: str) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    write_atomic(path, write)


def _write_parquet(path: Path, frame: pd.DataFrame) -> None:
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def save_run(result: TuneResult, path: Path) -> Path:
    _write_text(path / "params.json", to_json(result.params))
    _write_parquet(path / "oof.parquet", result.oof)
    if result.test_pred is not None:
        _write_parquet(path / "test_pred.parquet", result.test_pred)
    n_rows = len(result.oof)
    _write_parquet(path / "folds.parquet", result.folds.to_frame(n_rows))
    _write_csv(path / "scores.csv", result.score.table)
    _write_csv(path / "trials.csv", _flat_trials(result.trials))
    if result.selection is not None:
        _write_csv(path / "selection.csv", result.selection)
    if result.nested is not None:
        _write_csv(path / "nested.csv", result.nested.table)
    if result.curves is not None:
        _write_parquet(path / "curves.parquet", result.curves)
    if result.study is not None and not (path / "study.db").exists():
        _copy_study(result.study, path / "study.db")
    _write_text(path / "manifest.json", to_json(result.manifest))
    return path


def _copy_study(study: optuna.Study, target: Path) -> None:
    """A SQLite copy of the study (for the report and optuna-dashboard), renamed into place."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    # Optuna's Study has no public handle on its storage; copy_study needs it for in-memory ones
    optuna.copy_study(from_study_name=study.study_name, from_storage=study._storage,
                      to_storage=f"sqlite:///{partial.resolve()}")
    os.replace(partial, target)


def load_study(path: Path, manifest: dict[str, Any]) -> optuna.Study | None:
    """The run's study from its study.db, if the directory has one."""
    if not (path / "study.db").exists():
        return None
    url = f"sqlite:///{(path / 'study.db').resolve()}"
    name = manifest.get("config", {}).get("study_name")
    if name is None:
        name = optuna.get_all_study_names(storage=url)[0]
    return optuna.load_study(study_name=name, storage=url)


def _flat_trials(trials: pd.DataFrame) -> pd.DataFrame:
    # list- and dict-valued cells (fold scores, params) become JSON text: the CSV reads back
    return trials.apply(
        lambda col: col.map(lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
    )


def load_run(path: Path) -> TuneResult:
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        raise BoostTuneError(
            f"{path} is not a complete run directory (no manifest.json); was the run killed?"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    summary = manifest["score"]
    score = CVScore(summary["metric"], summary["direction"], summary["mean"], summary["std"],
                    summary["per_seed"], pd.read_csv(path / "scores.csv"), summary["oof_score"],
                    summary["std_error"], tuple(summary["interval_95"]))
    test_path = path / "test_pred.parquet"
    cv = manifest["cv"]
    evaluation = manifest.get("evaluation", {})
    nested = None
    if (path / "nested.csv").exists():
        summary_n = evaluation["nested"]
        nested = NestedReport(summary_n["metric"], summary["direction"],
                              pd.read_csv(path / "nested.csv"), summary_n["outer_std_error"],
                              tuple(summary_n["outer_interval_95"]))
    return TuneResult(
        model=manifest["model"],
        best_params=manifest["best_params"],
        params=json.loads((path / "params.json").read_text(encoding="utf-8")),
        score=score,
        oof=pd.read_parquet(path / "oof.parquet"),
        test_pred=pd.read_parquet(test_path) if test_path.exists() else None,
        trials=pd.read_csv(path / "trials.csv"),
        folds=Folds.from_frame(pd.read_parquet(path / "folds.parquet"), cv["scheme"], cv["seed"]),
        manifest=manifest,
        evaluation=evaluation,
        selection=_read_csv_if(path / "selection.csv"),
        nested=nested,
        curves=_read_parquet_if(path / "curves.parquet"),
        study=load_study(path, manifest),
    )


def _read_parquet_if(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None


def _read_csv_if(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.exists() else None
