"""Shared fixtures: small real subsets of ../shared/datasets (or $BOOSTTUNE_DATA_DIR) and
sklearn's bundled sets. A test that needs a shared file skips, saying why, where it is absent."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("BOOSTTUNE_DATA_DIR", ROOT.parent / "shared" / "datasets"))

# Small budgets keep the default test run short; the models and data are real.
FAST = {"n_trials": 4, "cv": 3, "max_rounds": 300, "early_stopping_rounds": 20,
        "progress": False, "n_jobs": 2}


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
