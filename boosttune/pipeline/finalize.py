"""Finalize: re-run the chosen params over the seeds, evaluate, fit what predicts the test
rows, and build the TuneResult."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState
from scipy import stats

from boosttune.backends.base import Backend
from boosttune.core.errors import BudgetWarning
from boosttune.core.folds import Folds, make_folds
from boosttune.core.metrics import Direction
from boosttune.core.results import Estimate, FoldFit, NestedReport, SeedAverage
from boosttune.core.schedules import slowed
from boosttune.core.statistics import (
    fold_score,
    paired_difference,
    selection_optimism,
    summarize_runs,
)
from boosttune.pipeline import fidelity
from boosttune.pipeline.curves import diagnose_curves, learning_curves
from boosttune.pipeline.estimate import estimate, fold_estimate
from boosttune.pipeline.outputs import Timing, build_manifest, oof_frame, test_frame, trials_frame
from boosttune.pipeline.prepare import make_backend
from boosttune.pipeline.search import Searched, refit_share
from boosttune.pipeline.selection import select_robust
from boosttune.result import Ensemble, TuneResult
from boosttune.search.budget import FINALIZE_RUN_SHARE, Budget
from boosttune.search.crossval import cross_validate
from boosttune.search.objective import SHORTENED_KEY
from boosttune.search.storage import wait_for_running


@dataclass
class Delivered:
    """What predicts the test rows, and how it was chosen."""

    refit: str  # the refit actually used
    n_rounds: int  # rounds of a model refit on all rows
    ensemble: Ensemble
    params: dict[str, Any]  # the refit's params (a lower learning rate with low_rate)
    full_fold: FoldFit | None = None  # a delivered rung's choice fit on a whole fold
    record: dict[str, Any] | None = None  # that fit, for the manifest


def finalize(searched: Searched, timing: Timing, nested: NestedReport | None) -> TuneResult:
    prepared, config, study = searched.prepared, searched.config, searched.study
    started = time.perf_counter()
    task, folds, backend = prepared.task, prepared.folds, prepared.backend
    if config.storage.url:
        wait_for_running(study)  # other workers' trials count: finalize on the whole search
    seeds = config.seed_list
    backends = _seed_backends(searched)
    candidates = searched.objective.top(study, config.finalize.top_k)
    # a shortened best trial would re-run to its full length: it is used as it is
    if shortened := _shortened(study, candidates[0][0]):
        seeds, backends, candidates = seeds[:1], backends[:1], candidates[:1]
    chosen, selection = select_robust(backends, candidates, seeds,
                                      searched.objective.reusable_run(candidates[0][0]),
                                      config.finalize.select)
    final = summarize_runs(task, folds, chosen.runs)
    curves, diagnosis = _diagnosed_curves(searched, final) if config.evaluation.curves \
        else (None, None)
    evaluation = _evaluation(searched, backends, chosen.params, final, selection, chosen.trial)
    if nested is not None:
        evaluation["nested"] = nested.summary()
    if prepared.shift is not None:
        evaluation["shift"] = prepared.shift.summary()
    delivered = _deliver(searched, final, chosen.params)
    delivered_estimate: Estimate | None
    test_members = (None if task.X_test is None
                    else delivered.ensemble.member_predictions(task.X_test))
    if delivered.full_fold is not None:
        assert searched.full_data is not None and delivered.record is not None
        delivered_estimate = fold_estimate(prepared, final.score, delivered.full_fold,
                                           searched.full_data.parts(0).valid,
                                           delivered.record["score"])
    else:
        seconds = 0.0 if shortened else searched.objective.budget.seconds_left()
        delivered_estimate = estimate(prepared, final, chosen.params, delivered.refit, seconds,
                                      _selection(study, chosen.trial, folds), test_members)
    final = replace(final, score=replace(final.score, delivered=delivered_estimate))
    test_pred = None if test_members is None else test_members.mean()
    timing.stages["finalize"] = time.perf_counter() - started
    timing.native_seconds = searched.objective.native_seconds + sum(  # trials' copies too
        {id(b): b.native_seconds for b in backends if b is not backend}.values())
    manifest = build_manifest(searched, final, chosen.params, evaluation, timing,
                              refit_used=delivered.refit, refit_rounds=delivered.n_rounds,
                              diagnosis=diagnosis,
                              shortened=shortened, full_fold=delivered.record)
    return TuneResult(
        model=config.one_model,
        best_params=dict(study.trials[chosen.trial].params),
        params=backend.export_params(delivered.params, delivered.n_rounds),
        score=final.score,
        oof=oof_frame(task, folds, final),
        test_pred=test_frame(task, test_pred),
        trials=trials_frame(searched),
        folds=folds,
        manifest=manifest,
        study=study,
        ensemble=delivered.ensemble,
        evaluation=evaluation,
        selection=selection,
        nested=nested,
        curves=curves,
        kept=[] if searched.objective.pool is None else searched.objective.pool.kept,
    )


def _diagnosed_curves(searched: Searched, final: SeedAverage
                      ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The final run's learning curves and the fit diagnosis drawn from them."""
    prepared, config = searched.prepared, searched.config
    curves = learning_curves(prepared.backend, prepared.spec.predict, final.runs[0])
    verdict, per_fold = diagnose_curves(curves, config.fit.max_rounds,
                                        prepared.task.metric.greater_is_better,
                                        prepared.spec.advice)
    return curves, {"verdict": verdict.verdict, "reason": verdict.reason,
                    "folds": [d.verdict for d in per_fold]}


