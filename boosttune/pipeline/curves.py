"""Learning curves of the final fits, train against validation, and the fit diagnosis.

Recording the metric on the training rows every round costs 1.68x per LightGBM fit, so the
search never does. Finalize instead scores the first seed's fold models at up to ``POINTS``
rounds up to the best one, on up to ``ROWS`` sampled training and validation rows, with the
task's own metric: cheap, and train and validation are on one scale. The models keep only
their best rounds; what came after is read from the early-stopping curve (``tail_decline``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from boosttune.backends.base import Backend
from boosttune.core.diagnosis import Diagnosis, diagnose, overall
from boosttune.core.results import CVRun, FoldFit, Predict
from boosttune.core.statistics import fold_score

POINTS = 15
ROWS = 500


def learning_curves(backend: Backend, predict: Predict, run: CVRun) -> pd.DataFrame:
    """One row per (fold, round) of ``run``: train and valid score, the fold's best round."""
    return pd.concat([_fold_curve(backend, predict, run.seed, fit) for fit in run.fits],
                     ignore_index=True)


def diagnose_curves(curves: pd.DataFrame, max_rounds: int, greater_is_better: bool,
                    advice: Mapping[str, str]) -> tuple[Diagnosis, list[Diagnosis]]:
    """The verdict over the folds, and each fold's own; ``advice`` names the backend's
    params."""
    each = [diagnose(group["round"].to_numpy(), group["valid"].to_numpy(),
                     group["train"].to_numpy(), int(group["best_round"].iloc[0]), max_rounds,
                     greater_is_better, float(group["tail_decline"].iloc[0]), advice)
            for _, group in curves.groupby(["seed", "fold"], sort=True)]
    return overall(each), each


def _fold_curve(backend: Backend, predict: Predict, seed: int, fit: FoldFit) -> pd.DataFrame:
    task = backend.task
    parts = backend.parts(fit.fold)
    rng = np.random.default_rng(seed * 1000 + fit.fold)
    train_rows = _sample(parts.fit, rng)
    valid_rows = _sample(parts.valid, rng)
    rounds = np.unique(np.linspace(1, fit.n_rounds, POINTS).astype(int))
    decline = _tail_decline(fit.curves.get("valid", []), fit.n_rounds)
    cats = task.encoder.categorical_indices
    rows = []
    for r in rounds:
        members = [(fit.model, int(r))]
        rows.append({
            "seed": seed, "fold": fit.fold, "round": int(r), "best_round": fit.n_rounds,
            "tail_decline": decline,
            "train": fold_score(task, train_rows, predict(members, task.X[train_rows], cats)),
            "valid": fold_score(task, valid_rows, predict(members, task.X[valid_rows], cats)),
        })
    return pd.DataFrame(rows)


def _tail_decline(curve: list[float], best_round: int) -> float:
    """How far the early-stopping metric fell after the best round, as a share of how far it
    rose up to it (direction-free: the best round marks the better side)."""
    if len(curve) <= best_round or best_round < 2:
        return 0.0
    values = np.asarray(curve, dtype=np.float64)
    gain = values[best_round - 1] - values[0]
    if gain == 0:
        return 0.0
    return float(max(0.0, (values[best_round - 1] - values[-1]) / gain))


def _sample(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rows if len(rows) <= ROWS else np.sort(rng.choice(rows, ROWS, replace=False))
