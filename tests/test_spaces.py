"""Search spaces: presets, conditional dims, narrowing, fixing, printing."""

from __future__ import annotations

import optuna
import pytest

import boosttune as bt
from boosttune.backends import tiers


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("tier", tiers())
def test_presets_sample_inside_their_ranges(model, tier):
    space = bt.preset(model, tier)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        params = space.suggest(trial)
        for name, value in params.items():
            dim = space.dimensions[name]
            if isinstance(dim, bt.Categorical):
                assert value in dim.choices
            else:
                assert dim.low <= value <= dim.high
        study.tell(trial, 0.0)


def test_fast_tier_is_smaller_than_default():
    for model in ("lightgbm", "xgboost"):
        assert len(bt.preset(model, "fast").dimensions) < len(bt.preset(model, "default")
                                                               .dimensions)


def test_xgboost_max_leaves_only_under_lossguide():
    space = bt.preset("xgboost", "default")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        params = space.suggest(trial)
        policy = params["grow_policy"]
        seen.add(policy)
        assert ("max_leaves" in params) == (policy == "lossguide")
        assert ("max_depth" in params) == (policy == "depthwise")
        study.tell(trial, 0.0)
    assert seen == {"depthwise", "lossguide"}


def test_narrow_widen_fix_and_drop_leave_the_preset_unchanged():
    base = bt.preset("lightgbm")
    changed = base.with_range("learning_rate", 0.01, 0.05).fix(num_leaves=31).without("lambda_l1")
    lr = changed.dimensions["learning_rate"]
    assert isinstance(lr, bt.Float) and (lr.low, lr.high, lr.log) == (0.01, 0.05, True)
    assert changed.fixed["num_leaves"] == 31 and "num_leaves" not in changed.dimensions
    assert "lambda_l1" not in changed.dimensions
    assert bt.preset("lightgbm").dimensions == base.dimensions
    assert "num_leaves" in base.dimensions


def test_space_prints_as_a_table():
    text = str(bt.preset("xgboost", "default"))
    assert text.splitlines()[0] == "search space 'xgboost/default'"
    assert "max_leaves" in text and "(when grow_policy = 'lossguide')" in text


@pytest.mark.parametrize(("build", "message"), [
    (lambda: bt.SearchSpace({"a": bt.Float(2.0, 1.0)}), "low 2.0 above high 1.0"),
    (lambda: bt.SearchSpace({"a": bt.Float(0.0, 1.0, log=True)}), "log-scaled"),
    (lambda: bt.SearchSpace({"b": bt.Int(1, 3, when=("a", 1))}), "depends on 'a'"),
    (lambda: bt.SearchSpace({"a": bt.Int(1, 3)}, {"a": 2}), "both searched and fixed"),
    (lambda: bt.preset("lightgbm").with_range("nope", 1, 2), "'nope' is not searched"),
    (lambda: bt.preset("lightgbmx"), "The 'model' parameter must be one of"),
])
def test_bad_spaces_are_explained(build, message):
    with pytest.raises(bt.BoostTuneError, match=message):
        build()
