"""Multi-model runs: each backend searched on the same folds with its share of the budget,
then ensemble selection (Caruana) over the trials every search kept, scored honestly.

The budget is split in two phases: each backend first probes with a share of an equal split,
then the search time left goes to them by standing, each backend's finalize on top of its
share; a backend whose best run is clearly behind the leader's on the same folds (the 95%
interval of their paired fold differences below zero) gets less of it.

The result is a TuneResult of model 'ensemble': its OOF, test predictions, predictor and
score are the ensemble's (the score is the honest one: weights chosen without the fold
scored); ``params`` stay the best single model's, ``by_model`` holds each backend's run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from boosttune.config import RunConfig, Storage
from boosttune.core.ambiguity import Weighted, row_spread
from boosttune.core.blending import Selection, blend, select
from boosttune.core.folds import Folds
from boosttune.core.manifest import Manifest
from boosttune.core.metrics import Direction
from boosttune.core.results import CVRun, CVScore, Estimate, Kept, Members, SeedAverage
from boosttune.core.statistics import (
    corrected_std_error,
    interval,
    paired_difference,
    valid_to_train,
)
from boosttune.core.task import FeatureEncoder, Task
from boosttune.pipeline.estimate import (
    bootstrap_seconds,
    n_test,
    spread_applies,
    spread_estimate,
    with_interval,
)
from boosttune.pipeline.outputs import oof_frame, test_frame
from boosttune.pipeline.prepare import Prepared, check
from boosttune.result import Ensemble, TuneResult, WeightedEnsemble
from boosttune.search.crossval import cross_validate

KEPT_PER_MODEL = 10  # trials each backend keeps for the selection, unless Finalize says
SELECTION_SHARE = 0.05  # of the timeout left for the selection after the searches
PROBE_SHARE = 0.3  # of a backend's equal share, searched before the rest is split by standing
BEHIND_WEIGHT = 0.25  # a clearly-behind backend's weight in that split (the others' is 1)
RESEED_MARGIN = 1.5  # a member is re-run over the other seeds when this times its cost is left


class Paused(Protocol):
    """One backend's search, paused after its probe."""

    @property
    def prepared(self) -> Prepared: ...
    def best_run(self) -> CVRun | None: ...
    def finalize_seconds(self) -> float: ...
    def resume(self, seconds: float | None) -> None: ...
    def finish(self) -> TuneResult: ...


Start = Callable[[RunConfig, float | None], Paused]  # config, probe seconds (None: no pause)
Reseed = Callable[[Kept], Members]  # a member's fold models over the run's other seeds


def run_models(train: Any, target: Any, test: Any, config: RunConfig,
               start: Start) -> TuneResult:
    """Probe every backend of ``config.models`` in turn, go on with each by its standing,
    then select the ensemble."""
    started = time.perf_counter()
    equal = None if config.timeout is None else _search_seconds(config) / len(config.models)
    searches = {m: start(replace(member_config(config, m), timeout=equal),
                         None if equal is None else PROBE_SHARE * equal)
                for m in config.models}
    weights = standing(searches)
    reserve = _interval_seconds(config, searches)
    finals = [paused.finalize_seconds() for paused in searches.values()]
    results: dict[str, TuneResult] = {}
    for i, (model, paused) in enumerate(searches.items()):
        if config.timeout is not None:
            paused.resume(_share(config, started, list(weights.values())[i:], reserve,
                                 finals[i:]))
        results[model] = paused.finish()
    first = searches[config.models[0]].prepared
    result = _ensemble(first.task, first.folds, results, started, _selection_seconds(config),
                       _reseeder(config, searches, started), config)
    if "ensemble" in result.manifest.evaluation:
        result.manifest.evaluation["ensemble"]["split"] = {
            m: {"weight": w, "probe_seconds": None if equal is None else PROBE_SHARE * equal,
                "finalize_seconds": final}
            for (m, w), final in zip(weights.items(), finals, strict=True)}
    return result


