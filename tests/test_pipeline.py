"""The pipeline's shape: option groups and their one table of flat names, stage timings in
the manifest, failed trials that do not abort the study, and the typed manifest."""

from __future__ import annotations

import json
import warnings

import optuna
import pandas as pd
import pytest

import boosttune as bt
from boosttune.config import MOVED, OPTIONS, RunConfig, build_config, default
from boosttune.core.space import Categorical
from boosttune.sklearn import BoostTuneClassifier
from tests.conftest import FAST


def test_every_old_flat_name_maps_to_a_group_field_with_its_default() -> None:
    config = RunConfig()
    for name, where in MOVED.items():
        if "." in where:
            group, field = where.split(".")
            assert getattr(getattr(config, group), field) == default(name)
    assert default("n_trials") is None and default("sampler") == "tpe"
    # the estimators take their defaults from the same table
    params = BoostTuneClassifier().get_params()
    for name in ("n_trials", "sampler", "pruner", "max_rounds", "preset", "refit"):
        assert params[name] == default(name)


def test_old_flat_names_still_work_with_a_deprecation_warning(breast_cancer) -> None:
    with pytest.warns(DeprecationWarning, match=r"tune\(sampler=\.\.\.\) is deprecated.*"
                      r"search=bt\.Search\(sampler=\.\.\.\)"):
        old = bt.tune(breast_cancer, "target", sampler="random", **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new = bt.tune(breast_cancer, "target", search=bt.Search(sampler="random"), **FAST)
    assert old.best_params == new.best_params and old.score.mean == new.score.mean
    assert new.manifest.config["search"]["sampler"] == "random"


def test_groups_are_checked_where_they_are_built() -> None:
    with pytest.raises(bt.BoostTuneError, match=r"'sampler' parameter must be one of .*"
                       r"did you mean 'random'"):
        bt.Search(sampler="randon")
    with pytest.raises(bt.BoostTuneError, match="'max_rounds' parameter must be an integer"):
        bt.Fit(max_rounds=0)
    with pytest.raises(bt.BoostTuneError, match="'refit' parameter must be one of"):
        bt.Finalize(refit="everything")
    with pytest.raises(bt.BoostTuneError, match=r"Unknown option 'n_trails' \(did you mean "
                       "'n_trials'"):
        build_config(n_trails=3)
    with pytest.raises(bt.BoostTuneError, match=r"'fit' parameter must be a bt\.Fit"):
        RunConfig(fit={"max_rounds": 3})  # type: ignore[arg-type]
    assert set(OPTIONS) >= set(MOVED)


def test_seeds_count_from_the_seed_given_in_any_order() -> None:
    assert build_config(seed=7).seed_list == [7]
    assert build_config(seeds=3, seed=7).seed_list == [7, 8, 9]
    assert build_config(seed=7, seeds=[1, 4]).seed_list == [1, 4]
    with pytest.raises(bt.BoostTuneError, match=r"'seeds' parameter .* a list of distinct"):
        build_config(seeds=[2, 2])


def test_the_manifest_records_the_groups_and_the_time_of_each_stage(breast_cancer,
                                                                    tmp_path) -> None:
    result = bt.tune(breast_cancer, "target", cv=bt.CV(3, scheme="kfold"),
                     n_trials=3, progress=False, fit=bt.Fit(max_rounds=200, n_jobs=2))
    config = result.manifest.config
    assert config["cv"] == {"folds": 3, "scheme": "kfold", "groups": None, "reshuffle": False}
    assert config["fit"]["max_rounds"] == 200 and config["finalize"]["refit"] is None
    assert result.manifest.resolved["refit_used"] == "blend"  # LightGBM's default
    stages = result.manifest.stage_seconds
    assert list(stages) == ["prepare", "search", "finalize"]
    assert all(s > 0 for s in stages.values())
    assert sum(stages.values()) <= result.manifest.wall_seconds + 1e-6
    saved = json.loads((result.save(tmp_path / "run") / "manifest.json").read_text())
    assert list(saved["timing"]["stages"]) == ["prepare", "search", "finalize", "export"]
    assert bt.TuneResult.load(tmp_path / "run").manifest.stage_seconds["export"] > 0


def test_a_trial_whose_params_the_library_rejects_fails_and_the_search_goes_on(
        breast_cancer) -> None:
    space = bt.preset("lightgbm", "fast").with_dimension(
        "boosting", Categorical(("gbdt", "no_such_boosting")))
    result = bt.tune(breast_cancer, "target", space=space, n_trials=8, progress=False,
                     cv=3, search=bt.Search(portfolio=False), fit=bt.Fit(max_rounds=100))
    states = result.trials["state"].tolist()
    assert "FAIL" in states and "COMPLETE" in states
    failed = result.trials[result.trials["state"] == "FAIL"]
    assert (failed["params_boosting"] == "no_such_boosting").all()
    assert failed["user_attrs_rejected_by_library"].str.contains(
        "lightgbm rejected the params").all()
    assert result.best_params["boosting"] == "gbdt"
    assert result.manifest.search["n_failed"] == len(failed)


def test_every_trial_rejected_is_one_clear_error(breast_cancer) -> None:
    space = bt.preset("lightgbm", "fast").with_dimension(
        "boosting", Categorical(("bad_one", "bad_two")))
    with pytest.raises(bt.BoostTuneError, match="Every trial failed: lightgbm rejected the "
                       "params"):
        bt.tune(breast_cancer, "target", space=space, n_trials=3, progress=False, cv=3,
                search=bt.Search(portfolio=False), fit=bt.Fit(max_rounds=50))


def test_a_damaged_manifest_is_named_with_its_file(breast_cancer, tmp_path) -> None:
    path = bt.tune(breast_cancer, "target", **FAST).save(tmp_path / "run")
    (path / "manifest.json").write_text("{ not json")
    with pytest.raises(bt.BoostTuneError, match=r"run/manifest.json is not valid JSON"):
        bt.TuneResult.load(path)
    (path / "manifest.json").write_text(json.dumps({"model": "lightgbm"}))
    with pytest.raises(bt.BoostTuneError, match="the manifest lacks"):
        bt.TuneResult.load(path)


def test_trials_table_states_are_optuna_names() -> None:
    # the failed-trial test above reads Optuna's state names from the trials table
    assert optuna.trial.TrialState.FAIL.name == "FAIL"
    assert isinstance(pd.DataFrame, type)
