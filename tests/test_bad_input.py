"""Bad values and data through tune() and the estimators: one clear BoostTuneError from the
one validation path (boosttune.config), raised before any model trains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError

import boosttune as bt
from boosttune.backends import backend_spec
from boosttune.core.diagnosis import diagnose
from boosttune.sklearn import BoostTuneClassifier, BoostTuneRegressor
from tests.conftest import FAST

BAD_OPTIONS = [  # (options as a call: a group is checked where it is built, message)
    (lambda: {"n_trials": 2.5}, r"'n_trials' parameter must be an integer of at least 1 or "
                                r"None; got 2.5"),
    (lambda: {"timeout": "60"}, r"'timeout' parameter must be a positive number of seconds or "
                                r"None; got '60'"),
    (lambda: {"seeds": [-1, 5]}, r"'seeds' parameter must be a count of at least 1 or a list "
                                 r"of distinct integers from 0"),
    (lambda: {"fit": bt.Fit(max_rounds=0)}, r"'max_rounds' parameter must be an integer from 1 "
                                            r"to 2147483647; got 0"),
    (lambda: {"fit": bt.Fit(max_rounds=2**31)}, r"'max_rounds' .* got 2147483648"),
    (lambda: {"seed": 2**40}, r"'seed' parameter must be an integer from 0 to 4294967295"),
    (lambda: {"model": "lgbm"}, r"'model' parameter must be one of \['lightgbm', 'xgboost'"),
    (lambda: {"space": "wid"}, r"'space' parameter must be one of .*did you mean 'wide'"),
    (lambda: {"cv": 1}, r"'cv' parameter must be an integer of at least 2; got 1"),
    (lambda: {"cv": bt.CV(5, scheme="stratifed")}, r"'scheme' parameter .*did you mean "
                                                   r"'stratified'"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS,
                         ids=[m.split("'")[1] + str(i) for i, (_, m) in enumerate(BAD_OPTIONS)])
def test_a_bad_option_value_is_refused_by_name(breast_cancer, options, message):
    with pytest.raises(bt.BoostTuneError, match=message):
        bt.tune(breast_cancer, "target", progress=False, **options())


@pytest.mark.parametrize(("estimator", "message"), [
    (BoostTuneRegressor(n_trials=2.5), r"'n_trials' parameter of \w+ must be an integer"),
    (BoostTuneRegressor(max_rounds=2**31), r"'max_rounds' parameter of \w+ must be an integer "
                                           r"from 1"),
    (BoostTuneRegressor(preset="wid"), r"'preset' parameter of \w+ must be one of .*'wide'"),
    (BoostTuneRegressor(random_state=-1), r"'random_state' parameter of \w+ must be an integer"),
    (BoostTuneRegressor(cv=1), r"'cv' parameter of \w+ must be an integer of at least 2; got 1"),
])
def test_the_estimators_check_their_params_on_the_same_path(diabetes, estimator, message):
    with pytest.raises(InvalidParameterError, match=message) as refused:
        estimator.fit(diabetes.drop(columns="target"), diabetes["target"])
    assert isinstance(refused.value, bt.BoostTuneError)  # sklearn's type, boosttune's check


def test_a_classifier_given_nan_labels_says_so(adult):
    y = adult["class"].astype(object)
    y.iloc[[4, 9]] = np.nan
    with pytest.raises(bt.BoostTuneError, match=r"Input y contains NaN: 2 missing label.*4, 9"):
        BoostTuneClassifier(n_trials=1).fit(adult.drop(columns="class"), y)


def test_an_id_column_that_does_not_exist(breast_cancer):
    frame = breast_cancer.assign(Id=np.arange(len(breast_cancer)))
    with pytest.raises(bt.BoostTuneError, match=r"id column 'ID' is not in the training data "
                                                r"\(did you mean 'Id'\?\)"):
        bt.tune(frame, "target", data=bt.Data(id_column="ID"), **FAST)


def test_an_id_column_missing_from_the_test_data(breast_cancer):
    frame = breast_cancer.assign(Id=np.arange(len(breast_cancer)))
    test = frame.drop(columns=["target", "Id"])
    with pytest.raises(bt.BoostTuneError, match=r"id column 'Id' is not in the test data"):
        bt.tune(frame, "target", test=test, data=bt.Data(id_column="Id"), **FAST)


def test_a_time_scheme_needs_its_column(breast_cancer):
    with pytest.raises(bt.BoostTuneError, match=r"cv scheme 'time' needs the time order"):
        bt.tune(breast_cancer, "target", cv=bt.CV(3, scheme="time"), **{
            k: v for k, v in FAST.items() if k != "cv"})


def test_an_integer_target_read_as_classes_warns_and_explains_a_fold_error(diabetes):
    counts = diabetes.assign(target=(diabetes["target"] // 20).astype(int))
    with pytest.warns(UserWarning, match=r"holds 17 distinct integers, so it is read as 17 "
                                         r"classes.*task='regression'"), \
            pytest.raises(bt.BoostTuneError, match=r"at least 3 rows of each class.*holds 17 "
                                                   r"distinct integers"):
        bt.tune(counts, "target", **FAST)
    result = bt.tune(counts, "target", data=bt.Data(task="regression"), **FAST)
    assert result.manifest.task == "regression"


def test_a_metric_returning_nan_is_named(breast_cancer):
    nan_metric = (lambda y, p: float("nan"), "maximize")
    with pytest.raises(bt.BoostTuneError, match=r"The metric .* returned nan on a validation "
                                                r"fold of \d+ rows; a metric must return a "
                                                r"finite number"):
        bt.tune(breast_cancer, "target", metric=nan_metric, **FAST)


def test_a_metric_that_raises_is_named(breast_cancer):
    def broken(y: np.ndarray, p: np.ndarray) -> float:
        raise ZeroDivisionError("division by zero")

    with pytest.raises(bt.BoostTuneError, match=r"The metric .* failed on a validation fold .*"
                                                r"ZeroDivisionError: division by zero"):
        bt.tune(breast_cancer, "target", metric=(broken, "minimize"), **FAST)


def test_integer_categories_given_as_text_in_test_are_a_type_mismatch(breast_cancer):
    codes = np.arange(len(breast_cancer)) % 3
    train = breast_cancer.assign(kind=pd.Categorical(codes))
    test = train.drop(columns="target").assign(kind=codes.astype(str))
    with pytest.raises(bt.BoostTuneError, match=r"'kind' is a category of int values in "
                                                r"training but holds text in the test data"):
        bt.tune(train, "target", test=test, **FAST)


def test_the_fit_diagnosis_advises_the_backends_own_params():
    rounds = np.arange(1, 201)
    valid = np.minimum(rounds, 100) / 100.0
    valid[150] = 0.2  # one round undoes most of the improvement: unstable
    advice = {name: backend_spec(name).advice for name in ("lightgbm", "xgboost")}
    lightgbm = diagnose(rounds, valid, None, 190, 10_000, True, advice=advice["lightgbm"])
    xgboost = diagnose(rounds, valid, None, 190, 10_000, True, advice=advice["xgboost"])
    assert lightgbm.verdict == xgboost.verdict == "unstable"
    assert "min_child_samples" in lightgbm.reason
    assert "min_child_weight" in xgboost.reason and "min_child_samples" not in xgboost.reason
