"""Head starts for a search: warm starts from earlier runs, and a learning-rate finder.

Warm start (transfer): the best params of earlier runs, of this competition or another, are
enqueued as the study's first trials, clipped to the current space. The learning-rate finder
fits one fold at a few rates and keeps the best rate whose whole trial fits the time per trial
that the budget allows; the space's learning-rate range is then centred on it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from boosttune.backends.base import Backend
from boosttune.core.space import Categorical, SearchSpace
from boosttune.core.statistics import fold_score
from boosttune.io.rundir import read_manifest

SWEEP = (0.3, 0.1, 0.03)  # rates the finder tries, fastest first
TARGET_TRIALS = 20  # the finder wants this many trials to fit in the search budget


def warm_params(sources: Any) -> list[dict[str, Any]]:
    """Params to enqueue from a run directory, a TuneResult, a params dict, or a list of them."""
    if sources is None:
        return []
    if isinstance(sources, (str, Path, dict)) or hasattr(sources, "manifest"):
        sources = [sources]
    found = []
    for source in sources:
        if isinstance(source, dict):
            found.append(dict(source))
        elif hasattr(source, "manifest"):
            found.append(dict(source.manifest.params_used))
        else:
            found.append(dict(read_manifest(Path(source)).params_used))
    return found


def enqueue(study: optuna.Study, space: SearchSpace,
            params_list: Sequence[Mapping[str, Any]]) -> int:
    """Enqueue each params' searched values, clipped to the space; returns how many."""
    for params in params_list:
        study.enqueue_trial(_fitted(space, params), skip_if_exists=True)
    return len(params_list)


def _fitted(space: SearchSpace, params: Mapping[str, Any]) -> dict[str, Any]:
    fitted = {}
    for name, dim in space.dimensions.items():
        if name not in params:
            continue
        value = params[name]
        if isinstance(dim, Categorical):
            if value in dim.choices:
                fitted[name] = value
        else:
            fitted[name] = type(dim.low)(np.clip(value, dim.low, dim.high))
    return fitted


def find_learning_rate(backend: Backend, space: SearchSpace, seed: int,
                       search_seconds: float | None) -> dict[str, Any]:
    """Sweep SWEEP on fold 0 with the space's fixed params; the chosen rate and the sweep."""
    per_trial = None if search_seconds is None else search_seconds / TARGET_TRIALS
    sign = backend.task.metric.goal.sign
    sweep = []
    for rate in SWEEP:
        started = time.perf_counter()
        fit = backend.fit_fold({**space.fixed, "learning_rate": rate}, 0, seed)
        trial_seconds = (time.perf_counter() - started) * backend.folds.n_splits
        score = fold_score(backend.task, backend.parts(0).valid, fit.valid_pred)
        sweep.append({"learning_rate": rate, "rounds": fit.n_rounds, "score": score,
                      "trial_seconds": trial_seconds})
        if per_trial is not None and trial_seconds > per_trial:
            break  # lower rates take longer still
    fitting = [s for s in sweep if per_trial is None or s["trial_seconds"] <= per_trial]
    chosen = max(fitting or sweep[:1], key=lambda s: sign * s["score"])
    return {"chosen": chosen["learning_rate"], "sweep": sweep,
            "seconds_per_trial_allowed": per_trial}


def centred_range(space: SearchSpace, rate: float) -> SearchSpace:
    """The space with its learning rate searched within a factor 2 of ``rate``."""
    if "learning_rate" not in space.dimensions:
        return space
    return space.with_range("learning_rate", rate / 2, min(2 * rate, 0.5))
