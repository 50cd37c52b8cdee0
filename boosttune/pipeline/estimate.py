"""What the delivered predictor should score on new rows, and how far a test score may fall.

CV scores one fold model per fold, but the test rows are predicted by something stronger: the
average of the fold models (over seeds), a refit on all rows, or a blend of both. Its gain over
one fold model is measured, not assumed: inside an outer training part the delivery is done
again (inner fold models early-stopped on inner folds, the refit on the whole part with the
rounds scaled as finalize scales them) and scored on the outer rows, against the outer fold
model trained on the same part. The replica never sees the outer rows, not even for early
stopping, which also removes the fold model's small optimism of stopping on its own rows.
The replica is one learning-curve step behind the delivery: its members learn from the part's
rows, the delivered ones from (k−1)/k of all rows and from all of them. That step, one fold
model against one inner model trained on (k−1)/k of the part, both scored on the outer rows,
is added to the gain (a step of the same row ratio, assumed to gain as much one level up).
Where fold models early-stop on their validation fold, the fold model in that step is scored
at the rounds the replica's inner folds chose for the part, not at the round its own
validation rows picked: the step then also takes off that small optimism of the CV score.

Where the test rows are given and the metric is a squared error or a log loss, the gain of
averaging is known without a replica: the delivered models' spread on the test rows
(``core.ambiguity``). That is what the estimate uses there; the replicas, which cost about
a CV run each and brought the estimate closer to the held-out score than the CV score in
only 8 of 24 runs at 60 s, run only for the other metrics.

The CV score itself flatters the chosen trial: it was chosen for being the best of many
noisy scores. That optimism is estimated from the search's own fold scores, for free
(Tibshirani & Tibshirani, 2009): on each fold, how far the chosen trial falls behind the best
score any trial got on that fold, averaged over the folds, and added to the estimate.

The prediction interval adds to the estimate's uncertainty (the Nadeau–Bengio corrected SE of
the CV mean, and the gain's) the noise of scoring on ``n_test`` rows, from a bootstrap of OOF
rows; it is worked out on the metric's unbounded scale so that it stays in range. The same
bootstrap splits the ``n_test`` rows into a public share and the rest: the spread of public
minus private score.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from typing import Any

import numpy as np

from boosttune.backends.base import Backend
from boosttune.config import RunConfig
from boosttune.core.ambiguity import Weighted, averaging_gain, supports
from boosttune.core.errors import BoostTuneError
from boosttune.core.folds import make_folds
from boosttune.core.results import CVScore, Estimate, FoldFit, SeedAverage
from boosttune.core.schedules import slowed
from boosttune.core.statistics import (
    empty_predictions,
    fold_score,
    scale_interval,
    slope,
    unbounded,
)
from boosttune.core.task import Task
from boosttune.pipeline.prepare import Prepared, make_backend
from boosttune.result import Ensemble
from boosttune.search.crossval import cross_validate

BOOTSTRAPS = 200  # draws of n_test OOF rows for the test noise and the public/private spread
MAX_DRAW_ROWS = 20_000  # rows a draw scores at most; the spread is scaled to n_test from there
RESERVED_CHECKS = 2  # outer parts whose replica the search leaves time for


def estimate(prepared: Prepared, final: SeedAverage, params: dict[str, Any], refit: str,
             seconds: float | None, selection: tuple[float, float] = (0.0, 0.0),
             test_members: Weighted | None = None) -> Estimate | None:
    """The delivered predictor's estimate, with its interval for the run's test size; None
    when ``Evaluation.delivered`` is 0. ``selection``: the chosen trial's selection optimism
    and its SE (``statistics.selection_optimism``), added to the estimate; ``test_members``:
    the delivered models' weights and test predictions (``Ensemble.member_predictions``)."""
    config, task = prepared.config, prepared.task
    wanted = config.evaluation.delivered
    if wanted == 0:
        return None
    if test_members is not None and spread_applies(task):
        return spread_estimate(task, final.score, final.oof, test_members, config,
                               selection=selection)
    gains, steps, basis = delivery_gains(prepared, final, params, refit,
                                         config.finalize.low_rate, wanted, seconds)
    return with_interval(task, final.score, final.oof, gain_of(gains), len(gains), basis,
                         n_test(task, config), config.evaluation.public_share, config.seed,
                         step=float(np.mean(steps)) if steps else 0.0, selection=selection)


def spread_applies(task: Task) -> bool:
    """Whether the gain of averaging is measured from the delivered models' spread on the
    test rows (``core.ambiguity``): test rows given, a metric that has the form."""
    return task.X_test is not None and supports(task.metric.name)


