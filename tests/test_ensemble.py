"""Multi-model runs and ensemble selection over the kept trials, on real data and models."""

from __future__ import annotations

import json

import numpy as np
import pytest

import boosttune as bt
from boosttune.core.ambiguity import row_spread
from boosttune.core.blending import greedy_weights, select
from boosttune.core.folds import make_folds
from boosttune.core.task import make_task
from tests.conftest import FAST
from tests.test_cli import DEFAULT, QUICK, boosttune


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    from sklearn.datasets import load_breast_cancer
    frame = load_breast_cancer(as_frame=True).frame.sample(frac=1.0, random_state=0)
    train, test = frame.iloc[:450].reset_index(drop=True), frame.iloc[450:]
    result = bt.tune(train, "target", test=test.drop(columns="target"),
                     model=["lightgbm", "xgboost"], **{**FAST, "n_trials": 6})
    return result, test


def test_each_backend_is_searched_on_the_same_folds_and_ensembled(two_models):
    result, test = two_models
    assert result.model == "ensemble" and list(result.by_model) == ["lightgbm", "xgboost"]
    digests = {m: r.folds.digest() for m, r in result.by_model.items()}
    assert len(set(digests.values())) == 1 and result.folds.digest() == digests["lightgbm"]
    weights = [m["weight"] for m in result.members]
    assert all(w > 0 for w in weights) and sum(weights) == pytest.approx(1.0)
    assert {m["model"] for m in result.members} <= {"lightgbm", "xgboost"}
    found = result.manifest.evaluation["ensemble"]
    assert found["honest_score"] == result.score.mean
    assert found["oof_score"] == result.score.oof_score
    assert found["candidates"] == sum(len(r.kept) for r in result.by_model.values())
    assert result.params == min(result.by_model.values(), key=lambda r: -r.score.mean).params
    prediction = result.predict(test.drop(columns="target"))
    np.testing.assert_allclose(prediction, result.test_pred["pred"].to_numpy())
    # the delivered estimate: the honest CV plus the delivery gain the first backend measured
    # (the others' searches keep no time for replicas)
    found = result.score.delivered
    assert found.cv_score == result.score.mean and found.n_test == len(test)
    assert result.by_model["xgboost"].score.delivered is None
    first = result.by_model["lightgbm"].score.delivered
    assert first.folds_checked == found.folds_checked > 0
    assert found.gain == pytest.approx(first.gain)
    assert 0 <= found.interval[0] < found.delivered < found.interval[1] <= 1
    # the backends drew no interval or curves of their own; the manifest keeps the run's
    assert all(r.curves is None for r in result.by_model.values())
    assert first.n_test is None and np.isnan(first.interval[0])
    assert result.manifest.config["evaluation"]["interval"] is True


def test_the_ensemble_directory_holds_its_members(two_models, tmp_path):
    result, _ = two_models
    result.save(tmp_path / "run")
    members = json.loads((tmp_path / "run" / "ensemble.json").read_text())["members"]
    assert [m["weight"] for m in members] == [m["weight"] for m in result.members]
    loaded = bt.TuneResult.load(tmp_path / "run")
    assert loaded.model == "ensemble" and loaded.score.mean == result.score.mean
    assert {"model", "trial", "weight", "cv_score", "params"} <= set(members[0])


def test_kept_trials_are_bounded(breast_cancer):
    result = bt.tune(breast_cancer, "target", model=["lightgbm", "xgboost"],
                     finalize=bt.Finalize(ensemble=2), **{**FAST, "n_trials": 5})
    assert all(len(r.kept) == 2 for r in result.by_model.values())
    goal = [sorted((k.score for k in r.kept), reverse=True) for r in result.by_model.values()]
    for model, scores in zip(result.by_model, goal, strict=True):
        best = result.by_model[model].trials["value"].nlargest(2).tolist()
        assert scores == pytest.approx(best)  # the two best trials, not the first two


