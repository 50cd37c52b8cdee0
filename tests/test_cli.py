"""The boosttune command, driven through a real subprocess."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from boosttune.core.manifest import Manifest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "competitions" / "breast_cancer.toml"
QUICK = ["--trials", "3", "--seeds", "1", "--quiet"]


def boosttune(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "boosttune", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    for model in ("lightgbm", "xgboost"):
        done = boosttune("run", DEFAULT, "--models", model, "--out", out, *QUICK)
        assert done.returncode == 0, done.stderr
    return out


def test_run_on_the_embedded_default_writes_a_full_run_directory(runs):
    run_dirs = sorted(runs.iterdir())
    assert [d.name.split("-")[1] for d in run_dirs] == ["lightgbm", "xgboost"]
    files = {p.name for p in run_dirs[0].iterdir()}
    assert {"params.json", "oof.parquet", "test_pred.parquet", "submission.csv",
            "manifest.json"} <= files
    submission = pd.read_csv(run_dirs[0] / "submission.csv")
    assert list(submission.columns) == ["id", "target"]
    assert submission["target"].between(0, 1).all() and len(submission) == 114
    manifest = Manifest.from_dict(json.loads((run_dirs[0] / "manifest.json").read_text()))
    assert manifest.competition == "breast_cancer" and manifest.holdout_score > 0.9
    assert manifest.score["delivered"]["n_test"] == 114
    assert not manifest.evaluation["shift"]["shifted"]  # a random split of the same data


def test_leaderboard_in_every_format(runs):
    table = boosttune("leaderboard", runs)
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["competition", "model", "preset", "metric"]
    assert len(lines) == 3 and "±" in lines[1]
    rows = json.loads(boosttune("leaderboard", runs, "--format", "json").stdout)
    assert [r["cv_mean"] for r in rows] == sorted((r["cv_mean"] for r in rows), reverse=True)
    for row in rows:  # the delivered predictor's estimate beside the CV score, for 114 rows
        low, high = row["prediction_interval"]
        assert 0 <= low < row["delivered_est"] < high <= 1
    assert "delivered_est" in lines[0] and "prediction_interval" in lines[0]
    csv = boosttune("leaderboard", runs, "--format", "csv").stdout
    assert csv.splitlines()[0].startswith("competition,model,preset,metric,cv_mean,cv_std")
    markdown = boosttune("leaderboard", runs, "--format", "markdown").stdout.splitlines()
    assert markdown[0].startswith("| competition | model |") and markdown[1].startswith("|---")
    none = boosttune("leaderboard", runs, "--competition", "titanic")
    assert none.returncode == 0 and "no runs" in none.stdout


def test_show_and_export(runs):
    lightgbm_run = sorted(runs.iterdir())[0]
    shown = boosttune("show", lightgbm_run)
    assert shown.returncode == 0 and "score: auc" in shown.stdout and "n_estimators" in shown.stdout
    code = boosttune("export", lightgbm_run, "--format", "lightgbm").stdout
    namespace: dict = {}
    exec(code, namespace)  # the printed snippet is valid Python that builds the estimator
    assert type(namespace["model"]).__name__ == "LGBMClassifier"
    as_json = json.loads(boosttune("export", lightgbm_run).stdout)
    assert as_json == json.loads((lightgbm_run / "params.json").read_text())
    wrong = boosttune("export", lightgbm_run, "--format", "xgboost")
    assert wrong.returncode == 2 and "was tuned with lightgbm" in wrong.stderr


def test_presets_and_help():
    printed = boosttune("presets", "--model", "xgboost")
    assert printed.returncode == 0 and "search space 'xgboost/fast'" in printed.stdout
    for command in ("run", "leaderboard", "presets", "show", "export"):
        helped = boosttune(command, "--help")
        assert helped.returncode == 0 and "usage: boosttune " + command in helped.stdout


BAD_CONFIGS = [
    ("unknown key", 'name = "x"\n[data]\ntrain = "sklearn:iris"\ntarget = "target"\ntraget = 1\n',
     r"\[data\] unknown key 'traget'"),
    ("wrong type", 'name = "x"\nseeds = "three"\n[data]\ntrain = "sklearn:iris"\n'
     'target = "target"\n', r"key 'seeds' must be int; got 'three'"),
    ("missing file", 'name = "x"\n[data]\ntrain = "nope.csv"\ntarget = "y"\n',
     r"data file .*nope.csv does not exist"),
    ("bad metric", 'name = "x"\n[data]\ntrain = "sklearn:iris"\ntarget = "target"\n'
     '[task]\nmetric = "auroc"\n', r"Unknown metric 'auroc'"),
    ("missing target", 'name = "x"\n[data]\ntrain = "sklearn:iris"\n',
     r"\[data\] key 'target' is required"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_exits_2_with_a_clear_message(tmp_path, case, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    done = boosttune("run", config, "--out", tmp_path / "runs", *QUICK)
    assert done.returncode == 2
    assert re.search(message, done.stderr), done.stderr
    assert str(config) in done.stderr
    assert not (tmp_path / "runs").exists()


def test_usage_error_exits_2_with_the_commands_usage():
    done = boosttune("run")
    assert done.returncode == 2 and "usage: boosttune run" in done.stderr


def test_ctrl_c_keeps_the_finished_trials(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "boosttune", "run", str(DEFAULT), "--trials", "10000",
         "--seeds", "1", "--out", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    progress, deadline = "", time.monotonic() + 300
    started = re.compile(r"\b([4-9]|\d{2,})/10000")
    while time.monotonic() < deadline and not started.search(progress):
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            progress += os.read(proc.stderr.fileno(), 65536).decode(errors="replace")
    assert started.search(progress), f"no 4 trials within 300 s: {progress[-500:]}"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()
    manifest = Manifest.from_dict(json.loads(next(tmp_path.glob("*/manifest.json")).read_text()))
    assert manifest.search["interrupted"] is True, (progress + stderr.decode())[-2000:]
    # the bar counts every finished trial, pruned ones too (more are pruned on a busy machine)
    finished = sum(manifest.search[k] for k in ("n_complete", "n_pruned", "n_failed"))
    assert manifest.search["n_complete"] >= 1 and 4 <= finished < 10000
    assert "keeping the finished trials" in (progress + stderr.decode())
