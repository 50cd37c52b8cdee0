"""tune() end to end: real LightGBM and XGBoost fits on small real data, no mocks."""

from __future__ import annotations

import importlib.util
import json

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

import boosttune as bt
from boosttune.backends import backend_spec
from boosttune.core.manifest import Manifest
from boosttune.core.metrics import METRICS
from tests.conftest import FAST

MODELS = ["lightgbm", "xgboost"]


@pytest.mark.parametrize("model", MODELS)
def test_binary_with_categoricals_and_nan(adult, model):
    train, test = adult.iloc[:1200], adult.iloc[1200:]
    result = bt.tune(train, "class", test=test.drop(columns="class"), model=model,
                     metric="auc", seeds=2, **FAST)
    assert 0.8 < result.score.mean < 1.0
    assert result.score.n_seeds == 2 and len(result.score.table) == 2 * 3
    assert set(result.oof.columns) == {"row", "fold", "pred", "target"}
    assert result.oof["pred"].between(0, 1).all()
    assert result.test_pred is not None and len(result.test_pred) == len(test)
    held_out = roc_auc_score(test["class"] == ">50K", result.test_pred["pred"])
    assert held_out > 0.8
    np.testing.assert_allclose(result.predict(test), result.test_pred["pred"])


CATEGORICAL_CAP = {"lightgbm": {"max_cat_threshold": 4}, "xgboost": {"max_cat_to_onehot": 4}}


@pytest.mark.parametrize("model", MODELS)
def test_categorical_handling_is_recorded_and_overridable(adult, model):
    cap = CATEGORICAL_CAP[model]
    result = bt.tune(adult.iloc[:1200], "class", model=model, fixed=cap, **FAST)
    record = result.manifest.resolved["categoricals"]
    assert record["handling"] == "native"
    assert record["levels"] == {name: len(values)
                                for name, values in result.manifest.categories.items()}
    assert record["levels"]["native-country"] > 10
    assert "fixed=" in record["override"]
    assert result.manifest.params_used.items() >= cap.items()


