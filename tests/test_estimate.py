"""The delivered predictor's estimate and its prediction interval, on real data and models."""

from __future__ import annotations

import json

import numpy as np
import pytest

import boosttune as bt
from boosttune.core.ambiguity import Weighted, averaged_score, row_spread, supports
from boosttune.core.statistics import interval, selection_optimism
from boosttune.result import Ensemble
from tests.conftest import FAST


def _split(frame, n_train):
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return frame.iloc[:n_train].reset_index(drop=True), frame.iloc[n_train:]


def test_the_delivered_estimate_is_measured_inside_training_parts(breast_cancer, tmp_path):
    train, test = _split(breast_cancer, 420)
    runs = {refit: bt.tune(train, "target", test=test.drop(columns="target"),
                           finalize=bt.Finalize(refit=refit), **FAST)
            for refit in ("folds", "full")}
    for refit, run in runs.items():
        found = run.score.delivered
        assert found is not None and found.folds_checked == 3, refit
        assert refit in found.basis
        assert found.cv_score == run.score.mean
        assert found.delivered == pytest.approx(found.cv_score + found.gain + found.selection)
        low, high = found.interval
        assert 0 <= low < found.delivered < high <= 1  # AUC: inside its range
        assert found.n_test == len(test)
        assert "delivered predictor est." in str(run.score)
    # two deliveries, replicated each: the gains are measured, not one constant
    assert runs["folds"].score.delivered.gain != runs["full"].score.delivered.gain
    run = runs["folds"]
    run.save(tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "manifest.json").read_text())["score"]["delivered"]
    assert saved["delivered"] == run.score.delivered.delivered
    assert bt.TuneResult.load(tmp_path / "run").score.delivered == run.score.delivered


def test_a_prediction_interval_is_wider_for_fewer_test_rows(diamonds):
    def tuned(size):
        return bt.tune(diamonds, "price", evaluation=bt.Evaluation(test_size=size),
                       **FAST).score.delivered
    few, many = tuned(100), tuned(100_000)
    assert few.n_test == 100 and many.n_test == 100_000
    assert few.test_std_error > 5 * many.test_std_error  # ≈ √1000 apart
    width = {n: e.interval[1] - e.interval[0] for n, e in ((100, few), (100_000, many))}
    assert width[100] > width[100_000] > 0
    assert few.interval[0] > 0  # RMSE: never below 0
    assert few.public_private_sd > many.public_private_sd > 0


def test_the_gain_includes_the_learning_curve_step_the_replica_is_behind(diamonds):
    # 1,500 diamonds rows, 3 folds: a fold model learns from 1,000 rows, an inner one from
    # 667; more rows lower the RMSE, so the step is a gain (negative in RMSE units)
    found = bt.tune(diamonds, "price", **FAST).score.delivered
    assert found.learning_step < 0
    assert "learning-curve step" in found.basis


def test_selection_optimism_is_how_far_the_chosen_trial_falls_behind_each_folds_best():
    scores = np.array([[0.90, 0.80, 0.85],   # chosen: the best mean (0.85)
                       [0.92, 0.76, 0.84],   # best on fold 0
                       [0.88, 0.79, 0.86]])  # best on fold 2
    mean, se = selection_optimism(scores, 0, "maximize")
    assert mean == pytest.approx(-(0.02 + 0.0 + 0.01) / 3)
    assert se == pytest.approx(np.std([-0.02, 0.0, -0.01], ddof=1) / np.sqrt(3))
    # a loss: the correction raises it; one trial: nothing to correct
    assert selection_optimism(-scores, 0, "minimize")[0] == pytest.approx(-mean)
    assert selection_optimism(scores[:1], 0, "maximize") == (0.0, 0.0)


def test_the_estimate_takes_off_the_chosen_trials_selection_optimism(diamonds):
    run = bt.tune(diamonds, "price", **FAST)
    found = run.score.delivered
    complete = run.trials[run.trials["state"] == "COMPLETE"]
    assert len(complete) >= 2
    assert found.selection > 0  # RMSE: the best of several noisy scores flatters; raised
    assert found.delivered == pytest.approx(found.cv_score + found.gain + found.selection)
    assert "selection" in found.summary()["definition"]