def _shortened(study: optuna.Study, chosen: int) -> bool:
    """Whether the best trial is a first trial whose folds stopped before their best round
    (the budget held no longer trial); warns where it is."""
    trial = study.trials[chosen]
    if not trial.user_attrs.get(SHORTENED_KEY):
        return False
    warnings.warn(f"The budget held no trial trained to its best round: the model's fold "
                  f"models stopped at {trial.user_attrs.get('n_rounds', 0):.0f} rounds on "
                  "average, where their time share ran out. Raise timeout (or the learning "
                  "rate) for a fully trained model.", BudgetWarning, stacklevel=4)
    return True


def _selection(study: optuna.Study, chosen: int, folds: Folds) -> tuple[float, float]:
    """The chosen trial's selection optimism (and its SE), from the fold scores of the
    search's complete trials (see ``selection_optimism``)."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if len(t.user_attrs.get("fold_scores", ())) == folds.n_splits]
    rows = [t.number for t in complete]
    if chosen not in rows:
        return 0.0, 0.0
    scores = np.array([t.user_attrs["fold_scores"] for t in complete], dtype=float)
    return selection_optimism(scores, rows.index(chosen), study.direction.name.lower())


def _seed_backends(searched: Searched) -> list[Backend]:
    """One backend per finalize seed: the search's own, or one on reshuffled folds."""
    prepared, config = searched.prepared, searched.config
    backend = prepared.backend
    return [backend] + [
        make_backend(prepared.spec, prepared.task,
                     make_folds(prepared.task, config.cv.folds, config.cv.scheme, s),
                     backend.settings, prepared.space) if config.cv.reshuffle else backend
        for s in config.seed_list[1:]
    ]


def _evaluation(searched: Searched, backends: list[Backend], params: dict[str, Any],
                final: SeedAverage, selection: pd.DataFrame, chosen: int) -> dict[str, Any]:
    prepared, config = searched.prepared, searched.config
    task, folds, seeds = prepared.task, prepared.folds, config.seed_list
    evaluation: dict[str, Any] = {
        "selection": _selection_summary(selection, chosen, config.finalize.select)}
    if config.evaluation.compare_default:
        default_runs = [cross_validate(b, dict(prepared.space.fixed), s)
                        for b, s in zip(backends, seeds, strict=True)]
        evaluation["tuned_minus_default"] = paired_difference(
            final.runs, default_runs, task.metric.direction, folds)
    if config.evaluation.compare_policies:
        evaluation["fold_minus_inner"] = _policy_optimism(searched, backends, params, final)
    return evaluation


def _deliver(searched: Searched, final: SeedAverage, params: dict[str, Any]) -> Delivered:
    """The ensemble that predicts: fold models, models refit on all rows, or both; for a
    delivered rung (refit 'folds'), its choice fit on a whole fold where that is better."""
    prepared, seeds = searched.prepared, searched.config.seed_list
    backend = prepared.backend
    n_rounds = backend.refit_rounds(final.score.table["n_rounds"].mean())
    full_params, full_rounds = slowed(params, n_rounds, searched.config.finalize.low_rate)
    refit = _affordable_refit(prepared.refit, searched.objective.budget, final.runs[0].seconds,
                              len(seeds), prepared.folds.n_splits, full_rounds / n_rounds)
    if refit == "folds":  # nothing refit: params.json keeps the searched rate and rounds
        full_params, full_rounds = params, n_rounds
    fold_members = ([] if refit == "full"
                    else [(f.model, f.n_rounds) for r in final.runs for f in r.fits])
    full_members = ([] if refit == "folds"
                    else [(backend.fit_all(full_params, full_rounds, s), full_rounds)
                          for s in seeds])
    ensemble = Ensemble(prepared.spec.predict, fold_members,
                        prepared.task.encoder, full_members)
    folds = Delivered(refit, full_rounds, ensemble, full_params)
    return folds if searched.full_data is None else _full_fold(searched, final, folds)


