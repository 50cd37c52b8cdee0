"""Metric registry: directions, native names, prediction conventions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

import boosttune as bt
from boosttune.backends import backend_spec
from boosttune.core.metrics import Direction, get_metric, names_for

Y_BIN = np.array([0, 1, 1, 0, 1])
P_BIN = np.array([0.2, 0.7, 0.4, 0.1, 0.9])


def test_binary_metrics_follow_sklearn():
    assert get_metric("auc", "binary")(Y_BIN, P_BIN) == skm.roc_auc_score(Y_BIN, P_BIN)
    assert get_metric("accuracy", "binary")(Y_BIN, P_BIN) == 0.8
    assert get_metric("f1", "binary")(Y_BIN, P_BIN) == skm.f1_score(Y_BIN, P_BIN > 0.5)
    assert get_metric("logloss", "binary")(Y_BIN, P_BIN) == pytest.approx(
        skm.log_loss(Y_BIN, P_BIN))


def test_multiclass_metrics_take_probability_matrices():
    y = np.array([0, 2, 1])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    assert get_metric("accuracy", "multiclass")(y, p) == 1.0
    assert get_metric("multi_logloss", "multiclass")(y, p) == pytest.approx(skm.log_loss(y, p))


def test_regression_metrics_and_weights():
    y, p, w = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0]), np.array([1.0, 0.0, 1.0])
    assert get_metric("rmse", "regression")(y, p) == pytest.approx(np.sqrt((0.25 + 1) / 3))
    assert get_metric("mae", "regression")(y, p, w) == pytest.approx(0.75)
    assert get_metric("rmsle", "regression")(y, np.array([-1.0, 2.0, 4.0])) == pytest.approx(
        np.sqrt(np.log1p(1.0) ** 2 / 3))


def test_directions_and_native_names():
    assert get_metric("auc", "binary").greater_is_better
    assert not get_metric("rmse", "regression").greater_is_better
    lgb, xgb = backend_spec("lightgbm"), backend_spec("xgboost")

    def native(name: str, kind: str) -> tuple[str, str]:
        metric = get_metric(name, kind)
        return lgb.native_metric(metric, kind), xgb.native_metric(metric, kind)

    assert native("auc", "binary") == ("auc", "auc")
    assert native("f1", "binary") == ("binary_logloss", "logloss")
    assert native("mae", "regression") == ("l1", "mae")
    own = bt.Metric("gini", lambda y, p, w: 0.0, "maximize", native={"lightgbm": "auc"})
    assert lgb.native_metric(own, "binary") == "auc"
    assert xgb.native_metric(own, "binary") == "logloss"


@pytest.mark.parametrize("direction, a, b, better", [
    ("maximize", 0.9, 0.8, True), ("maximize", 0.8, 0.9, False),
    ("minimize", 0.8, 0.9, True), ("minimize", 0.9, 0.9, False)])
def test_direction_helper_orders_scores(direction: str, a: float, b: float, better: bool):
    import optuna

    goal = Direction.of(direction)
    assert goal.better(a, b) is better
    assert sorted([b, a], key=goal.sort_key)[0] == (a if better else b) or a == b
    assert goal.best([a, b]) == (max(a, b) if direction == "maximize" else min(a, b))
    study_direction = optuna.study.StudyDirection[direction.upper()]
    assert Direction.of(study_direction) == goal
    with pytest.raises(bt.BoostTuneError, match="'maximize' or 'minimize'"):
        Direction.of("up")


def test_defaults_per_task():
    assert get_metric(None, "binary").name == "auc"
    assert get_metric(None, "multiclass").name == "multi_logloss"
    assert get_metric(None, "regression").name == "rmse"
    assert names_for("regression") == ["rmse", "mae", "rmsle", "r2"]


def test_bad_direction_is_explained():
    with pytest.raises(bt.BoostTuneError, match="must be 'maximize' or 'minimize'; got 'up'"):
        get_metric((len, "up"), "binary")