def spread_estimate(task: Task, score: CVScore, oof: np.ndarray, test_members: Weighted,
                    config: RunConfig, baseline: float = 0.0,
                    selection: tuple[float, float] = (0.0, 0.0)) -> Estimate:
    """The estimate whose gain is the delivered models' spread on the test rows, less the
    ``baseline`` spread that ``score`` already has (``ambiguity.averaging_gain``)."""
    gain = averaging_gain(task.metric.name, score.mean, test_members, baseline)
    basis = (f"the spread of the {len(test_members.preds)} delivered models on the "
             f"{len(test_members.preds[0])} test rows (no labels needed; each model counted "
             "as good as one fold model)")
    return with_interval(task, score, oof, gain, 0, basis, n_test(task, config),
                         config.evaluation.public_share, config.seed, selection=selection)


def fold_estimate(prepared: Prepared, score: CVScore, fit: FoldFit, rows: np.ndarray,
                  held: float) -> Estimate:
    """The estimate of one delivered fold model (a rung's choice fit on a whole fold): its
    score ``held`` on that fold's validation ``rows``, with the SE of a bootstrap of those
    rows, and the interval from the same rows' predictions. It early-stopped on those rows:
    a small optimism, left in (no other rows are held out from it)."""
    task, config = prepared.task, prepared.config
    oof = empty_predictions(task, task.n_rows)
    oof[rows] = fit.valid_pred
    size = n_test(task, config)
    # one bootstrap of the fold's rows: the SE of a score on them, and the test noise
    draws = _bootstrap(task, oof, size or len(rows), config.evaluation.public_share,
                       config.seed)
    scores, drawn, _ = draws
    se = float(np.std(scores, ddof=1) * np.sqrt(drawn / len(rows))) if len(scores) > 1 else 0.0
    basis = (f"one model fit on fold {fit.fold + 1}'s whole training part, scored on its "
             "validation rows (early-stopped on them); gain: over the rung's CV score")
    found = Estimate(score.mean, held, held - score.mean, se, 1, basis,
                     estimate_std_error=se)
    return found if size is None else _interval(task, found, size,
                                                config.evaluation.public_share, draws)


def n_test(task: Task, config: RunConfig) -> int | None:
    """The test set's size: ``Evaluation.test_size``, else the rows of ``test=``; None
    (no interval) where there is neither or ``Evaluation.interval`` is off."""
    if not config.evaluation.interval:
        return None
    if config.evaluation.test_size is not None:
        return config.evaluation.test_size
    return None if task.X_test is None else int(task.X_test.shape[0])


def delivery_gains(prepared: Prepared, final: SeedAverage, params: dict[str, Any], refit: str,
                   low_rate: float, wanted: int, seconds: float | None
                   ) -> tuple[list[float], list[float], str]:
    """Per checked outer part, within ``seconds``: the gain of delivering over that part's
    fold model, in the metric's units (the replica's score minus that fold model's, plus the
    learning-curve step); the steps alone; and how they were measured (or why not)."""
    task, folds, run = prepared.task, prepared.folds, final.runs[0]
    # until one part's time is measured: twice the fits' time (datasets and predictions too)
    cost = 2 * part_cost(run.seconds, folds.n_splits)
    started, gains, steps = time.perf_counter(), list[float](), list[float]()
    for k, (train, valid) in enumerate(folds.splits[:wanted]):
        spent = time.perf_counter() - started
        if gains:
            cost = spent / len(gains)
        if seconds is not None and spent + cost > seconds:
            break
        replica = _replica(prepared, train, valid, params, refit, low_rate, run.seed)
        if replica is None:
            return [], [], "not measured: a training part is too small to fold again"
        delivered, singles, rounds = replica
        one_inner = float(np.mean([fold_score(task, valid, p) for p in singles]))
        steps.append(_unstopped_score(prepared, run.fits[k], rounds) - one_inner)
        gains.append(fold_score(task, valid, delivered) - run.fold_scores[k] + steps[-1])
    if not gains:
        return [], [], "not measured: no time left in the budget"
    return gains, steps, (f"the delivery ({refit}) replicated inside {len(gains)} of "
                          f"{folds.n_splits} training parts, plus one learning-curve step")


def _unstopped_score(prepared: Prepared, fit: FoldFit, rounds: int) -> float:
    """The outer fold model's score at ``rounds``, the rounds its replica chose without
    its validation rows (capped at the rounds it trained), where it early-stopped on them:
    its CV score less the optimism of stopping on the rows it is scored on."""
    settings, task = prepared.backend.settings, prepared.task
    valid = prepared.folds.splits[fit.fold][1]
    if settings.early_stopping != "fold":
        return fold_score(task, valid, fit.valid_pred)
    trained = min(fit.n_rounds + settings.early_stopping_rounds, settings.max_rounds)
    pred = prepared.backend.predict_fold(fit.model, fit.fold, min(rounds, trained))
    return fold_score(task, valid, pred)