def test_without_a_test_size_there_is_an_estimate_but_no_prediction_interval(breast_cancer):
    found = bt.tune(breast_cancer, "target", **FAST).score.delivered
    assert found is not None and found.n_test is None and np.isnan(found.interval[0])
    off = bt.tune(breast_cancer, "target", evaluation=bt.Evaluation(delivered=0), **FAST)
    assert off.score.delivered is None and "delivered" not in str(off.score)


def test_interval_and_curves_can_be_turned_off(breast_cancer):
    train, test = breast_cancer.iloc[:450], breast_cancer.iloc[450:].drop(columns="target")
    off = bt.tune(train, "target", test=test, **FAST,
                  evaluation=bt.Evaluation(interval=False, curves=False))
    found = off.score.delivered
    assert found is not None and found.folds_checked > 0  # the estimate is still measured
    assert found.n_test is None and np.isnan(found.interval[0])
    assert off.curves is None and off.diagnosis is None
    on = bt.tune(train, "target", test=test, **FAST)
    assert on.score.delivered.n_test == len(test) and on.curves is not None
    with pytest.raises(bt.BoostTuneError, match="'curves' parameter"):
        bt.Evaluation(curves="no")


def test_intervals_stay_in_the_metrics_range():
    low, high = interval(0.998, 0.004, 5, bounds=(0.0, 1.0))
    assert 0 < low < 0.998 < high < 1
    low, high = interval(0.05, 0.04, 5, bounds=(0.0, None))
    assert 0 < low < 0.05 < high
    assert interval(3.0, 1.0, 5) == pytest.approx((3 - 2.776445, 3 + 2.776445))


def test_a_bad_estimate_option_is_refused():
    with pytest.raises(bt.BoostTuneError, match="'public_share' parameter must be a fraction"):
        bt.Evaluation(public_share=1.5)
    with pytest.raises(bt.BoostTuneError, match="'delivered' parameter must be an integer"):
        bt.Evaluation(delivered=-1)