def test_kept_trials_stay_within_their_megabytes(breast_cancer):
    """A bound below two trials' models keeps one trial, the best; the manifest says what the
    kept trials hold, and that matches their pickled fold models and OOF arrays."""
    free = bt.tune(breast_cancer, "target", model="lightgbm",
                   finalize=bt.Finalize(ensemble=4, ensemble_mb=10_000), **{**FAST, "n_trials": 5})
    sizes = [k.bytes for k in free.kept]
    assert len(sizes) == 4 and min(sizes) > free.kept[0].oof_bytes
    tight = 1.5 * max(sizes) / 2**20
    bounded = bt.tune(breast_cancer, "target", model=["lightgbm", "xgboost"],
                      finalize=bt.Finalize(ensemble=4, ensemble_mb=tight),
                      **{**FAST, "n_trials": 5})
    for model, run in bounded.by_model.items():
        assert 1 <= len(run.kept) < 4, model
        assert sum(k.bytes for k in run.kept) <= tight * 2**20 or len(run.kept) == 1
        assert run.kept[0].score == run.trials["value"].max()  # the best is always kept
    held = bounded.manifest.evaluation["ensemble"]["kept_bytes"]
    assert held == {m: sum(k.bytes for k in r.kept) for m, r in bounded.by_model.items()}
    with pytest.raises(bt.BoostTuneError, match="'ensemble_mb' parameter must be a positive"):
        bt.Finalize(ensemble_mb=0)


def test_the_honest_score_does_not_see_the_fold_it_scores(breast_cancer):
    """A candidate that is perfect on fold 0's rows only: selection on every row rewards it
    on fold 0, selection without fold 0 does not, so the honest score there is lower."""
    task = make_task(breast_cancer, "target")
    folds = make_folds(task, 3, "stratified", 0)
    run = bt.tune(breast_cancer, "target", finalize=bt.Finalize(ensemble=1), **FAST)
    honest_model = run.kept[0].oof
    leaky = np.full(task.n_rows, 0.5)
    leaky[folds.splits[0][1]] = task.y[folds.splits[0][1]]
    chosen = select(task, folds, [honest_model, leaky])
    assert chosen.weights[1] > 0  # on every row the leak helps
    assert chosen.oof_score > chosen.honest_score
    without_fold_0 = greedy_weights(task, [honest_model, leaky], folds.splits[1][1])
    assert without_fold_0[1] == 0  # where the leak is only noise, it is never picked


def test_a_bad_model_list_is_refused_before_training(breast_cancer):
    with pytest.raises(bt.BoostTuneError, match="list of distinct backends"):
        bt.tune(breast_cancer, "target", model=["lightgbm", "lightgbm"], **FAST)
    with pytest.raises(bt.BoostTuneError, match=r"did you mean 'xgboost'"):
        bt.tune(breast_cancer, "target", model=["lightgbm", "xgboots"], **FAST)
    with pytest.raises(bt.BoostTuneError, match="nested CV tunes one model"):
        bt.tune(breast_cancer, "target", model=["lightgbm", "xgboost"],
                evaluation=bt.Evaluation(nested=2), **FAST)


def test_cli_models_add_an_ensemble_run(tmp_path):
    done = boosttune("run", DEFAULT, "--out", tmp_path, "--models", "lightgbm,xgboost", *QUICK)
    assert done.returncode == 0, done.stderr
    assert "honest CV" in done.stdout and "best single" in done.stdout
    board = json.loads(boosttune("leaderboard", tmp_path, "--format", "json").stdout)
    assert sorted(r["model"] for r in board) == ["ensemble", "lightgbm", "xgboost"]
    ensemble_dir = next(tmp_path.glob("breast_cancer-ensemble-*"))
    assert (ensemble_dir / "submission.csv").exists() and (ensemble_dir / "ensemble.json").exists()
    row = next(r for r in board if r["model"] == "ensemble")
    assert row["holdout"] is not None and row["holdout"] > 0.9
    # each model ran on its own timeout here: each keeps its estimate, interval and curves
    assert all(r["prediction_interval"] is not None for r in board)
    assert all(r["delivered_est"] is not None for r in board)
    assert len(list(tmp_path.glob("breast_cancer-xgboost-*/curves.parquet"))) == 1


