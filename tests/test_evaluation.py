"""Honest evaluation: intervals, seed-robust selection, default vs tuned, early-stopping
policies and nested CV, on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import boosttune as bt
from boosttune.core.statistics import corrected_std_error
from tests.conftest import FAST


def test_every_score_has_a_documented_interval(adult):
    result = bt.tune(adult, "class", seeds=2, **FAST)
    score = result.score
    table = score.table["score"].to_numpy()
    folds = result.folds.splits
    ratio = np.mean([len(v) / len(t) for t, v in folds])
    expected_se = np.sqrt((1 / len(table) + ratio) * np.var(table, ddof=1))
    assert score.std_error == pytest.approx(expected_se)
    half = stats.t.ppf(0.975, len(table) - 1) * expected_se
    # AUC lives in [0, 1]: the interval is mean ± half on the logit scale (delta method)
    logit, slope = np.log(score.mean / (1 - score.mean)), 1 / (score.mean * (1 - score.mean))
    ends = [1 / (1 + np.exp(-(logit + sign * half * slope))) for sign in (-1, 1)]
    assert score.interval == pytest.approx(tuple(ends))
    assert ends[1] - score.mean < half < score.mean - ends[0]  # skewed away from 1
    assert "95% interval" in str(score)


def test_corrected_error_is_wider_than_the_naive_one():
    values = np.array([0.90, 0.91, 0.93, 0.92, 0.90])
    naive = np.std(values, ddof=1) / np.sqrt(len(values))
    assert corrected_std_error(values, 0.25) > naive


def test_top_k_selection_reevaluates_over_seeds(adult):
    result = bt.tune(adult, "class", seeds=2, top_k=3, select="lcb", **{**FAST, "n_trials": 6})
    table = result.selection
    assert table is not None and len(table) == 3
    assert list(table["search_rank"]) == [1, 2, 3]
    assert sorted(table["selected_rank"]) == [1, 2, 3]
    chosen = table[table["selected_rank"] == 1].iloc[0]
    assert chosen["bound"] == table["bound"].max()
    summary = result.evaluation["selection"]
    assert summary["chosen_trial"] == int(chosen["trial"])
    assert summary["stable"] == (summary["chosen_trial"] == summary["search_best_trial"])
    assert result.score.mean == pytest.approx(chosen["mean"])


def test_tuning_gain_over_defaults_is_paired_and_signed(diamonds):
    result = bt.tune(diamonds, "price", metric="rmse", seeds=2, compare_default=True, **FAST)
    gain = result.evaluation["tuned_minus_default"]
    assert gain["cells"] == 2 * 3
    assert gain["interval_95_low"] < gain["difference"] < gain["interval_95_high"]
    assert np.isfinite(gain["std_error"])


def test_early_stopping_policies_compared_on_the_same_folds(breast_cancer):
    result = bt.tune(breast_cancer, "target", compare_policies=True, **FAST)
    gap = result.evaluation["fold_minus_inner"]
    assert gap["cells"] == 3 and np.isfinite(gap["difference"])


def test_nested_cv_reports_outer_scores_and_optimism(breast_cancer, tmp_path):
    result = bt.tune(breast_cancer, "target", nested=3, **FAST)
    nested = result.nested
    assert nested is not None and len(nested.table) == 3
    assert nested.table["outer_score"].between(0.9, 1.0).all()
    assert nested.optimism == pytest.approx(nested.inner_mean - nested.outer_mean)
    assert set(nested.param_spread()) == set(result.best_params)
    loaded = bt.TuneResult.load(result.save(tmp_path / "run"))
    assert loaded.nested is not None
    pd.testing.assert_frame_equal(loaded.nested.table, nested.table, check_dtype=False)
    assert loaded.evaluation["nested"]["optimism"] == pytest.approx(nested.optimism)


def test_nested_cv_slices_array_groups_and_weights(diamonds):
    groups = diamonds["color"].to_numpy()
    weights = np.ones(len(diamonds))
    result = bt.tune(diamonds, "price", groups=groups, weights=weights, drop=["color"],
                     nested=2, **FAST)
    assert result.nested is not None and len(result.nested.table) == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"top_k": 0}, "'top_k' parameter must be an integer of at least 1"),
    ({"select": "max"}, "'select' parameter must be one of \\['mean', 'lcb'\\]"),
    ({"nested": 1}, "'nested' parameter must be an integer of at least 2"),
])
def test_bad_evaluation_options(breast_cancer, kwargs, message):
    with pytest.raises(bt.BoostTuneError, match=message):
        bt.tune(breast_cancer, "target", **FAST, **kwargs)