def _replica(prepared: Prepared, train: np.ndarray, valid: np.ndarray, params: dict[str, Any],
             refit: str, low_rate: float, seed: int
             ) -> tuple[np.ndarray, list[np.ndarray], int] | None:
    """The delivery redone on the ``train`` rows only, predicting the ``valid`` rows, each
    inner fold model's own predictions of them, and the rounds the inner folds choose for a
    model of the whole part; None where the part is too small to fold again."""
    task = prepared.task
    part = _part(task, train)
    try:
        folds = make_folds(part, prepared.folds.n_splits, _inner_scheme(prepared), seed)
    except BoostTuneError:
        return None
    backend: Backend = make_backend(prepared.spec, part, folds, prepared.backend.settings,
                                    prepared.space)
    run = cross_validate(backend, params, seed)
    inner = [(f.model, f.n_rounds) for f in run.fits]
    full_members = []
    part_rounds = backend.refit_rounds(run.mean_rounds)
    if refit != "folds":
        slow, rounds = slowed(params, part_rounds, low_rate)
        full_members = [(backend.fit_all(slow, rounds, seed), rounds)]
    rows = task.X[valid]
    delivered = Ensemble(prepared.spec.predict, [] if refit == "full" else inner,
                         task.encoder, full_members).predict_matrix(rows)
    singles = [Ensemble(prepared.spec.predict, [member], task.encoder, []).predict_matrix(rows)
               for member in inner]
    return delivered, singles, part_rounds


def _part(task: Task, rows: np.ndarray) -> Task:
    """The task on ``rows`` only (no test rows)."""
    def cut(array: np.ndarray | None) -> np.ndarray | None:
        return None if array is None else array[rows]
    return replace(task, X=task.X[rows], y=task.y[rows], weights=cut(task.weights),
                   groups=cut(task.groups), X_test=None, test_ids=None)


def _inner_scheme(prepared: Prepared) -> str | None:
    """The outer scheme where it can fold a part again; else the task's default."""
    scheme = prepared.folds.scheme
    return scheme if scheme in ("kfold", "stratified", "group") else None


def gain_of(gains: list[float]) -> tuple[float, float]:
    """The mean gain and its standard error (one part: the gain's own size as the doubt)."""
    if not gains:
        return 0.0, 0.0
    if len(gains) == 1:
        return gains[0], abs(gains[0])
    return float(np.mean(gains)), float(np.std(gains, ddof=1) / np.sqrt(len(gains)))


def with_interval(task: Task, score: CVScore, oof: np.ndarray, gain: tuple[float, float],
                  checked: int, basis: str, size: int | None, public_share: float, seed: int,
                  step: float = 0.0, selection: tuple[float, float] = (0.0, 0.0)) -> Estimate:
    """The estimate from the CV score, the (gain, SE) and the (selection optimism, SE), its
    SE, and for ``size`` test rows the 95% prediction interval and the public/private spread
    (from the ``oof`` rows); ``step``: the learning-curve step the gain includes, recorded
    for what it says."""
    cv_se = score.std_error if np.isfinite(score.std_error) else 0.0
    estimate_se = float(np.sqrt(cv_se ** 2 + gain[1] ** 2 + selection[1] ** 2))
    found = Estimate(score.mean, score.mean + gain[0] + selection[0], gain[0], gain[1],
                     checked, basis, estimate_std_error=estimate_se, learning_step=step,
                     selection=selection[0])
    if size is None:
        return found
    return _interval(task, found, size, public_share,
                     _bootstrap(task, oof, size, public_share, seed))


def _interval(task: Task, found: Estimate, size: int, public_share: float,
              draws: tuple[list[float], int, float | None]) -> Estimate:
    """``found`` with its interval for ``size`` test rows from the bootstrap ``draws``
    (``_bootstrap``'s scores, rows a draw and public/private spread)."""
    bounds = task.metric.bounds
    scores, drawn, spread = draws
    estimate_se = found.estimate_std_error
    scale = np.sqrt(drawn / size)
    centre = float(unbounded(found.delivered, bounds))
    # the test noise: the (robust) sd of the drawn scores on the unbounded scale; the
    # estimate's own SE is carried over there by the delta method
    test_sd = _robust_sd(unbounded(np.array(scores), bounds)) * scale
    estimate_sd = estimate_se * slope(found.delivered, bounds)
    half = 1.96 * float(np.hypot(estimate_sd, test_sd))
    test_se = float(np.std(scores, ddof=1)) * scale if len(scores) > 1 else float("nan")
    return replace(found, n_test=size, test_std_error=test_se, public_share=public_share,
                   public_private_sd=spread, interval=scale_interval(centre, half, bounds))


