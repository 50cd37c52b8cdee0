"""A backend registered from outside the package (sklearn's HistGradientBoosting, in
tests/hgb_backend.py) tunes end to end: search, early stopping, OOF, save/load, predict and
params.json, with no file of boosttune/ naming it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error
from threadpoolctl import threadpool_limits

import boosttune as bt
from boosttune.backends import backend_names, unregister_backend
from boosttune.backends.base import BudgetExhausted, Cut, FitSettings
from boosttune.core.folds import make_folds
from boosttune.core.task import make_task
from tests.hgb_backend import SPEC

MAX_ROUNDS = 100
RUN = {"n_trials": 4, "cv": 3, "seeds": 1, "progress": False,
       "fit": bt.Fit(max_rounds=MAX_ROUNDS, early_stopping_rounds=10, n_jobs=1),
       "search": bt.Search(portfolio=False)}


@pytest.fixture
def hgb() -> Iterator[str]:
    bt.register_backend(SPEC, replace=True)
    yield SPEC.name
    unregister_backend(SPEC.name)


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


def one_thread() -> threadpool_limits:
    """HistGradientBoosting on every core is many times slower on data this small."""
    return threadpool_limits(limits=1, user_api="openmp")


def per_fold(oof: pd.DataFrame, score) -> float:
    """The mean over folds of ``score(target, pred)``: how CVScore.oof_score is defined."""
    return float(np.mean([score(group["target"].to_numpy(), group["pred"].to_numpy())
                          for _, group in oof.groupby("fold")]))


def assert_early_stopped(result: bt.TuneResult) -> None:
    rounds = result.score.table["n_rounds"]
    assert (rounds >= 1).all() and (rounds <= MAX_ROUNDS).all()
    assert (rounds < MAX_ROUNDS).any(), rounds.tolist()
    trial_rounds = [t.user_attrs["n_rounds"] for t in result.study.trials
                    if "n_rounds" in t.user_attrs]
    assert trial_rounds and min(trial_rounds) < MAX_ROUNDS


def test_hgb_tunes_binary_end_to_end(hgb: str, cancer: pd.DataFrame, tmp_path: Path) -> None:
    result = bt.tune(cancer, "target", model=hgb, **RUN)
    assert result.model == "sklearn_hgb"
    assert result.score.metric == "auc"
    assert set(result.best_params) == set(SPEC.presets["default"].dimensions)

    oof = result.oof
    assert len(oof) == len(cancer) and not oof["pred"].isna().any()
    assert oof["pred"].between(0, 1).all()
    assert np.array_equal(oof["target"].to_numpy().astype(int), cancer["target"].to_numpy())
    oof = oof.assign(target=oof["target"].astype(int))
    recomputed = per_fold(oof, roc_auc_score)
    assert recomputed == pytest.approx(result.score.oof_score, abs=1e-9)
    assert recomputed > 0.95  # a working model, not a constant
    assert_early_stopped(result)

    folder = result.save(tmp_path / "run")
    loaded = bt.TuneResult.load(folder)
    assert loaded.model == "sklearn_hgb"
    assert loaded.best_params == result.best_params
    assert loaded.score.mean == pytest.approx(result.score.mean)
    assert loaded.params == result.params

    pred = result.predict(cancer.drop(columns="target"))
    assert pred.shape == (len(cancer),)
    assert np.isfinite(pred).all() and ((pred >= 0) & (pred <= 1)).all()
    assert roc_auc_score(cancer["target"], pred) > 0.95

    params = json.loads((folder / "params.json").read_text())
    assert params["max_iter"] >= 1 and params["early_stopping"] is False
    X, y = cancer.drop(columns="target").to_numpy(), cancer["target"].to_numpy()
    with one_thread():
        model = HistGradientBoostingClassifier(**params).fit(X, y)
        assert model.n_iter_ == params["max_iter"]
        assert roc_auc_score(y, model.predict_proba(X)[:, 1]) > 0.95


def test_hgb_tunes_regression_with_blend(hgb: str, diabetes: pd.DataFrame,
                                         tmp_path: Path) -> None:
    # refit='blend' also fits on all rows (Backend._train_all) next to the fold models
    result = bt.tune(diabetes, "target", model=hgb, finalize=bt.Finalize(refit="blend"), **RUN)
    assert result.score.metric == "rmse"
    oof = result.oof
    assert not oof["pred"].isna().any()
    recomputed = per_fold(oof, root_mean_squared_error)
    assert recomputed == pytest.approx(result.score.oof_score, rel=1e-9)
    assert recomputed < diabetes["target"].std()  # beats predicting the mean
    assert_early_stopped(result)

    X, y = diabetes.drop(columns="target"), diabetes["target"].to_numpy()
    pred = result.predict(X)
    assert pred.shape == (len(diabetes),) and np.isfinite(pred).all()
    assert root_mean_squared_error(y, pred) < y.std()

    folder = result.save(tmp_path / "run")
    loaded = bt.TuneResult.load(folder)
    assert loaded.best_params == result.best_params
    assert loaded.score.mean == pytest.approx(result.score.mean)
    params = json.loads((folder / "params.json").read_text())
    with one_thread():
        model = HistGradientBoostingRegressor(**params).fit(X.to_numpy(), y)
    assert model.n_iter_ == params["max_iter"]


def test_hgb_multiclass_predicts_class_probabilities(hgb: str) -> None:
    iris = load_iris(as_frame=True).frame
    result = bt.tune(iris, "target", model=hgb, **{**RUN, "n_trials": 2})
    columns = [c for c in result.oof.columns if c.startswith("pred_")]
    assert len(columns) == 3
    proba = result.oof[columns].to_numpy()
    assert np.allclose(proba.sum(axis=1), 1.0)
    codes = result.class_codes(result.oof["target"])
    recomputed = np.mean([log_loss(codes[rows], proba[rows], labels=[0, 1, 2])
                          for rows in result.oof.groupby("fold").indices.values()])
    assert recomputed == pytest.approx(result.score.oof_score, rel=1e-9)
    assert result.predict(iris.drop(columns="target")).shape == (len(iris), 3)


def test_hgb_stop_raises_budget_exhausted(cancer: pd.DataFrame) -> None:
    task = make_task(cancer, "target")
    folds = make_folds(task, 3, seed=0)
    backend = SPEC.build(task, folds, FitSettings(max_rounds=20, early_stopping_rounds=5), {})
    with pytest.raises(BudgetExhausted):
        backend.fit_fold({"learning_rate": 0.1}, 0, seed=0, stop=Cut(lambda: True))
    fit = backend.fit_fold({"learning_rate": 0.1}, 0, seed=0)
    assert 1 <= fit.n_rounds <= 20 and len(fit.curves["valid"]) >= fit.n_rounds
    assert fit.valid_pred.shape == (len(folds.splits[0][1]),)


def test_unknown_model_error_lists_registered_backend(hgb: str, cancer: pd.DataFrame) -> None:
    assert hgb in backend_names()
    with pytest.raises(bt.BoostTuneError, match="sklearn_hgb") as raised:
        bt.tune(cancer, "target", model="no_such_model", **RUN)
    assert "lightgbm" in str(raised.value) and "no_such_model" in str(raised.value)


def test_unregistered_backend_is_gone(cancer: pd.DataFrame) -> None:
    bt.register_backend(SPEC, replace=True)
    unregister_backend(SPEC.name)
    assert SPEC.name not in backend_names()
    with pytest.raises(bt.BoostTuneError, match="sklearn_hgb"):
        bt.tune(cancer, "target", model=SPEC.name, **RUN)


def test_registering_a_name_twice_needs_replace(hgb: str) -> None:
    with pytest.raises(bt.BoostTuneError, match="replace=True"):
        bt.register_backend(SPEC)
    assert bt.register_backend(SPEC, replace=True) is SPEC
    assert backend_names().count(hgb) == 1