def test_the_estimators_take_a_model_list(breast_cancer):
    from boosttune.sklearn import BoostTuneClassifier
    X, y = breast_cancer.drop(columns="target"), breast_cancer["target"]
    clf = BoostTuneClassifier(model=["lightgbm", "xgboost"], n_trials=3, cv=3, n_jobs=2,
                              max_rounds=200).fit(X, y)
    assert clf.result_.model == "ensemble" and clf.predict_proba(X).shape == (len(X), 2)
    assert set(clf.predict(X)) <= {0, 1} and clf.best_score_ == clf.result_.score.mean


def test_the_report_shows_members_and_weights(two_models, tmp_path):
    result, _ = two_models
    result.save(tmp_path / "run")
    loaded = bt.TuneResult.load(tmp_path / "run")
    summary = dict(loaded.report().summary)
    assert summary["ensemble"].startswith("honest CV ")
    lines = summary["members (weight)"].splitlines()
    assert len(lines) == len(result.members)
    assert lines[0].startswith(f"{result.members[0]['weight']:.3f}  {result.members[0]['model']}")


class _Probe:
    """A probed search as run_models sees it: its prepared data and its best run so far."""

    def __init__(self, prepared, run):
        self.prepared, self.run = prepared, run

    def best_run(self):
        return self.run


def test_a_backend_clearly_behind_after_its_probe_gets_less_of_the_rest(breast_cancer):
    """Real CV runs on the same folds: a tuned-looking LightGBM and a crippled one (stumps,
    a tiny learning rate, 10 rounds); the crippled one is clearly behind, a near twin not."""
    from boosttune.config import build_config
    from boosttune.pipeline.ensemble import BEHIND_WEIGHT, standing
    from boosttune.pipeline.prepare import prepare
    from boosttune.search.crossval import cross_validate
    config = build_config(model="lightgbm", cv=5, fit=bt.Fit(max_rounds=200, n_jobs=2))
    prepared = prepare(breast_cancer, "target", None, config, 0.0)

    def run(**params):
        return cross_validate(prepared.backend, {**prepared.space.fixed, **params}, 0)

    good = run(learning_rate=0.05, num_leaves=15)
    twin = run(learning_rate=0.06, num_leaves=15)
    crippled = run(learning_rate=0.001, max_depth=1, num_leaves=2, n_estimators=10)
    weights = standing({"a": _Probe(prepared, good), "b": _Probe(prepared, crippled),
                        "c": _Probe(prepared, twin)})
    assert weights == {"a": 1.0, "b": BEHIND_WEIGHT, "c": 1.0}
    assert standing({"a": _Probe(prepared, good), "b": _Probe(prepared, None)}) == {
        "a": 1.0, "b": 1.0}  # no complete trial yet: nothing to judge it by


def test_a_timed_multi_model_run_probes_then_splits_the_rest(breast_cancer):
    result = bt.tune(breast_cancer, "target", model=["lightgbm", "xgboost"], timeout=12,
                     **{**FAST, "n_trials": None})
    split = result.manifest.evaluation["ensemble"]["split"]
    assert set(split) == {"lightgbm", "xgboost"}
    assert all(s["probe_seconds"] == pytest.approx(0.3 * 12 * 0.95 / 2) for s in split.values())
    for model, one in result.by_model.items():
        begun = [t.datetime_start for t in one.study.trials if t.datetime_start]
        after = np.array([(b - begun[0]).total_seconds() for b in begun])
        # trials began both within its probe and after the other backend's probe
        assert (after < split[model]["probe_seconds"]).any()
        assert (after > split[model]["probe_seconds"] + 0.5).any()
    assert result.manifest.timing["wall_seconds"] <= 12 * 1.05 + 3


