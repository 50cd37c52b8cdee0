"""The trials kept for an ensemble: the best ``size`` complete trials of a search, each with its
out-of-fold predictions and its fold models, so that an ensemble of them needs no retraining.
Memory grows by one OOF array and k boosters a kept trial, never with the trial count, and
stays within ``max_bytes`` (the best trial is kept whatever its size)."""

from __future__ import annotations

import pickle
import threading
from dataclasses import dataclass, field
from typing import Any

from boosttune.core.metrics import Direction
from boosttune.core.results import CVRun, Kept, Predict


@dataclass
class TrialPool:
    """The best ``size`` trials of ``model`` by CV score (size 0 keeps none), at most
    ``max_bytes`` of OOF predictions and pickled fold models in all (None: no bound)."""

    model: str
    size: int
    direction: Direction
    predict: Predict
    max_bytes: float | None = None
    kept: list[Kept] = field(default_factory=list)
    _bound_hit: bool = False  # a trial was dropped for the byte bound: the pool is full
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def offer(self, trial: int, params: dict[str, Any], run: CVRun) -> None:
        """Keep this trial if it is among the best ``size`` so far and fits in the bound."""
        if self.size < 1 or not self._ranks(run.score):
            return
        models = [(f.model, f.n_rounds) for f in run.fits]
        size = 0 if self.max_bytes is None else (  # a pickle of big boosters takes seconds
            run.oof.nbytes + len(pickle.dumps([m for m, _ in models])))
        kept = Kept(self.model, trial, dict(params), run.score, run.oof, models, self.predict,
                    run.seconds, size)
        with self._lock:
            self.kept.append(kept)
            self.kept.sort(key=lambda k: (self.direction.sort_key(k.score), k.trial))
            del self.kept[self.size:]
            while len(self.kept) > 1 and self.max_bytes is not None \
                    and self.bytes > self.max_bytes:
                self.kept.pop()
                self._bound_hit = True

    @property
    def bytes(self) -> int:
        """What the kept trials hold: OOF arrays and pickled fold models."""
        return sum(k.bytes for k in self.kept)

    def _ranks(self, score: float) -> bool:
        """Whether a trial of this score would enter the pool (before the byte bound)."""
        with self._lock:
            if len(self.kept) < self.size and not self._bound_hit:
                return True
            return self.direction.sort_key(score) < self.direction.sort_key(self.kept[-1].score)
