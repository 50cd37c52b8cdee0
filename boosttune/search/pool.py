"""The trials kept for an ensemble: the best ``size`` complete trials of a search, each with its
out-of-fold predictions and its fold models, so that an ensemble of them needs no retraining.
Memory grows by one OOF array and k boosters a kept trial, never with the trial count."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from boosttune.core.metrics import Direction
from boosttune.core.results import CVRun, Kept, Predict


@dataclass
class TrialPool:
    """The best ``size`` trials of ``model`` by CV score (size 0 keeps none)."""

    model: str
    size: int
    direction: Direction
    predict: Predict
    kept: list[Kept] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def offer(self, trial: int, params: dict[str, Any], run: CVRun) -> None:
        """Keep this trial if it is among the best ``size`` so far."""
        if self.size < 1:
            return
        kept = Kept(self.model, trial, dict(params), run.score, run.oof,
                    [(f.model, f.n_rounds) for f in run.fits], self.predict, run.seconds)
        with self._lock:
            self.kept.append(kept)
            self.kept.sort(key=lambda k: (self.direction.sort_key(k.score), k.trial))
            del self.kept[self.size:]
