"""Shared fixtures: small real subsets of ../shared/datasets (or $BOOSTTUNE_DATA_DIR) and
sklearn's bundled sets. A test that needs a shared file skips, saying why, where it is absent."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

import boosttune as bt
from boosttune.core import clock

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("BOOSTTUNE_DATA_DIR", ROOT.parent / "shared" / "datasets"))

# Small budgets keep the default test run short; the models and data are real.
FAST = {"n_trials": 4, "cv": 3, "progress": False,
        "fit": bt.Fit(max_rounds=300, early_stopping_rounds=20, n_jobs=2)}


CLOCK_STEP = 0.002  # seconds the run's clock moves on at each reading, under test_clock


@pytest.fixture
def test_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's clock (``core.clock.now``: budgets, fit times) moves on by CLOCK_STEP at each
    reading instead of with real time (it is read twice a boosting round where a trial can be
    cut, twice a fold otherwise), so a budget decides the same on a fast, slow or busy
    machine."""
    readings, origin = itertools.count(), time.perf_counter()
    monkeypatch.setattr(clock, "now", lambda: origin + CLOCK_STEP * next(readings))


@cache
def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / f"{name}.csv.gz")


def shared(name: str, rows: int, seed: int = 0) -> pd.DataFrame:
    """A seeded sample of ``rows`` rows of a shared dataset, or a skip if it is absent."""
    path = DATA_DIR / f"{name}.csv.gz"
    if not path.exists():
        pytest.skip(f"shared dataset {path} is absent (set BOOSTTUNE_DATA_DIR)")
    frame = _read(name)
    return frame.sample(n=min(rows, len(frame)), random_state=seed).reset_index(drop=True)


@pytest.fixture
def adult() -> pd.DataFrame:
    """Binary, 8 string categoricals with NaN ('?' in the source)."""
    return shared("adult", 1500).drop(columns=["split"])


@pytest.fixture
def diamonds() -> pd.DataFrame:
    return shared("diamonds", 1500)


@pytest.fixture
def breast_cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture
def iris() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


@pytest.fixture
def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


def _postgres_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on loopback for this test session; its URL for SQLAlchemy.

    Skips, saying why, where PostgreSQL is not installed (.ci/run installs Debian's package)."""
    initdb, pg_ctl = _postgres_binary("initdb"), _postgres_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL is not installed (initdb/pg_ctl not found)")
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed: pip install -e .[test]")
    data = Path(tempfile.mkdtemp(prefix="boosttune-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run([*as_user, initdb, "-D", str(data / "db"), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_user, pg_ctl, "-D", str(data / "db"), "-o", options, "-l",
                    str(data / "log"), "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data / "db"), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
