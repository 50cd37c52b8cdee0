"""Low-fidelity rungs on large data: real LightGBM trials on a share of each fold's training
rows, the best promoted, the final choice on all rows (or on the best rung reached, said so).
The rung thresholds are lowered so that a 9,000-row sample climbs as a large table would, and
the run's clock is the test's (test_clock): the rungs do not depend on this machine's speed."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd
import pytest

import boosttune as bt
from boosttune.core.diagnosis import fidelity_text
from boosttune.core.folds import make_folds
from boosttune.core.task import make_task
from boosttune.pipeline import fidelity
from tests.conftest import FAST, shared

OPTIONS = {**FAST, "n_trials": None, "timeout": 60, "metric": "auc"}  # on test_clock


@pytest.fixture
def skin() -> pd.DataFrame:
    return shared("skin_segmentation", 9000)


@pytest.fixture
def small_rungs(monkeypatch):
    """Rungs for 6,000 training rows per fold (3 folds of 9,000): 1/9 and 1/3 of them; any
    full trial counts as too slow for the budget."""
    monkeypatch.setattr(fidelity, "MIN_RUNG_ROWS", 500)
    monkeypatch.setattr(fidelity, "MIN_CLIMB_ROWS", 1500)
    monkeypatch.setattr(fidelity, "LOW_RUNG_ROWS", 1000)
    monkeypatch.setattr(fidelity, "FULL_TRIAL_SHARE", 0.0)


def test_trials_climb_from_a_share_of_the_rows_to_all_of_them(skin, small_rungs, test_clock):
    result = bt.tune(skin, "skin", **OPTIONS)
    climb = result.manifest.headstart["fidelity"]
    assert climb["used"] and [r["share"] for r in climb["rungs"]] == [1 / 9, 1 / 3]
    low, middle = climb["rungs"]
    assert low["complete"] >= 3 and low["promoted"] == 0
    # the lowest rung cross-validates on its first folds only, the ones above on all
    assert (low["folds"], middle["folds"]) == (fidelity.LOW_RUNG_FOLDS, 3)
    # and shares its time among LOW_RUNG_CONFIGS configurations' folds, the rung above among
    # those promoted; a trial that ran into its share stopped at its best round and was
    # scored, not thrown away
    assert low["fold_seconds"] > 0 and middle["fold_seconds"] > 0
    assert middle["promoted"] == math.ceil(low["complete"] / fidelity.ETA)
    trials = result.trials
    assert set(trials["fidelity"]) == {1 / 9, 1 / 3, 1.0}
    assert (trials["fidelity"] == 1 / 9).sum() >= low["complete"] + low["pruned"]
    lowest = trials[trials["fidelity"] == 1 / 9]  # a pruned trial's value: its last fold's
    assert low["unscored"] == ((lowest["state"] == "PRUNED") & lowest["value"].isna()).sum()
    if "user_attrs_ended_at_allotted_time" in lowest:
        assert lowest[lowest["user_attrs_ended_at_allotted_time"] == True]["value"].notna().all()  # noqa: E712
    # the final choice is made on all rows, among the full-data study's trials
    assert result.manifest.search["fidelity"] == 1.0
    assert climb["full"]["complete"] == result.manifest.n_complete >= 1
    full = trials[(trials["fidelity"] == 1.0) & (trials["state"] == "COMPLETE")]
    assert len(full) >= 1 and result.score.mean == pytest.approx(
        full["value"].max(), abs=0.02)
    # the full-data study starts with the middle rung's best configurations, best first
    middle_best = trials[(trials["fidelity"] == 1 / 3) & (trials["state"] == "COMPLETE")]
    best_params = middle_best.sort_values("value", ascending=False).iloc[0]
    first_full = trials[trials["fidelity"] == 1.0].iloc[0]
    for name in [c for c in trials.columns if c.startswith("params_")]:
        assert first_full[name] == best_params[name] or (
            pd.isna(first_full[name]) and pd.isna(best_params[name]))
    assert len(result.oof) == len(skin)


def test_without_time_for_a_full_trial_the_best_rung_is_delivered(skin, small_rungs,
                                                                  monkeypatch, test_clock):
    monkeypatch.setattr(fidelity, "TOP_MAX_SHARE", 0.0)  # the lower rungs take all the time
    with pytest.warns(bt.BudgetWarning, match="no full-data trial"):
        result = bt.tune(skin, "skin", test=skin.drop(columns="skin").iloc[:200], **OPTIONS)
    assert result.manifest.search["fidelity"] == 1 / 3
    # the rung's choice fit on fold 1's whole training part, delivered as it scored better
    full_fold = result.manifest.search["full_fold"]
    assert result.manifest.resolved["refit_used"] == "full_fold" and full_fold["delivered"]
    assert full_fold["score"] >= full_fold["rung_score"]  # on the same rows
    assert full_fold["rows"] == len(skin) * 2 // 3  # all but fold 1 of 3
    assert result.params["n_estimators"] == full_fold["n_rounds"]
    assert len(result.ensemble.members) == 1 and not result.ensemble.full_members
    delivered = result.score.delivered  # that model's own validation score, beside the CV's
    assert delivered.delivered == pytest.approx(full_fold["score"])
    assert delivered.cv_score == result.score.mean and delivered.folds_checked == 1
    assert delivered.interval[0] < delivered.delivered < delivered.interval[1] <= 1.0
    summary = fidelity_text(result.manifest.headstart["fidelity"], 1 / 3,  # the CLI's line
                            full_fold)
    assert "no full-data trial finished: the choice made on 33.3% of the rows" in summary
    assert "then fit on fold 1's whole training part (6000 rows" in summary
    assert summary.endswith("that model is delivered")
    assert set(result.trials["fidelity"]) <= {1 / 9, 1 / 3, 1.0}  # 1.0: cut full trials
    # the rung's OOF predictions: its share of each validation fold (a third from 1/3 up)
    validated = np.concatenate([valid for _, valid in result.folds.splits])
    assert len(result.oof) == len(skin) and result.oof["pred"].notna().sum() == len(validated)
    assert result.oof["pred"].iloc[validated].notna().all()
    assert result.score.mean > 0.9
    np.testing.assert_allclose(result.predict(skin.drop(columns="skin").iloc[:200]),
                               result.test_pred["pred"])


def test_a_whole_fold_fit_cut_short_and_worse_leaves_the_rungs_models(skin, small_rungs,
                                                                       monkeypatch, test_clock):
    monkeypatch.setattr(fidelity, "TOP_MAX_SHARE", 0.0)
    monkeypatch.setattr(fidelity, "FULL_FOLD_PREDICT_MARGIN", 1e12)  # cut at its first round
    with pytest.warns(bt.BudgetWarning, match="no full-data trial"):
        result = bt.tune(skin, "skin", **OPTIONS)
    full_fold = result.manifest.search["full_fold"]
    assert full_fold["cut"] and full_fold["n_rounds"] == 1
    assert full_fold["score"] < full_fold["rung_score"] and not full_fold["delivered"]
    assert result.manifest.resolved["refit_used"] == "folds"
    assert len(result.ensemble.members) == len(result.folds.splits)  # the rung's fold models
    assert "cut by the time" in fidelity_text(result.manifest.headstart["fidelity"], 1 / 3,
                                              full_fold)


def test_small_data_does_not_climb(breast_cancer):
    result = bt.tune(breast_cancer, "target", **{**OPTIONS, "timeout": 3})  # real seconds
    assert "fidelity" not in result.manifest.headstart
    assert set(result.trials["fidelity"]) == {1.0}


@pytest.mark.parametrize(("full_seconds", "left", "kept", "top"), [
    (2.0, 60.0, [1 / 27, 1 / 9, 1 / 3], 15.0),     # time for all: the top gets its even share
    (20.0, 60.0, [1 / 27, 1 / 9], 30.0),           # two full trials fill half the time
    (25.0, 60.0, [1 / 27, 1 / 9], 30.0),           # one full trial fits in half
    (40.0, 60.0, [1 / 27, 1 / 9], 0.0),            # a full trial would take over half
    (90.0, 60.0, [1 / 27], 0.0),                   # the lowest rung is always kept
])
def test_the_plan_keeps_the_rungs_that_have_time(full_seconds, left, kept, top):
    assert fidelity.plan([1 / 27, 1 / 9, 1 / 3], full_seconds, left) == (
        kept, pytest.approx(top))


def test_rung_folds_cut_training_and_validation_rows_by_class(skin):
    task = make_task(skin, "skin")
    folds = make_folds(task, 3, None, 0)
    cut = fidelity.rung_folds(folds, task.y, 1 / 9, stratify=True)
    third = fidelity.rung_folds(folds, task.y, 1 / 3, stratify=True)
    for (train, valid), (rung_train, rung_valid), (_, third_valid) in zip(
            folds.splits, cut.splits, third.splits, strict=True):
        assert set(rung_train) <= set(train) and set(rung_valid) <= set(valid)
        assert len(rung_train) == pytest.approx(len(train) / 9, abs=1)
        assert len(rung_valid) == pytest.approx(len(valid) / 3, abs=1)
        for rows, whole in ((rung_train, train), (rung_valid, valid)):
            assert task.y[rows].mean() == pytest.approx(task.y[whole].mean(), abs=0.01)
        np.testing.assert_array_equal(third_valid, valid)  # whole from a third up


def test_a_rung_promotes_its_best_third_best_first():
    below = optuna.create_study(direction="maximize")
    for value in [0.5, 0.9, 0.7, 0.8, 0.6]:
        below.enqueue_trial({"x": value})
        below.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    rung = fidelity.Rung(1 / 9, below, objective=None)  # type: ignore[arg-type]
    above = optuna.create_study(direction="maximize")
    assert fidelity.promote(rung, above) == 2
    above.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert [t.params["x"] for t in above.trials] == [0.9, 0.8]


def test_trials_csv_leaves_out_promoted_configurations_that_never_ran():
    from types import SimpleNamespace

    from boosttune.pipeline.outputs import trials_frame

    rung = optuna.create_study()
    rung.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    top = optuna.create_study()  # the budget ended before its promoted trials started
    top.enqueue_trial({"x": 0.5})
    climb = fidelity.Climb([fidelity.Rung(1 / 9, rung, objective=None)],  # type: ignore[arg-type]
                           used=True, top=top)
    frame = trials_frame(SimpleNamespace(climb=climb, study=rung))  # type: ignore[arg-type]
    assert list(frame["fidelity"]) == [1 / 9] * 3 and frame["duration"].notna().all()


def test_a_lowest_rung_trial_ends_each_fold_at_its_allotted_time(test_clock):
    from boosttune.search.budget import Budget

    budget = Budget(30.0, 0.0, finalize_share=0.0)
    polls = {}
    for done in (0, 1):  # the folds begun so far take fold_seconds each
        cut = budget.allotted_stop(1.0, [done])
        polls[done] = next(n for n in range(100_000) if cut())
        assert cut.ended and cut.kept  # its best round kept, the trial scored
    # two clock readings a poll (the budget's, the allotment's) of 2 ms each
    assert polls[0] == pytest.approx(1.0 / 0.004, rel=0.05)
    assert polls[1] == pytest.approx(2.0 / 0.004, rel=0.05)
    spent = Budget(0.0, 0.0, finalize_share=0.0).allotted_stop(1.0, [0])
    assert spent() and not spent.kept  # the budget spent: cut, the trial pruned


def test_a_first_trial_is_shortened_at_its_share_of_the_search_time(test_clock):
    from boosttune.search.budget import FINALIZE_RUN_SHARE, Budget

    polls = {}
    for share in (1.0, fidelity.LOWEST_FIRST_SHARE):
        cut = Budget(30.0, 0.0, finalize_share=0.0).first_trial_stop(3, [0], share)
        assert cut is not None and cut.keep
        polls[share] = next(n for n in range(100_000) if cut())  # one clock reading each
    # fold 1 of 3 may take a third of the share of ~30 s, less finalize's predictions with
    # it; a reading is 2 ms
    assert polls[1.0] == pytest.approx(10 / (1 + FINALIZE_RUN_SHARE) / 0.002, rel=0.05)
    assert polls[0.25] == pytest.approx(2.5 / (1 + FINALIZE_RUN_SHARE) / 0.002, rel=0.05)
    assert Budget(None, 0.0).first_trial_stop(3, [0], 1.0) is None


def test_where_no_full_trial_fits_finalize_reserves_only_a_rungs_work(test_clock):
    from boosttune.search.budget import Budget

    fits = Budget(60.0, 5.0, finalize_share=0.0)
    _, top = fidelity.reserved_plan(fits, [1 / 27, 1 / 9], 2.0, rung_runs=0.0)
    assert top > 0 and fits.extra_runs == 5.0 and fits.best_run_seconds == 2.0
    # a full trial of 400 s: finalize will deliver the rung, with no refit and no replicas
    rung = Budget(60.0, 5.0, finalize_share=0.0)
    _, top = fidelity.reserved_plan(rung, [1 / 27, 1 / 9], 400.0, rung_runs=0.0)
    assert top == 0 and rung.extra_runs == 0.0
    assert rung.best_run_seconds == pytest.approx(400 / 27)
    # 0.15 of a rung trial kept back, not 5.15, and for the full-data fold fit (a full
    # trial's fold, 80 s) at most half of what is left
    left = 60 - 0.15 * 400 / 27
    assert rung.search_seconds_left() == pytest.approx(left / 2, abs=0.01)
    assert rung.delivery_seconds == pytest.approx(left / 2, abs=0.01)


def test_a_delivered_rungs_predictions_are_timed_on_its_first_trial():
    from types import SimpleNamespace

    from boosttune.core.results import CVRun, FoldFit
    from boosttune.search.budget import Budget

    fits = [FoldFit(k, 0, 10, np.zeros(100), {}, None, seconds=1.0, predict_seconds=0.01)
            for k in range(3)]  # 1e-4 s a row
    run = CVRun(0, fits, [0.5] * 3, np.zeros(300))
    prepared = SimpleNamespace(task=SimpleNamespace(n_rows=9000, X_test=np.zeros((2000, 4))))
    # every test row by each of the 3 fold models
    expected = fidelity.PREDICT_MARGIN * 1e-4 * 3 * 2000
    assert fidelity.delivery_predict_seconds(prepared, run) == pytest.approx(expected)
    for full, fold_fit in ((100.0, 25.0), (40.0, None)):  # a full trial's fold: 25 s, 10 s
        budget = Budget(60.0, 5.0, finalize_share=0.0)
        fidelity.reserved_plan(budget, [1 / 27, 1 / 9], full, 0.0, predict_seconds=expected,
                               n_splits=4)
        left = 60.0 - 0.15 * full / 27
        # and the full-data fold fit: a full trial's fold, and at least 0.3 of what is left
        wanted = fold_fit or fidelity.FULL_FOLD_MIN_SHARE * left
        assert budget.delivery_seconds == pytest.approx(expected + wanted, abs=0.01)


def test_lower_rungs_early_stop_sooner_than_the_run(skin):
    from boosttune.backends.base import FitSettings
    from boosttune.backends.registry import backend_spec

    task = make_task(skin, "skin")
    folds = make_folds(task, 3, None, 0)
    run_backend = backend_spec("lightgbm").build(task, folds, FitSettings(n_threads=2), {})
    rung = fidelity._patient(run_backend.on_folds(fidelity.rung_folds(folds, task.y, 1 / 3,
                                                                      stratify=True)))
    assert rung.settings.early_stopping_rounds == fidelity.RUNG_PATIENCE
    assert run_backend.settings.early_stopping_rounds == 100  # the run's own fits keep theirs
    params = {"learning_rate": 0.3, "num_leaves": 63}
    for backend, patience in ((rung, fidelity.RUNG_PATIENCE), (run_backend, 100)):
        fit = backend.fit_fold(params, 0, seed=0)
        trained = len(next(iter(fit.curves.values())))
        assert trained - fit.n_rounds == patience  # rounds boosted past the best one


def test_a_rung_keeps_back_the_predictions_of_a_best_trial_with_more_trees(test_clock):
    from boosttune.search.budget import FINALIZE_RUN_SHARE, Budget

    budget = Budget(30.0, 0.0, finalize_share=0.0)
    budget.best_run_seconds = 2.0  # the first trial: its predictions (1 s) the run reserved
    fidelity._predictions_grow(budget, predicted=1.0, trial_seconds=2.0)
    before = budget.search_seconds_left()
    assert before == pytest.approx(30.0 - FINALIZE_RUN_SHARE * 2.0, abs=0.01)
    budget.best_run_seconds = 20.0  # a best trial ten times as long: ten times the trees
    # its predictions take about 10 s, 9 s more than reserved
    assert before - budget.search_seconds_left() == pytest.approx(
        9.0 + FINALIZE_RUN_SHARE * 18.0, abs=0.01)


@pytest.mark.parametrize(("fold_rows", "shares"), [
    (34_500, []),                           # diamonds' size: a full trial takes seconds
    (60_000, [1 / 3]),                      # 20k rows a fold: within the lowest rung's
    (316_000, [1 / 27, 1 / 9, 1 / 3]),      # kddcup99: 11.7k rows at 1/27
    (800_000, [1 / 81, 1 / 27, 1 / 9, 1 / 3]),  # synthetic_1m: 9.9k rows at 1/81
])
def test_the_rungs_go_down_to_the_share_near_20k_rows_a_fold(fold_rows, shares):
    from types import SimpleNamespace

    from boosttune.core.folds import Folds

    rows = np.arange(fold_rows + fold_rows // 4)
    splits = [(rows[:fold_rows], rows[fold_rows:])] * 5
    prepared = SimpleNamespace(folds=Folds(splits, "kfold", 0))
    assert fidelity.rung_shares(prepared) == pytest.approx(shares)  # type: ignore[arg-type]


def test_the_lowest_rung_keeps_its_first_folds_only(skin):
    task = make_task(skin, "skin")
    folds = make_folds(task, 5, None, 0)
    cut = fidelity.rung_folds(folds, task.y, 1 / 9, stratify=True, n_folds=2)
    assert cut.n_splits == 2
    for (train, _), (rung_train, _) in zip(folds.splits[:2], cut.splits, strict=True):
        assert set(rung_train) <= set(train)


def test_a_lowest_rung_on_two_folds_is_delivered_with_its_two_fold_models(
        skin, small_rungs, monkeypatch, test_clock):
    monkeypatch.setattr(fidelity, "LOW_RUNG_ROWS", 2000)  # one rung: 1/3, the lowest
    monkeypatch.setattr(fidelity, "TOP_MAX_SHARE", 0.0)
    monkeypatch.setattr(fidelity, "FULL_FOLD_PREDICT_MARGIN", 1e12)  # cut at its first round
    test = skin.drop(columns="skin").iloc[:200]
    with pytest.warns(bt.BudgetWarning, match="no full-data trial"):
        result = bt.tune(skin, "skin", test=test, **OPTIONS)
    (low,) = result.manifest.headstart["fidelity"]["rungs"]
    assert low["share"] == 1 / 3 and low["folds"] == 2 == result.folds.n_splits
    assert not result.manifest.search["full_fold"]["delivered"]
    assert len(result.ensemble.members) == 2  # the rung's models of its 2 folds
    validated = np.concatenate([valid for _, valid in result.folds.splits])
    assert result.oof["pred"].notna().sum() == len(validated)  # two thirds of the rows
    assert result.score.mean > 0.9 and sorted(result.score.table["fold"].unique()) == [0, 1]
    np.testing.assert_allclose(result.predict(test), result.test_pred["pred"])
