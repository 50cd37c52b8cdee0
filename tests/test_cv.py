"""Fold schemes: each made once from a seed; bad combinations explained."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import ShuffleSplit

import boosttune as bt
from boosttune.core.folds import Folds, make_folds
from boosttune.core.task import make_task


def _valid_sets(folds: Folds) -> list[set[int]]:
    return [set(v.tolist()) for _, v in folds.splits]


def test_stratified_is_default_for_classification_and_seeded(breast_cancer):
    task = make_task(breast_cancer, "target")
    first, again = make_folds(task, 5, seed=1), make_folds(task, 5, seed=1)
    assert first.scheme == "stratified"
    assert _valid_sets(first) == _valid_sets(again)
    assert _valid_sets(first) != _valid_sets(make_folds(task, 5, seed=2))
    rates = [task.y[v].mean() for _, v in first.splits]
    assert max(rates) - min(rates) < 0.02
    assert (first.fold_of_row(task.n_rows) >= 0).all()


def test_group_folds_never_split_a_group(diamonds):
    task = make_task(diamonds, "price", groups="color")
    folds = make_folds(task, 3)
    assert folds.scheme == "group"
    for train, valid in folds.splits:
        assert not set(task.groups[train]) & set(task.groups[valid])


def test_stratified_group_and_predefined(adult):
    task = make_task(adult, "class", groups="education")
    folds = make_folds(task, 3, "stratified_group")
    for train, valid in folds.splits:
        assert not set(task.groups[train]) & set(task.groups[valid])
    fold_ids = np.arange(len(adult)) % 4
    predefined = make_folds(make_task(adult, "class", groups=fold_ids), scheme="predefined")
    assert predefined.n_splits == 4
    assert (predefined.fold_of_row(len(adult)) == fold_ids).all()


def test_time_folds_train_only_on_the_past(diabetes):
    order = np.random.default_rng(0).permutation(len(diabetes))
    task = make_task(diabetes, "target", groups=order)
    folds = make_folds(task, 4, "time")
    for train, valid in folds.splits:
        assert order[train].max() < order[valid].min()
    assert (folds.fold_of_row(task.n_rows) == -1).sum() > 0  # the first block is never validated


def test_sklearn_splitter_and_index_pairs(breast_cancer):
    task = make_task(breast_cancer, "target")
    splitter = make_folds(task, ShuffleSplit(3, test_size=0.2, random_state=0))
    assert splitter.n_splits == 3
    pairs = [(np.arange(0, 300), np.arange(300, 569)), (np.arange(269, 569), np.arange(0, 269))]
    assert make_folds(task, pairs).n_splits == 2


def test_folds_round_trip_through_a_frame(breast_cancer):
    task = make_task(breast_cancer, "target", groups=np.arange(len(breast_cancer)))
    folds = make_folds(task, 4, "time")
    back = Folds.from_frame(folds.to_frame(task.n_rows), folds.scheme, folds.seed)
    for (t1, v1), (t2, v2) in zip(folds.splits, back.splits, strict=True):
        assert (t1 == t2).all() and (v1 == v2).all()


def test_fewer_rows_than_folds(diabetes):
    task = make_task(diabetes.iloc[:6], "target")
    with pytest.raises(bt.BoostTuneError, match="cv=10 folds need at least 10 rows"):
        make_folds(task, 10, "kfold")


def test_rare_class_under_stratified_cv(iris):
    frame = iris.drop(index=iris.index[(iris["target"] == 2)][3:]).reset_index(drop=True)
    with pytest.raises(bt.BoostTuneError, match=r"at least 5 rows of each class.*\(2, 3\)"):
        make_folds(make_task(frame, "target"), 5)


def test_group_cv_without_groups(breast_cancer):
    with pytest.raises(bt.BoostTuneError, match="cv scheme 'group' needs the groups"):
        make_folds(make_task(breast_cancer, "target"), 5, "group")


def test_unknown_scheme(breast_cancer):
    with pytest.raises(bt.BoostTuneError, match="cv scheme must be one of"):
        make_folds(make_task(breast_cancer, "target"), 5, "random")


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_a_fit_that_must_finish_ends_at_its_best_round_when_its_time_is_up(diamonds, model):
    # a slow rate keeps the RMSE falling past round 40; the cut ends the fit there (keep)
    # instead of raising, and the model predicts with its best round so far
    from boosttune.backends.base import BudgetExhausted, Cut
    from boosttune.config import build_config
    from boosttune.pipeline.prepare import prepare

    prepared = prepare(diamonds, "price", None, build_config(model=model), 0.0)
    rounds = iter(range(10_000))
    params = {"learning_rate": 0.01}
    cut = Cut(lambda: next(rounds) >= 40, keep=True)
    fit = prepared.backend.fit_fold(params, 0, 0, stop=cut)
    assert cut.ended and 35 <= fit.n_rounds <= 41
    whole = prepared.backend.fit_fold(params, 0, 0)
    assert whole.n_rounds > 100
    assert np.isfinite(fit.valid_pred).all() and not np.allclose(fit.valid_pred,
                                                                 whole.valid_pred)
    with pytest.raises(BudgetExhausted):
        prepared.backend.fit_fold(params, 0, 0, stop=Cut(lambda: True))
    # a lowest rung's allotted time (``end``) keeps the best round too; its budget (``due``)
    # still cuts, even where ``end`` would keep
    rounds = iter(range(10_000))
    allotted = Cut(lambda: False, end=lambda: next(rounds) >= 40)
    fit = prepared.backend.fit_fold(params, 0, 0, stop=allotted)
    assert allotted.ended and allotted.kept and 35 <= fit.n_rounds <= 41
    spent = Cut(lambda: True, end=lambda: True)
    with pytest.raises(BudgetExhausted):
        prepared.backend.fit_fold(params, 0, 0, stop=spent)
    assert spent.ended and not spent.kept


def test_lightgbm_copies_fit_from_threads_at_once(adult):
    # parallel trials each take a copy of the backend that builds its own native datasets
    # from the shared rows; building them beside another copy's booster crashed a process
    # (segmentation fault), so datasets are built one at a time and come back built
    from concurrent.futures import ThreadPoolExecutor

    from boosttune.config import build_config
    from boosttune.pipeline.prepare import prepare

    prepared = prepare(adult, "class", None, build_config(model="lightgbm"), 0.0)
    copies = [prepared.backend.copy() for _ in range(4)]
    params = {"learning_rate": 0.3, "num_leaves": 15}
    with ThreadPoolExecutor(4) as pool:
        fits = list(pool.map(lambda b: b.fit_fold(params, 0, 0), copies))
    first = fits[0].valid_pred
    assert all(np.allclose(f.valid_pred, first) for f in fits)  # same fold, same seed
    train_set, stop_set = copies[0]._fold_datasets(0)
    assert train_set._handle is not None and stop_set._handle is not None


def test_parallel_trials_build_no_native_dataset_while_a_booster_trains(breast_cancer,
                                                                       monkeypatch):
    # a timed run's trials go two at a time after the first; the second trial's backend copy
    # has its datasets built before the pair starts, so no native Dataset is created or
    # subset while another trial trains (the crash of a copy binning beside a booster)
    import threading

    import lightgbm as lgb

    import boosttune as bt
    from tests.conftest import FAST

    training, overlaps, builds = [0], [], []
    lock = threading.Lock()
    lib, real_train = lgb.basic._LIB, lgb.train

    def counted(name):
        native = getattr(lib, name)

        def call(*args):
            with lock:
                builds.append(name)
                if training[0]:
                    overlaps.append(name)
            return native(*args)
        return call

    def train(*args, **kwargs):
        with lock:
            training[0] += 1
        try:
            return real_train(*args, **kwargs)
        finally:
            with lock:
                training[0] -= 1

    for name in ("LGBM_DatasetCreateFromMat", "LGBM_DatasetGetSubset"):
        monkeypatch.setattr(lib, name, counted(name))
    monkeypatch.setattr(lgb, "train", train)
    result = bt.tune(breast_cancer, "target", **{**FAST, "n_trials": 12, "timeout": 60})
    assert result.manifest.search["trials_at_once"] == 2
    assert builds and not overlaps
