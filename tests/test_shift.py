"""The train/test shift check (adversarial validation) on real data with real LightGBM."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from boosttune.pipeline.shift import SHIFT_AUC, ShiftCheck, check_shift, threshold

SUMMARY_KEYS = {"auc", "shifted", "threshold", "features", "n_train", "n_test", "seconds"}


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, list[str]]:
    frame = load_breast_cancer(as_frame=True).data  # 569 rows, 30 numeric features
    return frame.to_numpy(dtype=np.float64), [str(c) for c in frame.columns]


def random_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return order[n // 5:], order[: n // 5]


def sorted_split(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(values, kind="stable")
    n_test = len(values) // 5
    return order[:-n_test], order[-n_test:]


def check(X: np.ndarray, columns: list[str], train: np.ndarray, test: np.ndarray,
          categorical: list[int] | None = None, seed: int = 0) -> ShiftCheck:
    result = check_shift(X[train], X[test], columns, categorical or [], seed=seed, threads=1)
    assert result is not None
    return result


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_split_is_not_flagged(cancer: tuple[np.ndarray, list[str]], seed: int) -> None:
    X, columns = cancer
    result = check(X, columns, *random_split(len(X), seed), seed=seed)
    assert 0.4 < result.auc < SHIFT_AUC
    assert not result.shifted
    assert result.warning() is None
    assert (result.n_train, result.n_test) == (len(X) - len(X) // 5, len(X) // 5)


@pytest.mark.parametrize("column", ["mean smoothness", "worst concave points"])
def test_sorted_split_is_flagged_and_names_the_column(cancer: tuple[np.ndarray, list[str]],
                                                      column: str) -> None:
    X, columns = cancer
    result = check(X, columns, *sorted_split(X[:, columns.index(column)]))
    assert result.auc > 0.95 and result.shifted
    assert result.threshold == threshold(result.n_train, result.n_test) >= SHIFT_AUC
    assert result.features[0][0] == column
    assert result.features[0][1] > 0.5
    shares = [share for _, share in result.features]
    assert len(shares) <= 5 and shares == sorted(shares, reverse=True) and sum(shares) <= 1 + 1e-9
    message = result.warning()
    assert message is not None and "\n" not in message
    assert repr(column) in message and f"AUC {result.auc:.2f}" in message


def test_shift_in_a_categorical_column_is_found(cancer: tuple[np.ndarray, list[str]]) -> None:
    """A 'source' code that is 0-2 on train rows and 3 on most test rows, passed as categorical."""
    X, columns = cancer
    rng = np.random.default_rng(0)
    train, test = random_split(len(X), 0)
    source = rng.integers(0, 3, size=len(X)).astype(np.float64)
    source[test[: int(len(test) * 0.8)]] = 3.0
    source[rng.choice(len(X), size=20, replace=False)] = np.nan  # missing codes are fine
    X_source = np.column_stack([X, source])
    result = check(X_source, [*columns, "source"], train, test, categorical=[X.shape[1]])
    assert result.shifted
    assert result.features[0][0] == "source"


def test_same_seed_same_result_and_quiet(cancer: tuple[np.ndarray, list[str]],
                                         capfd: pytest.CaptureFixture[str]) -> None:
    X, columns = cancer
    split = sorted_split(X[:, 0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = check(X, columns, *split), check(X, columns, *split)
    assert first.auc == second.auc and first.features == second.features
    assert caught == []
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_each_side_is_subsampled_to_max_rows(cancer: tuple[np.ndarray, list[str]]) -> None:
    X, columns = cancer
    train, test = random_split(len(X), 0)
    result = check_shift(X[train], X[test], columns, [], seed=0, threads=1, max_rows=100)
    assert result is not None
    assert (result.n_train, result.n_test) == (100, 100)


def test_too_few_rows_or_too_little_time_gives_none(cancer: tuple[np.ndarray, list[str]]) -> None:
    X, columns = cancer
    assert check_shift(X[:300], X[300:319], columns, [], seed=0, threads=1) is None
    assert check_shift(X[:19], X[300:], columns, [], seed=0, threads=1) is None
    assert check_shift(X[:300], X[300:], columns, [], seed=0, threads=1, seconds=0.5) is None
    assert check_shift(X[:300], X[300:320], columns, [], seed=0, threads=1,
                       seconds=5.0) is not None


def test_summary_is_json_safe(cancer: tuple[np.ndarray, list[str]]) -> None:
    X, columns = cancer
    result = check(X, columns, *sorted_split(X[:, 0]))
    summary = json.loads(json.dumps(result.summary()))
    assert set(summary) == SUMMARY_KEYS
    assert summary["shifted"] is True and summary["threshold"] >= SHIFT_AUC
    assert summary["auc"] == pytest.approx(result.auc)
    assert summary["features"][0] == {"feature": result.features[0][0],
                                      "gain_share": pytest.approx(result.features[0][1])}
    assert isinstance(summary["n_train"], int) and isinstance(summary["seconds"], float)


def test_the_threshold_rises_on_small_data_only():
    """Four standard deviations of a no-shift AUC above 0.5: 240 vs 60 rows need 0.67; from
    a few thousand rows on, SHIFT_AUC holds."""
    assert threshold(240, 60) == pytest.approx(0.5 + 4 * np.sqrt(301 / (12 * 240 * 60)))
    assert threshold(240, 60) > 0.66
    assert threshold(16_000, 4_000) == SHIFT_AUC
