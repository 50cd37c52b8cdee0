"""Fit diagnosis from learning curves: good fit, overfitting, underfitting or unstable, with
the reason in words.

Curves are in the metric's direction-free form: ``better(a, b)`` says whether a beats b. The
improvement is how far validation moved from the first round to the best one; gaps and jumps
are measured against it, so the rules hold for any metric's scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FEW_ROUNDS = 20  # stopping this early means each round does too much: learning rate too high
CEILING_SHARE = 0.9  # a best round this close to the ceiling: more rounds would still help
JUMP_SHARE = 0.25  # one round undoing this share of the improvement: an unstable curve
DECLINE_SHARE = 0.05  # validation this much worse than its best at the end: it worsened
GAP_SHARE = 0.5  # train beating valid by half the improvement or more: a large gap

VERDICTS = ("good fit", "overfitting", "underfitting", "unstable")
# What the advice calls the knobs it turns; each backend names its own params (BackendSpec).
GENERIC_ADVICE = {"min_leaf": "the minimum rows per leaf", "tree_size": "the tree size",
                  "subsample": "row subsampling", "l2": "L2 regularisation"}


@dataclass(frozen=True)
class Diagnosis:
    verdict: str
    reason: str

    def __str__(self) -> str:
        return f"{self.verdict}: {self.reason}"


def diagnose(rounds: Sequence[int], valid: Sequence[float], train: Sequence[float] | None,
             best_round: int, max_rounds: int, greater_is_better: bool,
             tail_decline: float = 0.0, advice: Mapping[str, str] = GENERIC_ADVICE
             ) -> Diagnosis:
    """Diagnose one fit from its curves: validation and train scores (same metric, or train
    None) at ascending ``rounds`` up to ``best_round``, the round ceiling, and how far
    validation fell in the rounds after the best one, as a share of its improvement (the
    models keep only the best rounds, so the early-stopping curve tells). ``advice`` names
    the backend's params in the advice (keys of GENERIC_ADVICE)."""
    knob = {**GENERIC_ADVICE, **advice}
    sign = 1.0 if greater_is_better else -1.0
    r = np.asarray(rounds)
    v = sign * np.asarray(valid, dtype=np.float64)  # higher is better from here on
    at_best = int(np.searchsorted(r, best_round))
    best = v[at_best]
    improvement = max(best - v[0], 1e-12)
    if best_round >= CEILING_SHARE * max_rounds:
        return Diagnosis("underfitting", f"the best round ({best_round}) is at the ceiling of "
                         f"{max_rounds} rounds: raise max_rounds or the learning rate")
    if best_round < FEW_ROUNDS:
        return Diagnosis("unstable", f"early stopping kept only {best_round} rounds: each "
                         "round moves too far; lower the learning rate")
    drops = -np.diff(v[: at_best + 1])
    if drops.size and drops.max() > JUMP_SHARE * improvement:
        return Diagnosis("unstable", f"the validation score jumps: one round undid "
                         f"{drops.max() / improvement:.0%} of the improvement; lower the "
                         f"learning rate or raise {knob['min_leaf']}")
    if train is not None:
        gap = sign * float(np.asarray(train, dtype=np.float64)[at_best]) - best
        if tail_decline > DECLINE_SHARE and gap > GAP_SHARE * improvement:
            return Diagnosis("overfitting", f"validation worsened by {tail_decline:.0%} of its "
                             f"improvement after round {best_round} while train kept "
                             f"improving, and train leads validation by {gap / improvement:.1f}"
                             f"x the improvement: regularise (lower {knob['tree_size']}, raise "
                             f"{knob['min_leaf']}, {knob['subsample']}, {knob['l2']})")
    return Diagnosis("good fit", f"validation improved steadily to round {best_round} and "
                     "early stopping ended it there")


def overall(diagnoses: Sequence[Diagnosis]) -> Diagnosis:
    """One verdict for the folds: the most common one, the worse kind winning ties."""
    counts = {v: sum(d.verdict == v for d in diagnoses) for v in VERDICTS}
    verdict = max(reversed(VERDICTS), key=lambda v: counts[v])
    first = next(d for d in diagnoses if d.verdict == verdict)
    return Diagnosis(verdict, f"{counts[verdict]} of {len(diagnoses)} folds; {first.reason}")


def shift_text(found: Mapping[str, Any]) -> str:
    """A manifest's train/test shift check (``evaluation["shift"]``) in one line."""
    top = ", ".join(f"{f['feature']} {f['gain_share']:.0%}" for f in found["features"][:3])
    verdict = "SHIFTED: CV may not carry over" if found["shifted"] else "no shift found"
    return (f"train vs test rows AUC {found['auc']:.3f} (warns above {found['threshold']:.2f}; "
            f"{verdict}); separated most by {top or '-'}")


def fidelity_text(climb: Mapping[str, Any], chosen_share: float,
                  full_fold: Mapping[str, Any] | None = None) -> str:
    """A manifest's low-fidelity climb (``headstart["fidelity"]``) in one line, with a
    delivered rung's fit on a whole fold (``search["full_fold"]``)."""
    rungs = ", ".join(f"{r['share']:.1%} on {r.get('folds', 'all')} folds ({r['complete']} "
                      f"complete, {r['pruned']} pruned, {r.get('unscored', 0)} of them before "
                      "a fold was scored)" for r in climb["rungs"])
    chosen = ("the choice made on all rows" if chosen_share == 1.0 else
              f"no full-data trial finished: the choice made on {chosen_share:.1%} of the rows")
    if full_fold and "score" in full_fold:
        chosen += (f", then fit on fold 1's whole training part ({full_fold['rows']} rows, "
                   f"{full_fold['n_rounds']} rounds"
                   + (", cut by the time" if full_fold.get("cut") else "")
                   + f"; {full_fold['score']:.5f} on its validation rows against "
                   f"{full_fold['rung_score']:.5f} for the rung's model of that fold): "
                   + ("that model is delivered" if full_fold["delivered"]
                      else "the rung's fold models are delivered"))
    return (f"trials first on a share of each fold's training rows: {rungs}; a full trial "
            f"predicted at {climb['predicted_full_trial_seconds']:.1f} s; {chosen}")
