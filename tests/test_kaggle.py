"""A Kaggle notebook's world: data under /kaggle/input, output under /kaggle/working (a fake
root here, as the CLI finds it through $BOOSTTUNE_KAGGLE_ROOT), and clean output: progress as
plain lines in logs, no Optuna lines on save and load, an HTML view of a result."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import boosttune as bt
from boosttune.competition import data_dir, load_competition, runs_dir
from tests.conftest import FAST

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """name = "playground"
[data]
train = "train.csv"
test = "test.csv"
target = "target"
id = "id"
[search]
models = ["lightgbm"]
[submission]
columns = ["id", "target"]
"""


def _kaggle(tmp_path: Path) -> tuple[Path, Path]:
    """A fake /kaggle with the competition's files in the newer layout, and its config in a
    folder of its own (as a config attached from a dataset would be)."""
    frame = load_breast_cancer(as_frame=True).frame.rename_axis("id").reset_index()
    data = tmp_path / "kaggle" / "input" / "competitions" / "playground"
    data.mkdir(parents=True)
    frame.iloc[:450].to_csv(data / "train.csv", index=False)
    frame.iloc[450:].drop(columns="target").to_csv(data / "test.csv", index=False)
    (tmp_path / "kaggle" / "working").mkdir()
    config = tmp_path / "configs" / "playground.toml"
    config.parent.mkdir()
    config.write_text(CONFIG)
    return tmp_path / "kaggle", config


def _run(kaggle: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BOOSTTUNE_KAGGLE_ROOT": str(kaggle), "PYTHONPATH": str(ROOT)}
    env.pop("BOOSTTUNE_DATA_DIR", None)
    return subprocess.run([sys.executable, "-m", "boosttune", "run", *map(str, args),
                           "--trials", "2", "--seeds", "1", "--quiet"], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


def test_on_kaggle_the_cli_reads_kaggle_input_and_writes_kaggle_working(tmp_path):
    kaggle, config = _kaggle(tmp_path)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    done = _run(kaggle, config, cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    (run,) = (kaggle / "working" / "runs").iterdir()
    submission = pd.read_csv(run / "submission.csv")
    assert list(submission["id"]) == list(range(450, 569))
    assert not (elsewhere / "runs").exists()
    # both overridable: --data-dir (which a missing file then names), and --out
    done = _run(kaggle, config, "--data-dir", tmp_path, "--out", tmp_path / "mine",
                cwd=elsewhere)
    assert done.returncode == 2 and f"{tmp_path / 'train.csv'} does not exist" in done.stderr



def test_runs_go_under_kaggle_working_unless_out_says_otherwise(tmp_path, monkeypatch):
    kaggle, _ = _kaggle(tmp_path)
    monkeypatch.setenv("BOOSTTUNE_KAGGLE_ROOT", str(kaggle))
    assert runs_dir(None) == kaggle / "working" / "runs"
    assert runs_dir(tmp_path / "mine") == tmp_path / "mine"  # --out, as test_cli's runs pass
    (kaggle / "working").rmdir()
    assert runs_dir(None) == Path("runs")  # not on Kaggle: runs/ here


def test_a_training_file_in_a_subfolder_is_found_under_its_competitions_folder(tmp_path,
                                                                               monkeypatch):
    kaggle, config = _kaggle(tmp_path)
    monkeypatch.setenv("BOOSTTUNE_KAGGLE_ROOT", str(kaggle))
    monkeypatch.delenv("BOOSTTUNE_DATA_DIR", raising=False)
    slug = kaggle / "input" / "competitions" / "playground"
    (slug / "data").mkdir()
    (slug / "train.csv").rename(slug / "data" / "train.csv")
    config.write_text(CONFIG.replace('"train.csv"', '"data/train.csv"'))
    assert data_dir(None, load_competition(config)) == slug


def test_two_kaggle_inputs_holding_the_training_file_are_refused_by_name(tmp_path,
                                                                         monkeypatch):
    kaggle, config = _kaggle(tmp_path)
    monkeypatch.setenv("BOOSTTUNE_KAGGLE_ROOT", str(kaggle))
    monkeypatch.delenv("BOOSTTUNE_DATA_DIR", raising=False)
    other = kaggle / "input" / "datasets" / "someone" / "extra"
    other.mkdir(parents=True)
    (other / "train.csv").write_text("a,b\n1,2\n")
    comp = load_competition(config)
    # the one named as the competition wins
    assert data_dir(None, comp) == kaggle / "input" / "competitions" / "playground"
    (kaggle / "input" / "competitions" / "playground").rename(kaggle / "input" / "pg")
    with pytest.raises(bt.BoostTuneError, match=r"2 folders under .* pass --data-dir"):
        data_dir(None, comp)
    assert data_dir(tmp_path, comp) == tmp_path  # --data-dir decides


def test_outside_a_terminal_progress_is_plain_lines(breast_cancer, capsys):
    bt.tune(breast_cancer, "target", **{**FAST, "progress": True})
    err = capsys.readouterr().err
    assert "\r" not in err
    assert f"boosttune lightgbm: {FAST['n_trials']}/{FAST['n_trials']} trials; best " in err


def test_save_and_load_print_no_optuna_lines(breast_cancer, tmp_path, caplog):
    result = bt.tune(breast_cancer, "target", **FAST)
    optuna.logging.enable_propagation()
    try:
        with caplog.at_level(logging.INFO):
            loaded = bt.TuneResult.load(result.save(tmp_path / "run"))
    finally:
        optuna.logging.disable_propagation()
    assert loaded.study is not None
    assert not [r for r in caplog.records if r.name.startswith("optuna")]
    assert optuna.logging.get_verbosity() == optuna.logging.INFO  # put back as it was


def test_a_result_and_a_fitted_estimator_show_as_html(breast_cancer):
    result = bt.tune(breast_cancer, "target", **FAST)
    page = result._repr_html_()
    assert "<table>" in page and "delivered predictor est." in page
    assert f"{result.manifest.n_complete} complete" in page and "result.report()" in page
    X, y = breast_cancer.drop(columns="target"), breast_cancer["target"]
    estimator = bt.BoostTuneClassifier(n_trials=2, cv=3, max_rounds=200)
    assert "delivered predictor" not in estimator._repr_mimebundle_()["text/html"]
    estimator.fit(X, y)
    assert "delivered predictor est." in estimator._repr_mimebundle_()["text/html"]


@pytest.fixture(autouse=True)
def _optuna_info_level():
    """These tests read Optuna's level; others may have left it lower."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    yield
    optuna.logging.set_verbosity(level)
