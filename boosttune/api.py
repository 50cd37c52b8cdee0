"""``tune()`` and ``work()``: the notebook front end. Everyday options are flat; the rest come
in option groups (``bt.CV``, ``bt.Search``, ``bt.Fit``, ``bt.Finalize``, ``bt.Evaluation``,
``bt.Storage``, ``bt.Data``); the pipeline does the work."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from boosttune.backends.device import Device
from boosttune.config import (
    CV,
    Data,
    Evaluation,
    Finalize,
    Fit,
    RunConfig,
    Search,
    Storage,
    build_config,
    default,
    warn_moved,
)
from boosttune.core.space import SearchSpace
from boosttune.pipeline import run as pipeline
from boosttune.result import TuneResult

Frame: TypeAlias = pd.DataFrame | np.ndarray


def tune(
    train: Frame,
    target: Any = None,
    *,
    test: Frame | None = None,
    model: str | Sequence[str] = default("model"),
    metric: Any = default("metric"),
    cv: int | Any | CV = default("cv"),
    space: str | SearchSpace = default("space"),
    n_trials: int | None = default("n_trials"),
    timeout: float | None = default("timeout"),
    seeds: int | Sequence[int] = default("seeds"),
    seed: int = default("seed"),
    device: str | Device = default("device"),
    progress: bool = default("progress"),
    data: Data | None = None,
    search: Search | None = None,
    fit: Fit | None = None,
    finalize: Finalize | None = None,
    evaluation: Evaluation | None = None,
    storage: Storage | str | os.PathLike[str] | None = None,
    **moved: Any,
) -> TuneResult:
    """Tune ``model`` on ``train`` with cross-validation and return a :class:`TuneResult`.

    ``target`` is a column of ``train`` or an array. ``cv`` is a fold count, an sklearn
    splitter, (train, valid) index pairs or ``bt.CV(5, scheme="group", groups="user")``.
    ``space`` is a preset tier of the model ('fast', 'default', 'wide') or a SearchSpace.
    ``timeout`` bounds the whole run in seconds, finalize included; ``seeds`` re-runs the best
    params over that many seeds (or these seeds). ``device`` is 'cpu', 'gpu' or 'auto' (the
    GPU where a probe fit passes); an unusable GPU falls back to the CPU with a warning.

    The option groups hold the rest, each documented on its class: ``data`` (task kind,
    weights, id column, columns to drop), ``search`` (sampler, pruner, fixed params, head
    starts, parallel trials), ``fit`` (early stopping, round ceiling, threads), ``finalize``
    (refit 'folds' / 'full' / 'blend', top-k re-evaluation), ``evaluation`` (nested CV,
    comparisons, the delivered estimate, its interval, learning curves) and ``storage`` (an
    Optuna RDB URL or SQLite path: resumable, shareable by :func:`work`). The old flat names
    (``sampler=``, ``max_rounds=``, ...) still work for one release, with a DeprecationWarning
    naming their group (``boosttune.config.MOVED``).

    >>> import boosttune as bt                                          # doctest: +SKIP
    >>> result = bt.tune(train, target="class", metric="auc", n_trials=50, seeds=3)
    >>> result.best_params, result.score, result.oof, result.test_pred  # doctest: +SKIP
    """
    config = _config(locals(), moved, "tune")
    return pipeline.run(train, target, test, config)


def work(train: Frame, target: Any = None, *, test: Frame | None = None,
         **options: Any) -> int:
    """Run trials of a shared study without finalizing; return how many this worker ran.

    Takes :func:`tune`'s options, with ``storage`` naming the study that other workers (other
    processes or machines) search too. The data, folds and settings must be those the study
    was started with. The process that calls :func:`tune` (or ``boosttune run``) finalizes
    once the search is over.
    """
    return pipeline.work(train, target, test, _config({}, options, "work"))


def _config(given: dict[str, Any], moved: dict[str, Any], caller: str) -> RunConfig:
    """The RunConfig of a call: the flat options and groups given, then the moved names."""
    options = {k: v for k, v in given.items() if k not in ("train", "target", "test", "moved")}
    warn_moved(moved, caller)
    return build_config(**options, **moved)