def test_members_are_fit_over_every_seed_of_the_run(breast_cancer):
    result = bt.tune(breast_cancer, "target", model=["lightgbm", "xgboost"], seeds=2,
                     **{**FAST, "n_trials": 4})
    assert result.members and all(m["seeds"] == 2 for m in result.members)
    for _, part in result.ensemble.parts:
        assert len(part.members) == 2 * result.folds.n_splits
    one_seed = bt.tune(breast_cancer, "target", model=["lightgbm", "xgboost"],
                       **{**FAST, "n_trials": 4})
    assert all(m["seeds"] == 1 for m in one_seed.members)


def test_a_member_is_refit_over_other_seeds_only_where_the_timeout_leaves_room(breast_cancer):
    import time

    from boosttune.config import build_config
    from boosttune.pipeline.ensemble import _reseeder
    from boosttune.pipeline.prepare import prepare

    run = bt.tune(breast_cancer, "target", finalize=bt.Finalize(ensemble=1), **FAST)
    kept = run.kept[0]
    config = build_config(model="lightgbm", seeds=3, cv=3, fit=FAST["fit"])
    probe = _Probe(prepare(breast_cancer, "target", None, config, 0.0), None)
    fits = _reseeder(config, {"lightgbm": probe}, time.perf_counter())(kept)
    assert len(fits) == 2 * 3  # two more seeds, three folds each
    spent = build_config(config, timeout=5.0)
    late = time.perf_counter() - 5.0 + kept.seconds  # less than 1.5 x two runs' time left
    assert _reseeder(spent, {"lightgbm": probe}, late)(kept) == []


def test_the_split_shares_search_time_with_each_backends_finalize_on_top():
    import time

    from boosttune.config import build_config
    from boosttune.pipeline.ensemble import SELECTION_SHARE, _share

    config = build_config(model=["lightgbm", "xgboost"], timeout=60)
    search = 60 * (1 - SELECTION_SHARE)  # 57 s
    now = time.perf_counter()
    # the first backend's finalize (10 s: replicas, a refit) does not shorten its search
    assert _share(config, now, [1.0, 1.0], 0.0, [10.0, 0.0]) == pytest.approx(
        (search - 10) / 2 + 10, abs=0.05)
    assert _share(config, now, [1.0, 0.25], 2.0, [0.0, 0.0]) == pytest.approx(
        (search - 2) * 0.8, abs=0.05)
    # no search time left (letter: two first trials of 24 s): the finalizes share what is
    left = search - 50
    assert _share(config, now - 50, [1.0, 0.25], 0.0, [11.0, 3.0]) == pytest.approx(
        left * 11 / 14, abs=0.05)
    assert _share(config, now - 70, [1.0], 0.0, [3.0]) == 1.0  # past the budget: a second


def test_with_test_rows_an_ensembles_regression_gain_is_its_models_spread_past_its_oof(
        diamonds):
    train, test = diamonds.iloc[:1100], diamonds.iloc[1100:].drop(columns="price")
    result = bt.tune(train, "price", test=test, model=["lightgbm", "xgboost"],
                     **{**FAST, "n_trials": 4})
    found = result.score.delivered
    assert found.folds_checked == 0 and "spread of the" in found.basis
    # no backend replicated its delivery: each one's own gain is its spread too
    assert all("spread of the" in r.score.delivered.basis
               for r in result.by_model.values() if r.score.delivered is not None)
    assert found.cv_score == result.score.mean and found.gain < 0
    np.testing.assert_allclose(result.predict(test), result.test_pred["pred"].to_numpy())
    # the honest score blends the members' OOF predictions already: the spread it has is
    # taken off, so the gain is smaller than the whole spread's
    whole = np.sqrt(found.cv_score ** 2 - np.mean(
        row_spread("rmse", result.ensemble.member_predictions(
            result.ensemble.encoder.transform(test))))) - found.cv_score
    assert whole < found.gain < 0