def _reseeder(config: RunConfig, searches: dict[str, Paused], started: float) -> Reseed:
    """A member's fold models re-run with each of the run's other seeds, on its backend's
    folds, while the timeout leaves room for it (none where it does not)."""
    others = config.seed_list[1:]

    def reseed(kept: Kept) -> Members:
        if config.timeout is not None:
            left = config.timeout - (time.perf_counter() - started)
            if RESEED_MARGIN * kept.seconds * len(others) > left:
                return []
        backend = searches[kept.model].prepared.backend
        return [(f.model, f.n_rounds) for seed in others
                for f in cross_validate(backend, kept.params, seed).fits]

    return reseed


def standing(searches: dict[str, Paused]) -> dict[str, float]:
    """Each backend's weight in the split of what is left: BEHIND_WEIGHT where its best run
    is clearly behind the leader's on the same folds, else 1."""
    weights = dict.fromkeys(searches, 1.0)
    runs = {m: run for m, s in searches.items() if (run := s.best_run()) is not None}
    if len(runs) < 2:
        return weights
    first = next(iter(searches.values())).prepared
    direction = first.task.metric.direction
    goal = Direction.of(direction)
    leader = min(runs.values(), key=lambda run: goal.sort_key(run.score))
    for model, run in runs.items():  # the leader against itself: a zero-width interval at 0
        if paired_difference([run], [leader], direction, first.folds)["interval_95_high"] < 0:
            weights[model] = BEHIND_WEIGHT
    return weights


def model_config(config: RunConfig, model: str) -> RunConfig:
    """One backend's config in a multi-model run: its own study, trials kept."""
    kept = KEPT_PER_MODEL if config.finalize.ensemble is None else config.finalize.ensemble
    return replace(config, model=model, finalize=replace(config.finalize, ensemble=kept),
                   storage=storage_of(config.storage, model))


def member_config(config: RunConfig, model: str) -> RunConfig:
    """``model_config`` for a backend sharing one run's budget: only the first replicates
    its delivery (``Evaluation.delivered``) for the ensemble's estimate, as each replica
    costs its search about a CV run (at 60 s, a replica per backend left each half the
    trials of a one-model run); none draws its own interval or learning curves (on adult at
    60 s their bootstrap took 4.2 s, on letter the curves 7.8 s)."""
    delivered = config.evaluation.delivered if model == config.models[0] else 0
    return replace(model_config(config, model), evaluation=replace(
        config.evaluation, delivered=delivered, interval=False, curves=False))


def combine(train: Any, target: Any, test: Any, config: RunConfig,
            results: dict[str, TuneResult], started: float) -> TuneResult:
    """The ensemble of finished runs on the same data and folds (the CLI's ``--models``):
    each member predicts with its search's fold models, as no backend is left to re-run."""
    task, folds = check(train, target, test, replace(config, model=config.models[0]))
    return _ensemble(task, folds, results, started, _selection_seconds(config), None, config)


def _selection_seconds(config: RunConfig) -> float | None:
    return None if config.timeout is None else SELECTION_SHARE * config.timeout


def _search_seconds(config: RunConfig) -> float:
    """The timeout less the selection's share."""
    assert config.timeout is not None
    return config.timeout * (1 - SELECTION_SHARE)


def _interval_seconds(config: RunConfig, searches: dict[str, Paused]) -> float:
    """What the ensemble's prediction interval will take (its bootstrap of the OOF rows),
    timed on the first backend's best run: on adult at 60 s, 4.2 s no search kept back."""
    if config.timeout is None:
        return 0.0
    first = searches[config.models[0]]
    run, size = first.best_run(), n_test(first.prepared.task, config)
    if run is None or size is None:
        return 0.0
    prepared = first.prepared
    return bootstrap_seconds(prepared.task, run.oof, size, config.evaluation.public_share,
                             prepared.task.n_rows)