def _draw_scores(task: Task, oof: np.ndarray, rows: np.ndarray, public: int
                 ) -> tuple[float, float | None] | None:
    """A draw's score, and its public share's minus the rest's (None: a share under 2
    rows); None where the metric cannot score the draw (one class only)."""
    try:
        whole = fold_score(task, rows, oof[rows])
        if not 2 <= public <= len(rows) - 2:
            return whole, None
        return whole, (fold_score(task, rows[:public], oof[rows[:public]])
                       - fold_score(task, rows[public:], oof[rows[public:]]))
    except BoostTuneError:
        return None


def _robust_sd(values: np.ndarray) -> float:
    """The sd from the interquartile range: a draw that scores at the metric's bound (an
    AUC of 1 on a small sample) lies far out on the unbounded scale and would inflate it."""
    if len(values) < 2:
        return float("nan")
    q1, q3 = np.percentile(values, [25, 75])
    return float((q3 - q1) / 1.349)


def _draw(task: Task, oof: np.ndarray, scored: np.ndarray, draw: int, public: int,
          rng: np.random.Generator) -> tuple[float, float | None] | None:
    """One bootstrap draw of ``draw`` of the ``scored`` rows, scored (``_draw_scores``)."""
    rows = rng.choice(scored, draw, replace=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a share of one class: sklearn warns; skipped
        return _draw_scores(task, oof, rows, public)


def _draw_plan(oof: np.ndarray, size: int, public_share: float) -> tuple[np.ndarray, int, int]:
    """The OOF rows with predictions, the rows a draw takes and its public share's rows."""
    scored = np.flatnonzero(~np.isnan(oof.reshape(len(oof), -1)).any(axis=1))
    draw = min(size, MAX_DRAW_ROWS, len(scored))
    return scored, draw, round(public_share * draw)


def bootstrap_seconds(task: Task, oof: np.ndarray, size: int, public_share: float,
                      from_rows: int) -> float:
    """What ``_bootstrap`` of ``from_rows`` scored rows will take: one draw timed on ``oof``
    as the bootstrap makes it (three scores: on kddcup99 a third of the time, when one
    score was timed), scaled to the rows a draw from ``from_rows`` takes, BOOTSTRAPS times."""
    scored, draw, public = _draw_plan(oof, size, public_share)
    if draw == 0:
        return 0.0
    started = time.perf_counter()
    _draw(task, oof, scored, draw, public, np.random.default_rng(0))
    wanted = min(size, MAX_DRAW_ROWS, from_rows)
    return BOOTSTRAPS * (time.perf_counter() - started) * wanted / draw


def _bootstrap(task: Task, oof: np.ndarray, size: int, public_share: float, seed: int
               ) -> tuple[list[float], int, float | None]:
    """Scores of draws from the OOF rows, of ``size`` rows or MAX_DRAW_ROWS if fewer (their
    size is returned too), and the sd of the difference of the scores of the public share and
    the rest, scaled to ``size`` (None where a share is under 2 rows)."""
    scored, draw, public = _draw_plan(oof, size, public_share)
    rng = np.random.default_rng(seed)
    whole, differences = [], []
    for _ in range(BOOTSTRAPS):
        found = _draw(task, oof, scored, draw, public, rng)
        if found is not None:
            whole.append(found[0])
            if found[1] is not None:
                differences.append(found[1])
    spread = (float(np.std(differences, ddof=1) * np.sqrt(draw / size))
              if len(differences) > 1 else None)
    return whole, draw, spread


def part_cost(run_seconds: float, n_splits: int) -> float:
    """A replica's expected seconds: k inner fits on (k−1)/k of the rows each, about one CV
    run, and the refit on the part, about one more fold."""
    return run_seconds * (1 + 1 / n_splits)


def reserved_runs(config: RunConfig, task: Task, n_splits: int) -> float:
    """CV runs' worth of time the search leaves for the replicas (RESERVED_CHECKS of them:
    with one, a part with an outlying gain is all the estimate has); none where the gain is
    measured from the spread on the test rows."""
    if spread_applies(task):
        return 0.0
    return min(config.evaluation.delivered, RESERVED_CHECKS) * part_cost(1.0, n_splits)

