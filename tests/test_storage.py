"""Studies in Optuna RDB storage: resume, refusal of other data or folds, kill -9, and two
workers on one study in a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

import boosttune as bt
from boosttune.core.errors import BoostTuneError
from boosttune.core.manifest import Manifest
from boosttune.search.storage import PARAMS_KEY, SURPLUS_KEY, WORKER_KEY
from tests.conftest import FAST

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "competitions" / "breast_cancer.toml"
EXPORTS = ("params.json", "oof.parquet", "test_pred.parquet", "folds.parquet", "scores.csv",
           "trials.csv", "manifest.json", "submission.csv")


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


def _run_cli(*extra: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "boosttune", "run", str(CONFIG), "--models",
                           "lightgbm", "--quiet", "--threads", "1", "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


def test_calling_again_resumes_and_finished_trials_count(breast_cancer: pd.DataFrame,
                                                         tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    options = {**FAST, "storage": db, "study_name": "bc"}
    first = bt.tune(breast_cancer, "target", **{**options, "n_trials": 3})
    # finished ones: a head-start trial the first session had no turn for waits for the next
    kept = {t.number: t.value for t in first.study.trials if t.state.is_finished()}
    assert len(kept) == 3
    second = bt.tune(breast_cancer, "target", **{**options, "n_trials": 5})
    trials = _trials(f"sqlite:///{db}", "bc")
    assert len(trials) == 5 and second.manifest.search["n_trials"] == 5
    assert {t.number: t.value for t in trials[:3]} == kept  # the first session's trials stay
    assert all(PARAMS_KEY in t.user_attrs and WORKER_KEY in t.user_attrs for t in trials)
    again = bt.tune(breast_cancer, "target", **{**options, "n_trials": 5})  # nothing left
    assert len(_trials(f"sqlite:///{db}", "bc")) == 5
    assert again.manifest.search["best_trial"] == second.manifest.search["best_trial"]


def test_other_data_or_folds_are_refused_by_name(breast_cancer: pd.DataFrame,
                                                 tmp_path: Path) -> None:
    options = {**FAST, "n_trials": 1, "storage": tmp_path / "s.db", "study_name": "bc"}
    bt.tune(breast_cancer, "target", **options)
    with pytest.raises(BoostTuneError, match="started on other data_sha256"):
        bt.tune(breast_cancer.iloc[10:], "target", **options)
    with pytest.raises(BoostTuneError, match="started on other folds_sha256"):
        bt.tune(breast_cancer, "target", **{**options, "cv": 4})
    with pytest.raises(BoostTuneError, match="new study name"):
        bt.tune(breast_cancer, "target", **{**options, "preset": "fast"})


def test_unreachable_storage_is_a_clear_error_without_the_password(
        breast_cancer: pd.DataFrame) -> None:
    url = "postgresql+psycopg2://user:s3cret@127.0.0.1:9/none"
    with pytest.raises(BoostTuneError, match="Cannot open the study storage") as caught:
        bt.tune(breast_cancer, "target", storage=url, **FAST)
    assert "s3cret" not in str(caught.value) and "user:***@" in str(caught.value)


def test_work_needs_a_storage(breast_cancer: pd.DataFrame) -> None:
    with pytest.raises(BoostTuneError, match="work\\(\\) needs storage="):
        bt.work(breast_cancer, "target", **FAST)


OPEN_AT = """
import sys, time
from boosttune.search.storage import open_storage
while time.time() < float(sys.argv[2]):
    pass
