"""Every file the CLI reads is named in its error with what it expected (issue 19): data files
a competition config names, and a run directory's manifest.json and params.json."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import boosttune as bt

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "competitions" / "breast_cancer.toml"
QUICK = ["--trials", "2", "--seeds", "1", "--quiet"]
CONFIG = """name = "files"
[data]
train = "train.csv"
target = "target"
[cv]
n_splits = 3
[search]
models = ["lightgbm"]
n_trials = 2
"""


def boosttune(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "boosttune", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=600)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    done = boosttune("run", DEFAULT, "--out", out, *QUICK)
    assert done.returncode == 0, done.stderr
    (run,) = out.iterdir()
    return run


def run_on(folder: Path, data: bytes) -> tuple[subprocess.CompletedProcess, Path]:
    """`boosttune run` on a config whose train.csv holds ``data``; and its --out folder."""
    (folder / "train.csv").write_bytes(data)
    (folder / "files.toml").write_text(CONFIG)
    out = folder / "runs"
    return boosttune("run", folder / "files.toml", "--out", out, *QUICK), out


def refused(done: subprocess.CompletedProcess, out: Path, folder: Path) -> str:
    """The error's first line, checked to name the data file, with no run directory left."""
    assert done.returncode == 2, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"boosttune: error: {folder / 'files.toml'}: data file "
                            f"{folder / 'train.csv'} "), first
    assert not out.exists() or not any(out.iterdir())
    return first


def copy_run(run: Path, runs: Path, name: str) -> Path:
    return Path(shutil.copytree(run, runs / name))


def test_a_gzip_file_named_csv_is_read_by_its_content(tmp_path, frame):
    done, out = run_on(tmp_path, gzip.compress(frame.to_csv(index=False).encode()))
    assert done.returncode == 0, done.stderr
    (run,) = out.iterdir()
    assert (run / "manifest.json").is_file() and "files · lightgbm: auc" in done.stdout


def test_a_parquet_file_named_csv_is_read_by_its_content(tmp_path, frame):
    frame.to_parquet(tmp_path / "data.parquet")
    done, out = run_on(tmp_path, (tmp_path / "data.parquet").read_bytes())
    assert done.returncode == 0, done.stderr
    assert len(list(out.glob("files-lightgbm-*/manifest.json"))) == 1


def test_a_zero_byte_csv_is_named_as_empty(tmp_path):
    done, out = run_on(tmp_path, b"")
    first = refused(done, out, tmp_path)
    assert "is empty (0 bytes); expected a CSV file with a header row" in first


def test_bytes_that_are_not_utf8_are_named_with_what_was_expected(tmp_path, frame):
    latin = frame.rename(columns={"mean radius": "rayon moyen (µm) é"})
    done, out = run_on(tmp_path, latin.to_csv(index=False).encode("latin-1"))
    first = refused(done, out, tmp_path)
    assert "could not be read as CSV ('utf-8' codec can't decode byte" in first
    assert "expected comma-separated UTF-8 text" in first and "Traceback" not in done.stderr


def test_binary_garbage_is_named_with_what_was_expected(tmp_path):
    garbage = bytes(range(256)) * 64
    done, out = run_on(tmp_path, garbage)
    first = refused(done, out, tmp_path)
    assert "could not be read as CSV (" in first and "UTF-8" in first


def test_a_repeated_header_name_is_refused_naming_the_column(tmp_path, frame):
    doubled = frame.rename(columns={"mean texture": "mean radius"})
    done, out = run_on(tmp_path, doubled.to_csv(index=False).encode())
    first = refused(done, out, tmp_path)
    assert "more than one column named ['mean radius']" in first and "rename" in first
    assert "mean radius.1" not in done.stderr


def test_a_corrupted_manifest_is_named_and_the_leaderboard_skips_that_run(tmp_path, good_run):
    runs = tmp_path / "runs"
    good = copy_run(good_run, runs, "good")
    broken = copy_run(good_run, runs, "broken")
    manifest = broken / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])  # cut short, as by an interrupted save
    shown = boosttune("show", broken)
    assert shown.returncode == 2
    first = shown.stderr.splitlines()[0]
    assert first.startswith(f"boosttune: error: {manifest} is not valid JSON (")
    assert re.search(r": line \d+, column \d+\)", first) and "interrupted save" in first
    board = boosttune("leaderboard", runs)
    assert board.returncode == 0, board.stderr
    assert [line.split()[-1] for line in board.stdout.splitlines()[1:]] == [good.name]
    assert board.stderr.splitlines()[0].startswith(
        f"boosttune: skipped broken: {manifest} is not valid JSON")


def test_a_corrupted_params_file_is_named(tmp_path, good_run):
    run = copy_run(good_run, tmp_path, "run")
    (run / "params.json").write_bytes(b"\x00\x01{not json")
    shown = boosttune("show", run)
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert shown.stderr.splitlines()[0].startswith(
        f"boosttune: error: {run / 'params.json'} is not valid JSON (")


def test_a_run_saved_from_python_is_listed_without_a_competition(tmp_path, good_run, frame):
    runs = tmp_path / "runs"
    copy_run(good_run, runs, "from-cli")
    result = bt.tune(frame, "target", n_trials=2, cv=3, progress=False,
                     fit=bt.Fit(max_rounds=50))
    result.save(runs / "from-python")
    board = boosttune("leaderboard", runs, "--format", "csv")
    assert board.returncode == 0 and board.stderr == ""
    listed = pd.read_csv(pd.io.common.StringIO(board.stdout))
    assert dict(zip(listed.run, listed.competition, strict=True)) == {
        "from-python": "-", "from-cli": "breast_cancer"}
    only = boosttune("leaderboard", runs, "--competition", "breast_cancer", "--format", "csv")
    assert pd.read_csv(pd.io.common.StringIO(only.stdout)).run.tolist() == ["from-cli"]
