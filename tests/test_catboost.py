"""The optional CatBoost backend, trained for real: native categoricals, early stopping,
exported params, multi-model ensembles, and the message where the package is missing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import boosttune as bt
from boosttune.backends.base import BudgetExhausted, Cut
from boosttune.config import build_config
from boosttune.pipeline.prepare import prepare
from tests.conftest import FAST, ROOT

catboost = pytest.importorskip("catboost", reason='catboost is not installed: '
                               'pip install -e ".[test]" installs it')


def test_binary_with_string_categoricals_and_nan(adult):
    result = bt.tune(adult, "class", model="catboost", metric="auc", **FAST)
    assert result.score.mean > 0.85 and result.manifest.model == "catboost"
    assert 1 <= result.score.table["n_rounds"].min() < 300  # early stopping stopped it
    assert "workclass" in result.params["cat_features"]
    X = adult.drop(columns="class")
    X[result.params["cat_features"]] = X[result.params["cat_features"]].fillna("missing")
    model = catboost.CatBoostClassifier(**result.params, allow_writing_files=False).fit(
        X, adult["class"])
    assert model.predict_proba(X).shape == (len(X), 2)  # params.json loads into the estimator


def test_multiclass_and_regression(iris, diabetes):
    multiclass = bt.tune(iris, "target", model="catboost", **FAST)
    assert multiclass.predict(iris.drop(columns="target")).shape == (len(iris), 3)
    assert multiclass.score.metric == "multi_logloss" and multiclass.score.mean < 0.4
    regression = bt.tune(diabetes, "target", model="catboost", **FAST)
    assert regression.score.metric == "rmse" and regression.score.mean < 70


def test_an_ensemble_with_catboost(breast_cancer):
    result = bt.tune(breast_cancer, "target", model=["lightgbm", "catboost"],
                     **{**FAST, "n_trials": 4})
    assert list(result.by_model) == ["lightgbm", "catboost"]
    assert sum(m["weight"] for m in result.members) == pytest.approx(1.0)
    prediction = result.predict(breast_cancer.drop(columns="target"))
    assert prediction.shape == (len(breast_cancer),) and np.all((prediction >= 0) &
                                                                (prediction <= 1))


def test_a_missing_catboost_says_how_to_install_it():
    hide = ("import sys; sys.modules['catboost'] = None; import boosttune as bt, pandas as pd; "
            "bt.tune(pd.DataFrame({'x': range(20), 'y': [0, 1] * 10}), 'y', model='catboost')")
    done = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode != 0
    assert ("The model 'catboost' needs its library, which is not installed: "
            'pip install "boosttune[catboost]"') in done.stderr


def test_a_fit_stops_when_the_budget_is_spent(breast_cancer):
    prepared = prepare(breast_cancer, "target", None, build_config(model="catboost"), 0.0)
    with pytest.raises(BudgetExhausted):
        prepared.backend.fit_fold({}, 0, 0, stop=Cut(lambda: True))
    fit = prepared.backend.fit_fold({"learning_rate": 0.3}, 0, 0, stop=Cut(lambda: False))
    assert fit.n_rounds >= 1 and fit.valid_pred.shape == (len(prepared.folds.splits[0][1]),)