def _full_fold(searched: Searched, final: SeedAverage, folds: Delivered) -> Delivered:
    """A delivered rung's choice fit on the first fold's whole training part
    (``fidelity.full_fold_fit``), delivered alone where it scores at least as well as the
    rung's own model of that fold on the fold's whole validation part, cut by the time or
    not; else ``folds``, the rung's fold models. On kddcup99 a configuration with almost no
    regularization early-stopped at round 24 on the whole fold, its multiclass log loss
    diverging (0.034 against the rung's 0.0026); and a comparison on the rung's share of
    the validation rows (a ninth) misled where a few rows outside it carry the log loss:
    0.0028 against the rung's 0.0024 on the share, 0.0018 on the whole fold."""
    assert searched.full_data is not None
    prepared, run, params = searched.prepared, final.runs[0], folds.params
    task = prepared.task
    started = time.perf_counter()
    found = fidelity.full_fold_fit(searched.full_data, params, run.seed,
                                   searched.objective.budget, run, prepared.config)
    if found is None:
        return replace(folds, record={"delivered": False, "reason": "no time left"})
    fit, valid = found.fit, searched.full_data.parts(0).valid
    score = fold_score(task, valid, fit.valid_pred)
    rung_score = fold_score(task, valid, found.rung_valid_pred)
    delivered = not Direction.of(task.metric.direction).better(rung_score, score)
    record = {"delivered": delivered, "cut": found.cut, "fold": 0,
              "rows": len(searched.full_data.parts(0).fit), "n_rounds": fit.n_rounds,
              "score": score, "rung_score": rung_score,
              "seconds": round(time.perf_counter() - started, 2)}
    if not delivered:
        return replace(folds, record=record)
    return Delivered("full_fold", fit.n_rounds, Ensemble(
        prepared.spec.predict, [(fit.model, fit.n_rounds)], task.encoder), params,
        full_fold=fit, record=record)


def _affordable_refit(refit: str, budget: Budget, run_seconds: float, n_seeds: int,
                      n_splits: int, slower: float = 1.0) -> str:
    """'blend' keeps the fold models only when its refits (``slower`` times as many rounds),
    and the test predictions after them, would overrun the timeout (on letter at 60 s, one
    trial takes most of it)."""
    left = budget.seconds_left()
    if refit != "blend" or left is None:
        return refit
    cost = (n_seeds * slower * refit_share(refit, n_splits) + FINALIZE_RUN_SHARE) * run_seconds
    return refit if cost <= left else "folds"


def _selection_summary(table: pd.DataFrame, chosen: int, select: str) -> dict[str, Any]:
    tau = (float(stats.kendalltau(table["search_rank"], table["selected_rank"]).statistic)
           if len(table) > 2 else None)
    return {"top_k": len(table), "select": select, "chosen_trial": chosen,
            "search_best_trial": int(table["trial"].iloc[0]),
            "stable": chosen == int(table["trial"].iloc[0]), "kendall_tau": tau}


def _policy_optimism(searched: Searched, backends: list[Backend], params: dict[str, Any],
                     final: SeedAverage) -> dict[str, float]:
    """Score the chosen params under the other early-stopping policy on the same folds."""
    prepared, seeds = searched.prepared, searched.config.seed_list
    settings = prepared.backend.settings
    other = replace(settings, early_stopping="inner" if settings.early_stopping == "fold"
                    else "fold")
    rebuilt: dict[int, Backend] = {}
    for b in backends:
        rebuilt.setdefault(id(b), make_backend(prepared.spec, prepared.task, b.folds, other,
                                               prepared.space))
    other_runs = [cross_validate(rebuilt[id(b)], params, s)
                  for b, s in zip(backends, seeds, strict=True)]
    fold_runs, inner_runs = ((final.runs, other_runs) if settings.early_stopping == "fold"
                             else (other_runs, final.runs))
    return paired_difference(fold_runs, inner_runs, prepared.task.metric.direction,
                             backends[0].folds)
