"""BoostTuneClassifier and BoostTuneRegressor: sklearn's own checks and real pipelines."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from boosttune.sklearn import BoostTuneClassifier, BoostTuneRegressor

# The portfolio's first trial is LightGBM's defaults, whose min_child_samples=20 counts rows:
# on the checks' 15-row data, weights then differ from repeated rows (LightGBM's own
# estimators fail check_sample_weight_equivalence the same way). The checks run on the
# searched trials instead; test_portfolio_* cover the portfolio.
TINY = {"n_trials": 2, "cv": 3, "max_rounds": 60, "n_jobs": 1, "portfolio": False}

@parametrize_with_checks([BoostTuneClassifier(**TINY), BoostTuneRegressor(**TINY)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _adult_split(adult):
    X, y = adult.drop(columns="class"), adult["class"]
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def test_pipeline_with_column_transformer_keeps_categories_native(adult):
    X_train, X_test, y_train, y_test = _adult_split(adult)
    text = [c for c in X_train.columns if X_train[c].dtype != "int64"]
    numbers = [c for c in X_train.columns if c not in text]
    prep = ColumnTransformer([("num", SimpleImputer(), numbers), ("cat", "passthrough", text)],
                             verbose_feature_names_out=False).set_output(transform="pandas")
    pipe = Pipeline([("prep", prep), ("model", BoostTuneClassifier(**TINY))]).fit(X_train,
                                                                                  y_train)
    model = pipe.named_steps["model"]
    assert set(model.result_.manifest.categories) == set(text)
    assert list(model.classes_) == ["<=50K", ">50K"]
    proba = pipe.predict_proba(X_test)
    assert roc_auc_score(y_test == ">50K", proba[:, 1]) > 0.85
    assert set(pipe.predict(X_test)) <= set(model.classes_)


def test_pickle_round_trip_predicts_the_same(adult):
    X_train, X_test, y_train, _ = _adult_split(adult)
    model = BoostTuneClassifier(**TINY).fit(X_train, y_train)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X_test), model.predict_proba(X_test))
    assert again.best_params_ == model.best_params_


def test_cross_val_score_with_group_folds(diamonds):
    X, y = diamonds.drop(columns="price"), diamonds["price"]
    scores = cross_val_score(BoostTuneRegressor(**TINY), X, y, groups=diamonds["clarity"],
                             cv=GroupKFold(3))
    assert len(scores) == 3 and (scores > 0.8).all()


def test_grid_search_over_presets(breast_cancer):
    X, y = breast_cancer.drop(columns="target"), breast_cancer["target"]
    search = GridSearchCV(BoostTuneClassifier(**TINY), {"preset": ["fast", "default"]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["preset"] in {"fast", "default"}
    assert search.best_score_ > 0.9


def test_refit_folds_full_and_blend(adult):
    X_train, X_test, y_train, y_test = _adult_split(adult)
    options = {"folds": {"refit": "folds"}, "full": {"refit": "full"},
               "blend": {},  # LightGBM's default
               "xgboost": {"model": "xgboost"}}  # whose default keeps the fold models only
    fitted = {name: BoostTuneClassifier(**TINY, seeds=2, **option).fit(X_train, y_train)
              for name, option in options.items()}
    counts = {name: (len(m.result_.ensemble.members), len(m.result_.ensemble.full_members))
              for name, m in fitted.items()}
    assert counts == {"folds": (6, 0), "full": (0, 2), "blend": (6, 2), "xgboost": (6, 0)}
    rounds = fitted["full"].result_.manifest.resolved["refit_rounds"]
    assert rounds > fitted["full"].result_.score.table["n_rounds"].mean()  # scaled up
    proba = {name: m.predict_proba(X_test)[:, 1] for name, m in fitted.items()}
    # the same seeded search in all three: the blend is the two others' mean, half and half
    np.testing.assert_allclose(proba["blend"], (proba["folds"] + proba["full"]) / 2, atol=1e-12)
    auc = {name: roc_auc_score(y_test == ">50K", p) for name, p in proba.items()}
    assert abs(auc["folds"] - auc["full"]) < 0.03 and min(auc.values()) > 0.85


def test_learned_attributes(iris):
    X, y = iris.drop(columns="target"), iris["target"].map({0: "a", 1: "b", 2: "c"})
    model = BoostTuneClassifier(**{**TINY, "n_trials": 3}).fit(X, y)
    assert list(model.classes_) == ["a", "b", "c"]
    assert model.n_features_in_ == 4 and list(model.feature_names_in_) == list(X.columns)
    assert model.oof_pred_.shape == (150, 3)
    results = model.cv_results_
    assert len(results["params"]) == 3 and len(results["mean_test_score"]) == 3
    assert {"split0_test_score", "rank_test_score", "std_test_score"} <= set(results)
    assert results["rank_test_score"].min() == 1
    assert model.best_score_ == pytest.approx(model.result_.score.mean)
    assert model.study_ is model.result_.study


def test_not_fitted_and_sklearn_style_errors(breast_cancer):
    X, y = breast_cancer.drop(columns="target"), breast_cancer["target"]
    with pytest.raises(NotFittedError):
        BoostTuneClassifier().predict(X)
    with pytest.raises(InvalidParameterError, match="The 'preset' parameter of "
                       r"BoostTuneClassifier must be one of \['fast', 'default', 'wide'\]"):
        BoostTuneClassifier(preset="huge").fit(X, y)
    assert clone(BoostTuneRegressor(n_trials=7)).get_params()["n_trials"] == 7
    assert repr(BoostTuneClassifier(n_trials=7, model="xgboost")) == (
        "BoostTuneClassifier(model='xgboost', n_trials=7)")


def test_category_columns_encoded_at_predict_as_at_fit(diamonds):
    frame = diamonds.astype({"cut": "category", "color": "category", "clarity": "category"})
    X, y = frame.drop(columns="price"), frame["price"]
    model = BoostTuneRegressor(**TINY).fit(X.iloc[:1000], y.iloc[:1000])
    shuffled = X.iloc[1000:].copy()
    shuffled["cut"] = shuffled["cut"].cat.reorder_categories(
        list(reversed(shuffled["cut"].cat.categories)))
    np.testing.assert_allclose(model.predict(shuffled), model.predict(X.iloc[1000:]))
    assert isinstance(model.predict(pd.DataFrame(X.iloc[1000:])), np.ndarray)
