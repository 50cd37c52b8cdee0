"""The gain of averaging models, measured on rows whose labels are unknown (the test rows).

For squared error, the loss of a weighted average P = Σ w_j h_j (Σ w_j = 1) is, on every row,
the weighted mean of its members' losses less their spread around it (Krogh & Vedelsby,
1995): (y − P)² = Σ w_j (y − h_j)² − Σ w_j (h_j − P)². The spread needs no label. So the
delivered average of fold models (and refits) scores its members' expected loss, which the CV
score estimates (each member is one model trained as a fold model is), less its spread on the
test rows. A refit on all rows counts as one more member as good as a fold model: on
diamonds and letter at 60 s it scored no better than the fold models' average, so counting
it as better overstated the gain.

For log loss the same holds in expectation over labels drawn from P itself:
E_{y~P}[Σ w_j (−log h_j(y)) − (−log P(y))] = Σ w_j KL(P ‖ h_j), the spread in log-loss units.
Other metrics (AUC, accuracy, MAE, custom ones) have no such form: ``supports`` is False.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from boosttune.core.blending import blend

SQUARED = ("rmse", "rmsle")  # scores that are the root of a mean squared error
LOG_LOSS = ("logloss", "multi_logloss")
EPSILON = 1e-15  # probabilities are clipped to [EPSILON, 1] before their log



@dataclass(frozen=True)
class Weighted:
    """Models' own predictions and their weights in the average they make (summing to 1)."""

    preds: list[np.ndarray]
    weights: np.ndarray

    def mean(self) -> np.ndarray:
        """The average they make: what the ensemble they came from predicts."""
        return blend(self.preds, self.weights)


def supports(metric: str) -> bool:
    """Whether the averaging gain of ``metric`` is known from the members' spread alone."""
    return metric in SQUARED or metric in LOG_LOSS


def row_spread(metric: str, members: Weighted) -> np.ndarray:
    """Per row, the members' weighted spread around their weighted mean, in loss units
    (squared error for RMSE, on the log1p scale for RMSLE; log loss for the log losses)."""
    weights = members.weights / members.weights.sum()
    preds = np.stack([_scale(metric, np.asarray(p, dtype=float)) for p in members.preds])
    mean = np.tensordot(weights, preds, axes=1)
    if metric in SQUARED:
        return np.tensordot(weights, (preds - mean) ** 2, axes=1)
    logs = np.log(np.clip(preds, EPSILON, 1.0))
    centre = np.clip(mean, EPSILON, 1.0)
    # Σ_j w_j KL(P ‖ h_j) = Σ_c P_c (log P_c − Σ_j w_j log h_jc)
    return np.sum(centre * (np.log(centre) - np.tensordot(weights, logs, axes=1)), axis=1)


def _scale(metric: str, pred: np.ndarray) -> np.ndarray:
    """Predictions on the scale the loss is a mean over: class probabilities as a row each."""
    if metric == "rmsle":
        return np.log1p(np.clip(pred, 0, None))
    if metric in LOG_LOSS and pred.ndim == 1:
        return np.column_stack([1 - pred, pred])
    return pred


def averaged_score(metric: str, score: float, spread: float) -> float:
    """The score of an average whose members score ``score`` each, ``spread`` (mean loss
    units) apart."""
    if metric in SQUARED:
        return float(np.sqrt(max(score ** 2 - spread, 0.0)))
    return score - spread


def averaging_gain(metric: str, score: float, members: Weighted, baseline: float = 0.0
                   ) -> tuple[float, float]:
    """The gain (in the metric's units) and its SE of averaging ``members`` over one model
    scoring ``score``, from their spread on the rows they predict, less ``baseline``: the
    spread the score already includes (an ensemble's OOF blend has its members' spread
    across trials, not their fold models')."""
    spread = row_spread(metric, members)
    mean = float(np.mean(spread)) - baseline
    delivered = averaged_score(metric, score, mean)
    se = float(np.std(spread, ddof=1) / np.sqrt(len(spread))) if len(spread) > 1 else 0.0
    if metric in SQUARED and delivered > 0:
        se /= 2 * delivered  # d sqrt(L) = dL / (2 sqrt(L))
    return delivered - score, se