@pytest.mark.parametrize("model", MODELS)
def test_multiclass(iris, model):
    result = bt.tune(iris, "target", model=model, **FAST)
    assert result.score.metric == "multi_logloss" and result.score.mean < 0.5
    assert [c for c in result.oof.columns if c.startswith("pred_")] == ["pred_0", "pred_1",
                                                                       "pred_2"]
    np.testing.assert_allclose(result.oof.filter(like="pred_").sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("model", MODELS)
def test_regression_with_group_cv(diamonds, model):
    result = bt.tune(diamonds, "price", model=model, metric="rmse", groups="color",
                     drop=["color"], **FAST)
    assert result.folds.scheme == "group"
    assert result.score.mean < 0.5 * diamonds["price"].std()
    assert result.manifest.features == [c for c in diamonds.columns
                                           if c not in ("price", "color")]


def test_every_metric_runs_for_its_task(breast_cancer, iris, diabetes):
    for name, metric in METRICS.items():
        data = (diabetes if "regression" in metric.tasks
                else breast_cancer if "binary" in metric.tasks else iris)
        result = bt.tune(data, "target", metric=name, **{**FAST, "n_trials": 1})
        assert np.isfinite(result.score.mean), name


def test_custom_metric_with_direction(breast_cancer):
    def gini(y, p):
        return 2 * roc_auc_score(y, p) - 1

    result = bt.tune(breast_cancer, "target", metric=(gini, "maximize"), **FAST)
    assert result.score.metric == "gini" and 0.9 < result.score.mean <= 1.0


def test_score_recomputed_from_saved_oof_matches(adult, tmp_path):
    result = bt.tune(adult, "class", seeds=2, **FAST)
    path = result.save(tmp_path / "run")
    oof = pd.read_parquet(path / "oof.parquet")
    y = (oof["target"] == ">50K").to_numpy()
    fold_scores = [roc_auc_score(y[oof["fold"] == k], oof["pred"][oof["fold"] == k])
                   for k in range(3)]
    assert np.mean(fold_scores) == pytest.approx(result.score.oof_score, abs=1e-12)
    scores = pd.read_csv(path / "scores.csv")
    per_seed = scores.groupby("seed")["score"].mean()
    assert per_seed.mean() == pytest.approx(result.score.mean, abs=1e-12)
    assert per_seed.std() == pytest.approx(result.score.std, abs=1e-12)


def test_save_and_load_round_trip(adult, tmp_path):
    train, test = adult.iloc[:1200], adult.iloc[1200:].drop(columns="class")
    result = bt.tune(train, "class", test=test, **FAST)
    path = result.save(tmp_path / "run")
    assert sorted(p.name for p in path.iterdir()) == sorted(
        ["params.json", "oof.parquet", "test_pred.parquet", "folds.parquet", "scores.csv",
         "trials.csv", "selection.csv", "curves.parquet", "study.db", "manifest.json"])
    loaded = bt.TuneResult.load(path)
    assert loaded.study is not None and len(loaded.study.trials) == len(result.study.trials)
    pd.testing.assert_frame_equal(loaded.curves, result.curves)
    assert loaded.params == result.params and loaded.best_params == result.best_params
    pd.testing.assert_frame_equal(loaded.oof, result.oof)
    assert loaded.score.mean == result.score.mean
    assert len(loaded.trials) == FAST["n_trials"]
    manifest = Manifest.from_dict(json.loads((path / "manifest.json").read_text()))
    assert manifest.data["rows"] == 1200 and len(manifest.data["sha256"]) == 64
    assert {"lightgbm", "xgboost", "optuna"} <= set(manifest.versions)
    with pytest.raises(bt.BoostTuneError, match="holds no models"):
        loaded.predict(test)


def test_exported_params_load_into_sklearn_wrappers(breast_cancer, iris, capfd):
    X, y = breast_cancer.drop(columns="target"), breast_cancer["target"]
    lgb_params = bt.tune(breast_cancer, "target", **FAST).params
    capfd.readouterr()
    model = lgb.LGBMClassifier(**lgb_params).fit(X, y)
    assert model.booster_.num_trees() == lgb_params["n_estimators"]
    assert capfd.readouterr() == ("", "")  # silent, as boosttune trains (no split warnings)
    xgb_params = bt.tune(iris, "target", model="xgboost", **FAST).params
    fitted = xgb.XGBClassifier(**xgb_params).fit(iris.drop(columns="target"), iris["target"])
    assert fitted.get_booster().num_boosted_rounds() == xgb_params["n_estimators"]


def test_encode_makes_text_columns_categories_the_exported_params_fit_on(adult, tmp_path):
    X = adult.drop(columns="class")
    result = bt.tune(adult, "class", model="xgboost", **FAST)
    y = result.class_codes(adult["class"])
    assert result.params["enable_categorical"] is True
    with pytest.raises(ValueError, match="must be int, float, bool or category"):
        xgb.XGBClassifier(**result.params).fit(X, y)  # why encode is needed
    encoded = bt.TuneResult.load(result.save(tmp_path / "run")).encode(X)
    assert list(encoded.columns) == list(X.columns)
    assert list(encoded["workclass"].cat.categories) == result.manifest.categories["workclass"]
    assert encoded["workclass"].isna().sum() == X["workclass"].isna().sum()
    model = xgb.XGBClassifier(**result.params).fit(encoded, y)
    assert model.get_booster().num_boosted_rounds() == result.params["n_estimators"]
    unseen = X.head(3).assign(workclass="never seen")
    with pytest.warns(UserWarning, match="not seen in training"):
        assert result.encode(unseen)["workclass"].isna().all()


def test_same_seed_gives_identical_params_and_oof_bytes(adult, tmp_path):
    paths = [bt.tune(adult, "class", **FAST).save(tmp_path / f"run{i}") for i in range(2)]
    params = [json.loads((p / "params.json").read_text()) for p in paths]
    assert params[0] == params[1]
    assert (paths[0] / "oof.parquet").read_bytes() == (paths[1] / "oof.parquet").read_bytes()
    other = bt.tune(adult, "class", **{**FAST, "n_trials": 4}, seed=1)
    assert other.params != params[0]


def test_inner_early_stopping_never_fits_on_the_scored_fold(breast_cancer):
    fold = bt.tune(breast_cancer, "target", early_stopping="fold", **FAST)
    inner = bt.tune(breast_cancer, "target", early_stopping="inner", **FAST)
    assert inner.manifest.config["fit"]["early_stopping"] == "inner"
    assert inner.score.mean != fold.score.mean


def test_curves_and_best_iteration_are_recorded(breast_cancer):
    from boosttune.backends import FitSettings, backend_spec
    from boosttune.core.task import make_task

    task = make_task(breast_cancer, "target")
    backend = backend_spec("lightgbm").build(
        task, bt.make_folds(task, 3), FitSettings(max_rounds=500, early_stopping_rounds=10), {})
    fit = backend.fit_fold({"learning_rate": 0.3}, 0, seed=0)
    assert set(fit.curves) == {"valid"}
    assert len(fit.curves["valid"]) == fit.n_rounds + 10
    assert fit.curves["valid"][fit.n_rounds - 1] == max(fit.curves["valid"])


def test_pruner_stops_hopeless_trials(adult):
    result = bt.tune(adult, "class", **{**FAST, "n_trials": 16}, pruner="median")
    assert result.manifest.search["n_pruned"] > 0
    pruned = result.trials[result.trials["state"] == "PRUNED"]
    assert (pruned["user_attrs_pruned_after_folds"] < 3).all()


@pytest.mark.parametrize("sampler", ["random", "grid", "qmc"])
def test_samplers_by_name(breast_cancer, sampler):
    space = bt.preset("lightgbm", "fast").without("min_child_samples", "feature_fraction")
    result = bt.tune(breast_cancer, "target", space=space, sampler=sampler,
                     **{**FAST, "n_trials": 3 if sampler != "grid" else None})
    expected = 9 if sampler == "grid" else 3
    assert len(result.trials) == expected


def test_the_cmaes_sampler_runs_where_its_extra_is_installed_and_says_how_elsewhere(
        breast_cancer):
    # both environments of CI: the full one has the extra, the Kaggle-pinned one does not
    run = {"search": bt.Search(sampler="cmaes"), **{**FAST, "n_trials": 2}}
    if importlib.util.find_spec("cmaes") is None:
        with pytest.raises(bt.BoostTuneError, match=r'pip install "boosttune\[cmaes\]"'):
            bt.tune(breast_cancer, "target", **run)
    else:
        assert len(bt.tune(breast_cancer, "target", **run).trials) == 2


def test_timeout_ends_an_open_ended_search(adult):
    # no n_trials: only the budget can end the search; no upper timing bound is asserted
    result = bt.tune(adult, "class", **{**FAST, "n_trials": None}, timeout=4, seeds=2)
    assert result.manifest.search["n_complete"] >= 1
    assert result.manifest.timing["search_seconds"] >= 2
    assert result.score.n_seeds == 2


@pytest.mark.parametrize("pruner", ["median", "successive_halving", "hyperband", "wilcoxon",
                                    "none"])
def test_pruners_by_name(adult, pruner):
    result = bt.tune(adult, "class", pruner=pruner, **{**FAST, "n_trials": 8})
    assert len(result.trials) == 8
    if pruner == "none":
        assert result.manifest.search["n_pruned"] == 0


def test_unknown_sampler_pruner_or_refit_is_explained(breast_cancer):
    with pytest.raises(bt.BoostTuneError, match="'sampler' parameter must be one of"):
        bt.tune(breast_cancer, "target", sampler="bayes", **FAST)
    with pytest.raises(bt.BoostTuneError, match="'pruner' parameter must be one of"):
        bt.tune(breast_cancer, "target", pruner="asha", **FAST)
    with pytest.raises(bt.BoostTuneError, match=r"'refit' parameter must be one of \['folds'"):
        bt.tune(breast_cancer, "target", refit=True, **FAST)


def test_sklearn_splitter_as_cv(diamonds):
    groups = diamonds["clarity"]
    result = bt.tune(diamonds, "price", cv=GroupKFold(3), groups=groups,
                     **{k: v for k, v in FAST.items() if k != "cv"})
    assert result.folds.n_splits == 3


def test_fixing_a_binning_param_is_allowed_searching_it_is_not(breast_cancer):
    fixed = bt.tune(breast_cancer, "target", fixed={"max_bin": 63}, **FAST)
    assert fixed.params["max_bin"] == 63
    space = bt.preset("lightgbm", "fast").with_dimension("max_bin", bt.Int(15, 255))
    with pytest.raises(bt.BoostTuneError, match=r"\['max_bin'\] shape the binned dataset"):
        bt.tune(breast_cancer, "target", space=space, **FAST)


def test_bad_param_value_is_reported_without_a_library_traceback(breast_cancer):
    with pytest.raises(bt.BoostTuneError, match="lightgbm rejected the fixed params"):
        bt.tune(breast_cancer, "target", fixed={"num_leaves": -3}, **FAST)


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_portfolio_starts_from_the_library_defaults(breast_cancer, model):
    result = bt.tune(breast_cancer, "target", model=model, **FAST)
    first, second = (t.params for t in result.study.trials[:2])
    low = 1e-8  # the defaults' zero penalties, clipped into the log-scaled range
    if model == "lightgbm":  # the defaults with subsampling, then the defaults themselves
        assert (first["feature_fraction"], first["bagging_fraction"]) == (0.6, 0.8)
        assert (second["feature_fraction"], second["bagging_fraction"]) == (1.0, 1.0)
        assert first["learning_rate"] == second["learning_rate"] == 0.1
        assert first["lambda_l1"] == second["lambda_l1"] == low
    else:
        assert first["learning_rate"] == 0.3
        assert first["reg_alpha"] == low
    assert result.manifest.headstart["portfolio"] == len(backend_spec(model).portfolio)
    plain = bt.tune(breast_cancer, "target", model=model, **FAST, portfolio=False)
    assert plain.study.trials[0].params["learning_rate"] != first["learning_rate"]
    assert "portfolio" not in plain.manifest.headstart


def test_a_short_run_enqueues_no_head_start_trial_it_will_not_run(breast_cancer):
    result = bt.tune(breast_cancer, "target", **{**FAST, "n_trials": 2})
    assert [t.state.name for t in result.study.trials] == ["COMPLETE", "COMPLETE"]
    assert result.manifest.search["n_trials"] == 2
    assert result.manifest.headstart["portfolio"] == 2


@pytest.mark.parametrize("model", MODELS)
def test_short_trials_of_a_timed_run_go_two_at_a_time(adult, model):
    # 2,000 rows: a trial takes well under 10% of 8 s, so the trials after the first run in
    # pairs; with categorical columns and NaN, each trial beside another on datasets of its own
    options = {**FAST, "n_trials": None, "timeout": 8, "n_jobs": 2}
    result = bt.tune(adult.iloc[:2000], "class", model=model, **options)
    assert result.manifest.search["trials_at_once"] == 2
    assert result.manifest.resolved["n_jobs"] == 2  # the threads are given back for finalize
    # the kept run is the best trial's, whichever thread ran it
    best = result.study.best_trial
    assert result.manifest.search["best_trial"] == best.number
    assert result.score.mean == pytest.approx(best.value)
    assert result.manifest.search["n_trials"] >= 10
    serial = bt.tune(adult.iloc[:2000], "class", model=model, **options, parallel_trials=False)
    assert serial.manifest.search["trials_at_once"] == 1


def test_a_trial_too_slow_to_finish_in_the_budget_is_cut_early(diamonds, test_clock):
    # the second trial (a rate of 0.0005: RMSE keeps falling for ~100,000 rounds) cannot
    # finish its 3 folds in 30 s; its pace gives it away during fold 1, so it is cut then,
    # not at the deadline, and the search goes on with the trials after it. The run's clock
    # is the test's (test_clock), so what is cut does not depend on this machine's speed
    space = bt.preset("lightgbm", "fast").with_range("learning_rate", 0.0005, 0.3)
    fast = {"learning_rate": 0.3, "num_leaves": 8}
    slow = {"learning_rate": 0.0005, "num_leaves": 256, "min_child_samples": 5}
    after_cut = {"learning_rate": 0.2, "num_leaves": 16}
    result = bt.tune(diamonds, "price", space=space, warm_start=[fast, slow, after_cut],
                     portfolio=False, search=bt.Search(parallel_trials=False),
                     **{**FAST, "n_trials": None, "timeout": 30, "max_rounds": 100_000})
    first, cut, *after = result.study.trials
    assert first.state == optuna.trial.TrialState.COMPLETE
    assert cut.params["learning_rate"] == 0.0005
    assert cut.state == optuna.trial.TrialState.PRUNED and cut.user_attrs["stopped_by_budget"]
    assert any(t.state == optuna.trial.TrialState.COMPLETE for t in after)


def test_a_first_trial_too_slow_for_the_budget_is_shortened_not_cut(diamonds, test_clock):
    # the only trial (a rate of 0.0005) would boost for ~100,000 rounds; as a study's first
    # trial it must finish, so each fold stops at its share of the search time and keeps
    # its best round so far: a usable model, a warning, the manifest says so
    slow = {"learning_rate": 0.0005, "num_leaves": 256, "min_child_samples": 5}
    space = bt.preset("lightgbm", "fast").with_range("learning_rate", 0.0005, 0.3)
    with pytest.warns(bt.BudgetWarning, match="no trial trained to its best round"):
        result = bt.tune(diamonds, "price", space=space, warm_start=[slow], portfolio=False,
                         seeds=3, **{**FAST, "n_trials": 1, "timeout": 30,
                                     "max_rounds": 100_000})
    trial = result.study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.user_attrs["shortened"]
    assert 10 < trial.user_attrs["n_rounds"] < 100_000
    assert result.manifest.search["shortened"] is True
    assert result.score.per_seed == [result.score.mean]  # used as it is: no seed re-runs
    assert result.trials["user_attrs_shortened"].iloc[0]
    assert np.isfinite(result.predict(diamonds.drop(columns="price").iloc[:5])).all()


def test_trials_stay_serial_without_a_timeout_or_with_one_thread(breast_cancer):
    untimed = bt.tune(breast_cancer, "target", **{**FAST, "n_jobs": 2})
    assert untimed.manifest.search["trials_at_once"] == 1
    one_thread = bt.tune(breast_cancer, "target",
                         **{**FAST, "n_trials": None, "timeout": 4, "n_jobs": 1})
    assert one_thread.manifest.search["trials_at_once"] == 1


def test_the_refit_of_a_blend_is_dropped_when_it_would_overrun_the_timeout(diamonds):
    import time

    from boosttune.pipeline.finalize import _affordable_refit
    from boosttune.search.budget import Budget

    folds = bt.tune(diamonds.head(500), "price", **FAST).folds.n_splits  # 3: a refit, 0.75 run
    fresh = Budget(timeout=60, extra_runs=0)
    nearly_spent = Budget(timeout=60, extra_runs=0, started=time.perf_counter() - 55)
    # the refits (0.75 run each), then the test predictions (0.15 run)
    assert _affordable_refit("blend", fresh, 10.0, 1, folds) == "blend"  # 9 s of 60 left
    assert _affordable_refit("blend", nearly_spent, 10.0, 1, folds) == "folds"  # of 5 left
    assert _affordable_refit("blend", nearly_spent, 1.0, 2, folds) == "blend"  # 1.65 s
    assert _affordable_refit("full", nearly_spent, 10.0, 1, folds) == "full"  # as asked
    assert _affordable_refit("blend", Budget(timeout=None, extra_runs=0), 1e9, 1,
                             folds) == "blend"


def test_the_search_keeps_time_for_replicas_only_where_they_cost_a_tenth_of_the_timeout():
    import time

    from boosttune.search.budget import FINALIZE_RUN_SHARE, REPLICA_MAX_SHARE, Budget

    # two replicas, 2.4 CV runs, and one run of finalize's own (a refit, a seed)
    budget = Budget(timeout=60, extra_runs=1.0, replica_runs=2.4, finalize_share=0.0,
                    started=time.perf_counter())
    budget.best_run_seconds = 2.0  # the replicas 4.8 s: under 6 s, kept back
    assert budget.replicas_affordable()
    assert budget.finalize_seconds() == pytest.approx((1.0 + 2.4 + FINALIZE_RUN_SHARE) * 2.0)
    budget.best_run_seconds = 3.0  # 7.2 s, over a tenth of 60 s: the search may use it
    assert REPLICA_MAX_SHARE * 60 < 2.4 * 3.0 and not budget.replicas_affordable()
    assert budget.finalize_seconds() == pytest.approx((1.0 + FINALIZE_RUN_SHARE) * 3.0)
    left = budget.search_seconds_left()
    assert left is not None and left == pytest.approx(60 - (1.0 + FINALIZE_RUN_SHARE) * 3.0,
                                                      abs=0.05)
    untimed = Budget(timeout=None, extra_runs=0.0, replica_runs=2.4)
    untimed.best_run_seconds = 1e6
    assert untimed.replicas_affordable()


def test_no_trial_starts_that_even_the_shortest_complete_one_would_not_finish():
    import time

    from boosttune.search.budget import PACE_MARGIN, Budget

    budget = Budget(timeout=60, extra_runs=0.0, finalize_share=0.0,
                    started=time.perf_counter() - 50)  # about 10 s of search left
    assert budget.room_for_trial()  # no complete trial yet: nothing to judge by
    budget.shortest_run_seconds = 10.0 * PACE_MARGIN * 0.9
    assert budget.room_for_trial()
    budget.shortest_run_seconds = 10.0 * PACE_MARGIN * 1.1
    assert not budget.room_for_trial() and not budget.exhausted()
    assert Budget(timeout=None, extra_runs=0.0, shortest_run_seconds=1e6).room_for_trial()


def test_a_low_rate_refit_lowers_the_learning_rate_and_grows_the_rounds(breast_cancer):
    import lightgbm as lgb

    options = {**FAST, "n_trials": 2}
    plain = bt.tune(breast_cancer, "target", finalize=bt.Finalize(refit="full"), **options)
    slow = bt.tune(breast_cancer, "target", finalize=bt.Finalize(refit="full", low_rate=4),
                   **options)
    assert slow.best_params == plain.best_params  # the same search
    assert slow.params["learning_rate"] == pytest.approx(plain.params["learning_rate"] / 4)
    assert slow.params["n_estimators"] == 4 * plain.params["n_estimators"]
    booster = slow.ensemble.full_members[0][0]
    assert booster.num_trees() == slow.params["n_estimators"]
    exported = lgb.LGBMClassifier(**slow.params).fit(breast_cancer.drop(columns="target"),
                                                      breast_cancer["target"])
    assert exported.booster_.num_trees() == slow.params["n_estimators"]
    with pytest.raises(bt.BoostTuneError, match="'low_rate' parameter must be a number"):
        bt.Finalize(low_rate=0)


@pytest.mark.parametrize("room_rule", [True, False])
def test_a_timed_search_starts_no_trial_once_none_would_finish(diamonds, test_clock, monkeypatch,
                                                               room_rule):
    """A real timed search on the test clock cuts at most two trials for the budget (one
    slower than the shortest may start and be cut), not a string of trials started with no
    time left, each cut in its first fold (the rule switched off, as before it, shows it)."""
    from boosttune.search.budget import Budget

    if not room_rule:
        monkeypatch.setattr(Budget, "room_for_trial", lambda self: True)
    result = bt.tune(diamonds, "price", **{**FAST, "n_trials": None, "timeout": 8})
    trials = result.trials
    assert (trials.state == "COMPLETE").sum() >= 2
    cut = int(trials.get("user_attrs_stopped_by_budget", pd.Series(dtype=object)).eq(True).sum())
    if room_rule:
        assert cut <= 2
    else:
        assert cut > 2