open_storage(sys.argv[1])
"""


def test_processes_opening_one_fresh_storage_at_once_all_open_it(tmp_path: Path) -> None:
    # each creates Optuna's schema; unretried, 7 of 10 such starts had one fail on a table or
    # the schema version row the other had just made (seen in a full run as a kill -9 test
    # failure: the test's poll and the run opened the new study.db together)
    for attempt in range(3):
        db, start = tmp_path / f"fresh{attempt}.db", time.time() + 2.0
        openers = [subprocess.Popen([sys.executable, "-c", OPEN_AT, str(db), str(start)],
                                    cwd=ROOT, stderr=subprocess.PIPE, text=True)
                   for _ in range(4)]
        errors = [opener.communicate(timeout=120)[1] for opener in openers]
        assert all(opener.returncode == 0 for opener in openers), errors
    assert optuna.get_all_study_summaries(f"sqlite:///{db}") == []  # a usable, empty schema


def test_kill_9_mid_study_resumes_losing_at_most_the_trial_in_flight(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        [sys.executable, "-m", "boosttune", "run", str(CONFIG), "--models", "lightgbm",
         "--quiet", "--threads", "1", "--trials", "30", "--seeds", "1", "--out", str(runs)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(tmp_path / "stderr").open("w"))
    url, done_before = "", []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        dbs = list(runs.glob("*/study.db"))
        if dbs:
            url = f"sqlite:///{dbs[0]}"
            try:
                done_before = [t for t in _trials(url, "breast_cancer-lightgbm")
                               if t.state == TrialState.COMPLETE]
            except (KeyError, optuna.exceptions.StorageInternalError, SQLAlchemyError):
                done_before = []  # the study (or the file's schema) is being created
            if len(done_before) >= 4:
                break
        time.sleep(0.2)
    assert process.poll() is None, ("the run ended before it could be killed: "
                                    + (tmp_path / "stderr").read_text()[-2000:])
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    run_dir = next(runs.glob("breast_cancer-lightgbm-*"))
    assert not any((run_dir / name).exists() for name in EXPORTS)  # nothing half-written
    kept = {t.number: t.value for t in _trials(url, "breast_cancer-lightgbm")
            if t.state == TrialState.COMPLETE}

    resumed = _run_cli("--trials", "30", "--seeds", "1", out=runs)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {run_dir}" in resumed.stderr
    trials = _trials(url, "breast_cancer-lightgbm")
    counted = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(counted) == 30 and len(failed) <= 1
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert {n: v for n, v in ((t.number, t.value) for t in trials) if n in kept} == kept
    assert len({t.user_attrs[WORKER_KEY]["pid"] for t in counted}) == 2  # before and after
    manifest = Manifest.from_dict(json.loads((run_dir / "manifest.json").read_text()))
    assert manifest.search["n_complete"] + manifest.search["n_pruned"] == 30


def test_a_trial_begun_past_n_trials_by_a_racing_worker_trains_nothing(
        breast_cancer: pd.DataFrame) -> None:
    from boosttune.config import build_config
    from boosttune.pipeline.prepare import prepare
    from boosttune.search.budget import Budget
    from boosttune.search.objective import Objective, SurplusTrial, run_search

    prepared = prepare(breast_cancer, "target", None, build_config(**FAST), 0.0)
    objective = Objective(prepared.backend, prepared.space, 0, Budget(None, 0.0))
    study = optuna.create_study(direction="maximize")
    run_search(study, objective, 2, progress=False)
    assert objective.n_run == 2
    # two workers each see one trial left of 3 and begin one at the same moment
    first, second = study.ask(), study.ask()
    with pytest.raises(SurplusTrial, match="holds its 3 trials"):
        objective.n_trials = 3
        objective(second)
    assert second.user_attrs[SURPLUS_KEY] and objective.n_run == 2  # trained nothing
    assert np.isfinite(objective(first)) and objective.n_run == 3


def test_two_workers_share_one_postgresql_study(postgres_url: str, tmp_path: Path) -> None:
    # 30 trials, as the SQLite test: with 12 the main process ran them all before the helper
    # worker had started on a busy machine (seen once in a full run)
    ran = _run_cli("--trials", "30", "--seeds", "1", "--workers", "2", "--storage",
                   postgres_url, "--study", "pg-two", out=tmp_path / "runs")
    assert ran.returncode == 0, ran.stderr
    assert "this worker ran" in ran.stdout
    study_trials = _trials(postgres_url, "pg-two-lightgbm")
    # both workers may begin a trial when one is left: the later one ends untrained
    surplus = [t for t in study_trials if t.user_attrs.get(SURPLUS_KEY)]
    assert all(t.state == TrialState.FAIL and not t.params for t in surplus)
    trials = [t for t in study_trials if t not in surplus]
    assert sorted(t.number for t in trials) == list(range(30))  # none lost, none duplicated
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    pids = {t.user_attrs[WORKER_KEY]["pid"] for t in trials}
    assert len(pids) == 2
    proposals = [json.dumps(t.params, sort_keys=True) for t in trials]
    assert len(set(proposals)) == len(proposals)  # workers do not propose the same trials
    best = max((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    manifest_path = next((tmp_path / "runs").glob("*/manifest.json"))
    manifest = Manifest.from_dict(json.loads(manifest_path.read_text()))
    assert manifest.search["best_trial"] == best.number
    assert manifest.search["n_trials"] == 30
    assert manifest.resolved["storage"].startswith("postgresql+psycopg2://postgres")


def test_a_worker_with_other_data_is_refused_by_postgresql_study(
        postgres_url: str, breast_cancer: pd.DataFrame) -> None:
    options = {**FAST, "n_trials": 1, "storage": postgres_url, "study_name": "pg-refuse"}
    bt.tune(breast_cancer, "target", **options)
    with pytest.raises(BoostTuneError, match="started on other data_sha256"):
        bt.work(breast_cancer.iloc[:400], "target", **options)