def _share(config: RunConfig, started: float, weights: list[float], reserve: float,
           finals: list[float]) -> float:
    """The next backend's seconds: its weight's share of the search time left, less
    ``reserve``, and its own finalize's (``weights`` and ``finals`` are its own, then those
    of the backends after it). Search time is what is split: the first backend's finalize
    replicates the delivery for the ensemble's estimate, and with it in the share that
    backend searched about half as long as the next (adult at 60 s: 15.6 s against 28.6 s).
    Where no search time is left, the finalizes share what is (letter at 60 s: the two
    first trials took 49 s, and finalizes given their full time ran to 68 s)."""
    left = _search_seconds(config) - reserve - (time.perf_counter() - started)
    search = left - sum(finals)
    if search > 0:
        return search * weights[0] / sum(weights) + finals[0]
    return max(left * finals[0] / sum(finals), 1.0) if sum(finals) > 0 else 1.0


def storage_of(storage: Storage, model: str) -> Storage:
    """One study per backend in a shared storage."""
    if not storage.url:
        return storage
    return replace(storage, study_name=f"{storage.study_name or 'boosttune'}-{model}")


def _ensemble(task: Task, folds: Folds, results: dict[str, TuneResult], started: float,
              seconds: float | None, reseed: Reseed | None, config: RunConfig) -> TuneResult:
    candidates = [k for result in results.values() for k in result.kept]
    if not candidates:  # every pool empty (ensemble=0): the best single model is the result
        return _best(results)
    selection = select(task, folds, [k.oof for k in candidates], seconds)
    members = [(w, k) for w, k in zip(selection.weights, candidates, strict=True) if w > 0]
    parts = [(float(w), member_predictor(k, results[k.model], task.encoder, reseed))
             for w, k in members]
    predictor = WeightedEnsemble(parts, task.encoder)
    oof = blend([k.oof for k in candidates], selection.weights)
    test_members = (None if task.X_test is None
                    else predictor.member_predictions(task.X_test))
    test_pred = None if test_members is None else test_members.mean()
    best = _best(results)
    score = _score(task, folds, selection, best.score.table["seed"].iloc[0])
    score = replace(score, delivered=_estimate(task, score, oof, results, members, config,
                                               test_members))
    return replace(
        best, model="ensemble", score=score,
        oof=oof_frame(task, folds, SeedAverage([], oof, score)),
        test_pred=test_frame(task, test_pred),
        trials=pd.concat([r.trials.assign(model=m) for m, r in results.items()],
                         ignore_index=True),
        ensemble=predictor, by_model=results, kept=[],
        members=[_member(w, k, len(p.members) // folds.n_splits)
                 for (w, k), (_, p) in zip(members, parts, strict=True)],
        manifest=_manifest(best.manifest, results, selection, score, candidates, started,
                           config),
        selection=None, nested=None, curves=None, study=None)


def member_predictor(kept: Kept, result: TuneResult, encoder: FeatureEncoder,
                     reseed: Reseed | None = None) -> Ensemble:
    """A member's predictor: its fold models (over the other seeds too, where ``reseed``
    gives them); for the trial its backend's finalize chose, what finalize delivered (fold
    models over every seed, with the backend's refit)."""
    chosen = result.evaluation.get("selection", {}).get("chosen_trial")
    if kept.trial == chosen and isinstance(result.ensemble, Ensemble):
        return result.ensemble
    more = [] if reseed is None else reseed(kept)
    return Ensemble(kept.predict, kept.members + more, encoder)


def _best(results: dict[str, TuneResult]) -> TuneResult:
    goal = Direction.of(next(iter(results.values())).score.direction)
    return min(results.values(), key=lambda r: goal.sort_key(r.score.mean))


def _member(weight: float, kept: Kept, seeds: int) -> dict[str, Any]:
    """A member's record; ``seeds``: how many seeds its fold models were fit with."""
    return {"model": kept.model, "trial": kept.trial, "weight": float(weight),
            "cv_score": kept.score, "seeds": seeds, "params": kept.params}


def _score(task: Task, folds: Folds, selection: Selection, seed: int) -> CVScore:
    """The honest fold scores as the run's CV score; oof_score is the flattering one."""
    scores = selection.honest_fold_scores
    table = pd.DataFrame({"seed": seed, "fold": range(len(scores)), "score": scores,
                          "n_rounds": np.nan})
    se = corrected_std_error(np.asarray(scores), valid_to_train(folds))
    mean = selection.honest_score
    return CVScore(task.metric.name, task.metric.direction, mean, 0.0, [mean], table,
                   selection.oof_score, se,
                   interval(mean, se, len(scores), bounds=task.metric.bounds))


def _estimate(task: Task, score: CVScore, oof: np.ndarray, results: dict[str, TuneResult],
              members: list[tuple[float, Kept]], config: RunConfig,
              test_members: Weighted | None = None) -> Estimate:
    """The ensemble's delivered estimate: its honest CV score plus the gain of delivering.
    Where the spread on the test rows applies (``estimate.spread_applies``), that gain is
    the delivered models' spread there less the spread the honest score already has, its
    members' OOF predictions' around their blend. Else it is the gain the backends measured
    (the first one, see ``member_config``), weighted by their members' weights where several
    did; members predict with fold-model averages as their backends' delivered predictors
    do, so one backend's gain stands for the others'."""
    if test_members is not None and spread_applies(task):
        return spread_estimate(task, score, oof, test_members, config,
                               baseline=_oof_spread(task, members))
    found = {m: r.score.delivered for m, r in results.items()
             if r.score.delivered is not None and r.score.delivered.folds_checked}
    weight = {m: sum(w for w, k in members if k.model == m) for m in found}
    if found and not sum(weight.values()):  # no member from a backend that measured
        weight = dict.fromkeys(found, 1.0)
    share = sum(weight.values())
    gain = ((sum(weight[m] * e.gain for m, e in found.items()) / share,
             sum(weight[m] * e.gain_std_error for m, e in found.items()) / share)
            if share > 0 else (0.0, 0.0))
    step = sum(weight[m] * e.learning_step for m, e in found.items()) / share if share else 0.0
    basis = (f"the delivery gain measured on {' and '.join(found)}"
             + (" by member weight" if len(found) > 1 else "")
             if share > 0 else "not measured: no backend measured its delivery gain")
    return with_interval(task, score, oof, gain, sum(e.folds_checked for e in found.values()),
                         basis, n_test(task, config), config.evaluation.public_share,
                         config.seed, step=step)


def _oof_spread(task: Task, members: list[tuple[float, Kept]]) -> float:
    """The mean spread of the members' OOF predictions around their weighted blend, on the
    rows every member predicted."""
    rows = ~np.isnan(np.hstack([k.oof.reshape(len(k.oof), -1) for _, k in members])).any(axis=1)
    blended = Weighted([k.oof[rows] for _, k in members], np.array([w for w, _ in members]))
    return float(np.mean(row_spread(task.metric.name, blended)))


def _manifest(best: Manifest, results: dict[str, TuneResult], selection: Selection,
              score: CVScore, candidates: list[Kept], started: float,
              config: RunConfig) -> Manifest:
    manifests = [r.manifest for r in results.values()]
    search = {"n_trials": sum(m.search["n_trials"] for m in manifests),
              "n_complete": sum(m.n_complete for m in manifests),
              "n_pruned": sum(m.n_pruned for m in manifests),
              "by_model": {m.model: m.search for m in manifests}}
    ensemble = {"honest_score": selection.honest_score, "oof_score": selection.oof_score,
                "best_single": {"model": best.model, "score": best.score["mean"]},
                "candidates": len(candidates), "members": int((selection.weights > 0).sum()),
                "oof_bytes_per_trial": candidates[0].oof_bytes,
                "kept_bytes": {m: sum(k.bytes for k in r.kept) or None  # None: unbounded
                               for m, r in results.items()}}
    timing = {**best.timing, "wall_seconds": time.perf_counter() - started,
              "stages": {f"{m.model}": m.wall_seconds for m in manifests}}
    shift = [m.evaluation["shift"] for m in manifests if "shift" in m.evaluation]
    return replace(best, model="ensemble", score=score.summary(), search=search,
                   timing=timing, evaluation={"ensemble": ensemble, **(
                       {"shift": shift[0]} if shift else {})}, diagnosis=None,
                   config={**best.config, "model": list(results),
                           "evaluation": config.evaluation.to_dict()})
