"""Every config and flag mistake is refused before any model trains, through the real command:
exit 2, a message naming the file or the flag and the fix, and no run directory left behind."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

import boosttune as bt
from boosttune.core.manifest import Manifest
from tests.test_cli import DEFAULT, QUICK, boosttune

BASE = 'name = "bc"\n[data]\ntrain = "train.csv"\ntest = "test.csv"\ntarget = "target"\n'


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """train.csv with an Id column and test.csv without the target: a Kaggle layout."""
    path = tmp_path_factory.mktemp("competition")
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.insert(0, "Id", np.arange(1000, 1000 + len(frame)))
    frame.iloc[:400].to_csv(path / "train.csv", index=False)
    frame.iloc[400:].drop(columns="target").to_csv(path / "test.csv", index=False)
    return path


def refused(folder: Path, text: str, *flags: str) -> str:
    """Run a config that must be refused; its stderr, after checking nothing was written."""
    config = folder / "case.toml"
    config.write_text(text)
    out = folder / "runs"
    shutil.rmtree(out, ignore_errors=True)
    done = boosttune("run", config, "--out", out, *QUICK, *flags)
    assert done.returncode == 2, done.stdout + done.stderr
    assert not out.exists(), "a refused run left a directory behind"
    assert "Traceback" not in done.stderr
    return done.stderr


def test_holdout_and_a_test_file_conflict(folder):
    stderr = refused(folder, BASE + "holdout = 0.2\n")
    assert "case.toml: [data] test and holdout both name the test rows" in stderr


def test_an_id_column_that_does_not_exist_is_named_with_the_closest(folder):
    stderr = refused(folder, BASE + 'id = "ID"\n')
    assert "[data] id 'ID' is not a column of the training data (did you mean 'Id'?)" in stderr


def test_an_id_column_missing_from_the_test_file(folder):
    (folder / "test_no_id.csv").write_text(
        pd.read_csv(folder / "test.csv").drop(columns="Id").to_csv(index=False))
    stderr = refused(folder, BASE.replace("test.csv", "test_no_id.csv") + 'id = "Id"\n')
    assert "[data] id 'Id' is not a column of the test data" in stderr


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--trials", "0", "--trials must be an integer of at least 1; got 0"),
    ("--timeout", "0", "--timeout must be a positive number of seconds; got 0.0"),
    ("--seeds", "0", "--seeds must be"),
    ("--threads", "0", "--threads must be an integer of at least 1; got 0"),
    ("--threads", "-2", "--threads must be an integer of at least 1; got -2"),
])
def test_a_bad_flag_value_is_named_by_its_flag(folder, flag, value, message):
    stderr = refused(folder, BASE, flag, value)
    assert message in stderr and "case.toml" not in stderr  # the flag, not the file, is wrong


def test_a_bad_config_value_is_named_by_its_key(folder):
    stderr = refused(folder, BASE + "[search]\nn_trials = 0\n")
    assert "case.toml: [search] n_trials must be an integer of at least 1; got 0" in stderr


def test_a_misspelt_model_flag_is_refused_before_training(folder):
    stderr = refused(folder, BASE, "--models", "lightgbm,xgboots")
    assert "--models names 'xgboots', which is not a model (did you mean 'xgboost'?)" in stderr


def test_a_misspelt_model_in_the_config_is_refused(folder):
    stderr = refused(folder, BASE + '[search]\nmodels = ["lightgbm", "xgboots"]\n')
    assert "[search] models names 'xgboots'" in stderr and "did you mean 'xgboost'" in stderr


def test_too_few_submission_columns_are_refused_before_training(folder):
    stderr = refused(folder, BASE + '[submission]\ncolumns = ["Id"]\n')
    assert "[submission] columns must name the id column and at least one" in stderr


def test_submission_columns_that_do_not_fit_the_classes(folder):
    frame = load_iris(as_frame=True).frame
    frame.iloc[::2].to_csv(folder / "iris_train.csv", index=False)
    frame.iloc[1::2].drop(columns="target").to_csv(folder / "iris_test.csv", index=False)
    text = BASE.replace("train.csv", "iris_train.csv").replace("test.csv", "iris_test.csv")
    stderr = refused(folder, text + '[submission]\ncolumns = ["id", "a", "b"]\n')
    assert "[submission] columns has 3 name(s)" in stderr and "or 4 (the id and one" in stderr


def test_a_time_scheme_without_its_column(folder):
    stderr = refused(folder, BASE + '[cv]\nscheme = "time"\n')
    assert "cv scheme 'time' needs the time order" in stderr and "[cv] column" in stderr


def test_a_misspelt_scheme_is_named_by_its_key(folder):
    stderr = refused(folder, BASE + '[cv]\nscheme = "stratifed"\n')
    assert "[cv] scheme must be one of" in stderr and "did you mean 'stratified'" in stderr


def test_log1p_of_a_negative_target(folder):
    frame = load_diabetes(as_frame=True).frame
    frame.assign(target=frame["target"] - 100).to_csv(folder / "negative.csv", index=False)
    text = ('name = "neg"\n[data]\ntrain = "negative.csv"\ntarget = "target"\n'
            'target_transform = "log1p"\n')
    stderr = refused(folder, text)
    assert "target_transform = 'log1p' needs a non-negative target" in stderr
    assert "negative value(s)" in stderr and "missing" not in stderr


def test_a_warm_start_run_that_does_not_exist(folder):
    stderr = refused(folder, BASE, "--warm-start", str(folder / "nope"))
    assert f"--warm-start {folder / 'nope'}: " in stderr and "no manifest.json" in stderr


def test_version_and_plain_help():
    version = boosttune("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"boosttune {bt.__version__}"
    top = boosttune("--help").stdout
    assert "``" not in top and top.startswith("usage: boosttune")
    run_help = re.sub(r"\s+", " ", boosttune("run", "--help").stdout)
    assert "A flag that is not given takes the config file's value" in run_help
    assert "([search] n_trials, else 50 without a timeout)" in run_help


def _interrupted_run(out: Path) -> Path:
    """A run whose process died before it saved: its study.db without a manifest."""
    done = boosttune("run", DEFAULT, "--out", out, "--trials", "2", "--seeds", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    path = next(out.iterdir())
    for name in ("manifest.json", "submission.csv"):
        (path / name).unlink()
    return path


def test_resuming_with_other_flags_is_refused_and_a_new_budget_is_said(tmp_path):
    path = _interrupted_run(tmp_path)
    other = boosttune("run", DEFAULT, "--out", tmp_path, "--trials", "2", "--seeds", "1",
                      "--quiet", "--preset", "fast")
    assert other.returncode == 2
    assert f"{path} is an unfinished run started with other options" in other.stderr
    assert "--preset unset → fast" in other.stderr and "--fresh" in other.stderr
    more = boosttune("run", DEFAULT, "--out", tmp_path, "--trials", "3", "--seeds", "1",
                     "--quiet")
    assert more.returncode == 0, more.stderr
    assert f"resuming {path} with a new budget (--trials 2 → 3)" in more.stderr
    manifest = Manifest.from_dict(json.loads((path / "manifest.json").read_text()))
    assert manifest.search["n_trials"] == 3 and len(list(tmp_path.iterdir())) == 1


def test_holdout_submission_ids_are_rows_of_the_training_file(tmp_path):
    done = boosttune("run", DEFAULT, "--out", tmp_path, *QUICK)
    assert done.returncode == 0, done.stderr
    path = next(tmp_path.iterdir())
    submission = pd.read_csv(path / "submission.csv")
    source = load_breast_cancer(as_frame=True).frame
    ids = submission["id"].to_numpy()
    assert len(set(ids)) == len(ids) == 114 and not (ids == np.arange(114)).all()
    assert ids.min() >= 0 and ids.max() < len(source)
    from sklearn.metrics import roc_auc_score  # the ids find the rows the holdout scored
    holdout = Manifest.from_dict(json.loads((path / "manifest.json").read_text())).holdout_score
    auc = roc_auc_score(source["target"].to_numpy()[ids], submission["target"])
    assert auc == pytest.approx(holdout, abs=1e-12)
