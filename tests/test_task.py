"""Task building: inference, encoding, and one clear error per kind of bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import boosttune as bt
from boosttune.core.task import make_task
from tests.conftest import FAST


def test_infers_task_kinds(breast_cancer, iris, diabetes):
    assert make_task(breast_cancer, "target").kind == "binary"
    assert make_task(iris, "target").kind == "multiclass"
    assert make_task(diabetes, "target").kind == "regression"


def test_string_labels_are_coded_and_kept(adult):
    task = make_task(adult, "class")
    assert task.classes == ["<=50K", ">50K"]
    assert set(np.unique(task.y)) == {0.0, 1.0}
    assert list(task.decode_labels(np.array([1, 0]))) == [">50K", "<=50K"]


def test_string_columns_become_categories_with_nan_kept(adult):
    task = make_task(adult, "class")
    assert "workclass" in task.encoder.categories
    col = task.encoder.columns.index("workclass")
    assert col in task.encoder.categorical_indices
    assert np.isnan(task.X[adult["workclass"].isna().to_numpy(), col]).all()
    assert not np.isnan(task.X[adult["workclass"].notna().to_numpy(), col]).any()


def test_test_data_gets_training_categories_and_unseen_warns(adult):
    train, test = adult.iloc[:1000], adult.iloc[1000:].drop(columns="class").copy()
    test["race"] = test["race"].astype(object)
    test.loc[test.index[:3], "race"] = "Martian"
    with pytest.warns(UserWarning, match="'race'.*3 value.*not seen in training.*missing"):
        task = make_task(train, "class", test=test)
    col = task.encoder.columns.index("race")
    assert task.X_test is not None and np.isnan(task.X_test[:3, col]).all()
    known = task.encoder.categories["race"]
    assert task.X_test[3, col] == known.index(test["race"].iloc[3])


def test_pandas_category_columns_are_used_natively(diamonds):
    frame = diamonds.astype({"cut": "category"})
    task = make_task(frame, "price")
    assert task.encoder.categories["cut"] == list(frame["cut"].cat.categories)


def test_arrays_are_accepted(breast_cancer):
    X = breast_cancer.drop(columns="target").to_numpy()
    task = make_task(X, breast_cancer["target"].to_numpy())
    assert task.X.shape == X.shape and task.kind == "binary"


BAD_INPUTS = [
    ("missing target column", lambda f: make_task(f, "nope"),
     "Target column 'nope' is not in the training data"),
    ("empty frame", lambda f: make_task(f.iloc[:0], "target"), "training data is empty"),
    ("one class only", lambda f: make_task(f.assign(target=1), "target"), "one class only"),
    ("unknown metric", lambda f: make_task(f, "target", metric="aucc"), "Unknown metric 'aucc'"),
    ("metric of another task", lambda f: make_task(f, "target", metric="rmse"),
     "'rmse' does not fit a binary task"),
    ("callable metric without direction", lambda f: make_task(f, "target", metric=len),
     "explicit direction"),
    ("bad task name", lambda f: make_task(f, "target", task="ranking"),
     "'task' parameter must be"),
]


@pytest.mark.parametrize(("case", "call", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_has_a_clear_error(breast_cancer, case, call, message):
    with pytest.raises(bt.BoostTuneError, match=message):
        call(breast_cancer)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_target_is_refused(diabetes, bad):
    frame = diabetes.copy()
    frame.loc[[3, 7], "target"] = bad
    with pytest.raises(bt.BoostTuneError, match=r"Target 'target' has .*(missing|infinite).*3, 7"):
        make_task(frame, "target")


def test_duplicated_column_names_are_refused(breast_cancer):
    frame = pd.concat([breast_cancer, breast_cancer[["mean radius"]]], axis=1)
    with pytest.raises(bt.BoostTuneError, match=r"duplicated column names \['mean radius'\]"):
        make_task(frame, "target")


def test_test_data_with_missing_columns_is_refused(breast_cancer):
    test = breast_cancer.drop(columns=["target", "mean area"])
    with pytest.raises(bt.BoostTuneError, match=r"test data lacks.*\['mean area'\]"):
        make_task(breast_cancer, "target", test=test)


def test_test_data_with_extra_columns_is_refused(breast_cancer):
    test = breast_cancer.drop(columns="target").assign(leak=1.0)
    with pytest.raises(bt.BoostTuneError, match=r"test data has column\(s\) \['leak'\]"):
        make_task(breast_cancer, "target", test=test)


def test_failed_run_writes_nothing(breast_cancer, tmp_path):
    with pytest.raises(bt.BoostTuneError):
        bt.tune(breast_cancer, "target", metric="rmse", **FAST).save(tmp_path / "run")
    assert not (tmp_path / "run").exists()