def test_a_sorted_test_split_warns_and_the_manifest_says_so(breast_cancer):
    by_radius = breast_cancer.sort_values("mean radius").reset_index(drop=True)
    train, test = by_radius.iloc[:420], by_radius.iloc[420:].drop(columns="target")
    with pytest.warns(bt.ShiftWarning, match="mean radius|mean area|mean perimeter"):
        shifted = bt.tune(train, "target", test=test, **FAST)
    found = shifted.manifest.evaluation["shift"]
    assert found["shifted"] and found["auc"] > found["threshold"]
    train, test = _split(breast_cancer, 420)
    quiet = bt.tune(train, "target", test=test.drop(columns="target"), **FAST)
    assert not quiet.manifest.evaluation["shift"]["shifted"]


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_the_step_scores_the_fold_model_at_rounds_chosen_without_its_own_rows(diamonds, model):
    # a fold model early-stopped on its validation fold looks best at its own best round;
    # the step scores it at the rounds the inner folds chose (capped at what it trained)
    from boosttune.config import build_config
    from boosttune.core.statistics import fold_score
    from boosttune.pipeline.estimate import _unstopped_score
    from boosttune.pipeline.prepare import prepare

    prepared = prepare(diamonds, "price", None, build_config(model=model, cv=3), 0.0)
    fit = prepared.backend.fit_fold({"learning_rate": 0.1}, 0, 0)
    valid = prepared.folds.splits[0][1]
    own = fold_score(prepared.task, valid, fit.valid_pred)
    assert _unstopped_score(prepared, fit, fit.n_rounds) == pytest.approx(own)
    fewer = _unstopped_score(prepared, fit, max(1, fit.n_rounds // 3))
    assert fewer > own  # RMSE: worse away from the round the fold itself picked
    # beyond the trees it trained: scored at the last one (XGBoost refuses more)
    assert np.isfinite(_unstopped_score(prepared, fit, 10 * fit.n_rounds + 10_000))


def test_the_squared_error_of_an_average_is_its_members_less_their_spread():
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    members = Weighted([y + rng.normal(scale=s, size=500) for s in (1.0, 0.5, 2.0)],
                       np.array([0.5, 0.3, 0.2]))
    average = members.mean()
    members_loss = sum(w * np.mean((y - h) ** 2)
                       for w, h in zip(members.weights, members.preds, strict=True))
    spread = float(np.mean(row_spread("rmse", members)))
    assert spread > 0
    assert np.mean((y - average) ** 2) == pytest.approx(members_loss - spread)
    assert averaged_score("rmse", np.sqrt(members_loss), spread) == pytest.approx(
        np.sqrt(np.mean((y - average) ** 2)))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_log_loss_spread_is_the_gain_of_averaging_for_labels_drawn_from_the_average(
        n_classes):
    rng = np.random.default_rng(1)
    probs = [rng.dirichlet(np.ones(n_classes), size=300) for _ in range(3)]
    weights = [0.5, 0.25, 0.25]
    average = Weighted(probs, np.array(weights)).mean()
    members = Weighted([p[:, 1] if n_classes == 2 else p for p in probs], np.array(weights))
    gaps = []
    for _ in range(400):  # labels drawn from the average itself
        y = (average.cumsum(axis=1) < rng.random((300, 1))).sum(axis=1)
        rows = np.arange(300)
        one = sum(w * -np.log(p[rows, y]) for w, p in zip(weights, probs, strict=True))
        gaps.append(np.mean(one + np.log(average[rows, y])))
    spread = float(np.mean(row_spread("multi_logloss" if n_classes > 2 else "logloss",
                                      members)))
    assert spread > 0
    assert np.mean(gaps) == pytest.approx(spread, rel=0.03)


def test_only_squared_errors_and_log_losses_have_a_spread():
    assert all(supports(m) for m in ("rmse", "rmsle", "logloss", "multi_logloss"))
    assert not any(supports(m) for m in ("auc", "accuracy", "mae", "r2", "f1"))


def _single_predictions(ensemble, X):
    """Each model's weight and own prediction, one single-model Ensemble at a time."""
    groups = [g for g in (ensemble.members, ensemble.full_members) if g]
    return [(1 / len(groups) / len(g),
             Ensemble(ensemble.predict_members, [m], ensemble.encoder).predict(X))
            for g in groups for m in g]


def test_with_test_rows_a_regression_gain_is_the_delivered_models_spread_there(diamonds):
    train, test = _split(diamonds, 1100)
    X_test = test.drop(columns="price")
    run = bt.tune(train, "price", test=X_test, **FAST)
    found = run.score.delivered
    assert found.folds_checked == 0 and "spread of the" in found.basis  # no replica ran
    assert run.manifest.resolved["refit_used"] == "blend"  # fold models and a refit
    delivered = run.ensemble.predict(X_test)
    np.testing.assert_allclose(run.test_pred["pred"].to_numpy(), delivered)
    singles = _single_predictions(run.ensemble, X_test)
    assert len(singles) == 4  # 3 fold models, 1 refit
    spread = np.mean(sum(w * (p - delivered) ** 2 for w, p in singles))
    cv = run.score.mean
    assert found.gain == pytest.approx(np.sqrt(cv ** 2 - spread) - cv)
    assert found.gain < 0  # averaging lowers the RMSE
    assert found.delivered == pytest.approx(cv + found.gain + found.selection)
    low, high = found.interval
    assert 0 < low < found.delivered < high


def test_with_test_rows_a_multiclass_log_loss_gain_is_the_spread(iris):
    train, test = _split(iris, 110)
    run = bt.tune(train, "target", test=test.drop(columns="target"), **FAST)
    found = run.score.delivered
    assert run.score.metric == "multi_logloss"
    assert found.folds_checked == 0 and "spread of the" in found.basis
    assert found.gain < 0
    # AUC has no such form: its gain is still replicated inside training parts
    auc = bt.tune(train, "target", test=test.drop(columns="target"), metric="auc", **FAST)
    assert auc.score.delivered.folds_checked > 0
