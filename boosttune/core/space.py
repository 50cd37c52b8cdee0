"""SearchSpace: named dimensions (optionally conditional) plus fixed params.

A dimension with ``when=("grow_policy", "lossguide")`` is only sampled when that earlier
param took that value. Spaces are immutable: ``with_range``, ``fix`` and ``without`` return
new spaces, so presets are never changed by accident.

>>> space = SearchSpace({"learning_rate": Float(0.01, 0.3, log=True)}, {"num_leaves": 31})
>>> space.with_range("learning_rate", 0.02, 0.1).fix(max_depth=6).fixed
{'num_leaves': 31, 'max_depth': 6}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from boosttune.core.errors import BoostTuneError

Condition = tuple[str, Any] | None


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False
    when: Condition = None

    def suggest(self, trial: optuna.Trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def grid(self, n_points: int) -> list[Any]:
        points = (np.geomspace if self.log else np.linspace)(self.low, self.high, n_points)
        return [float(p) for p in points]

    def describe(self) -> str:
        return f"float [{self.low:g}, {self.high:g}]" + (" log" if self.log else "")


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    log: bool = False
    when: Condition = None

    def suggest(self, trial: optuna.Trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def grid(self, n_points: int) -> list[Any]:
        points = (np.geomspace if self.log else np.linspace)(self.low, self.high, n_points)
        return sorted({int(np.rint(p)) for p in points})

    def describe(self) -> str:
        return f"int [{self.low}, {self.high}]" + (" log" if self.log else "")


@dataclass(frozen=True)
class Categorical:
    choices: tuple[Any, ...]
    when: Condition = None

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        return trial.suggest_categorical(name, self.choices)

    def grid(self, n_points: int) -> list[Any]:
        return list(self.choices)

    def describe(self) -> str:
        return "one of " + ", ".join(map(str, self.choices))


Dimension = Float | Int | Categorical


class SearchSpace:
    """What a trial may vary (``dimensions``) and what it never does (``fixed``)."""

    def __init__(
        self,
        dimensions: Mapping[str, Dimension],
        fixed: Mapping[str, Any] | None = None,
        name: str = "custom",
    ) -> None:
        self.dimensions: dict[str, Dimension] = dict(dimensions)
        self.fixed: dict[str, Any] = dict(fixed or {})
        self.name = name
        self._check()

    def _check(self) -> None:
        seen: set[str] = set()
        for key, dim in self.dimensions.items():
            if not isinstance(dim, (Float, Int, Categorical)):
                raise BoostTuneError(
                    f"Dimension {key!r} must be a Float, Int or Categorical; got {dim!r} instead."
                )
            if isinstance(dim, (Float, Int)):
                if dim.low > dim.high:
                    raise BoostTuneError(
                        f"Dimension {key!r} has low {dim.low} above high {dim.high}."
                    )
                if dim.log and dim.low <= 0:
                    raise BoostTuneError(f"Dimension {key!r} is log-scaled so low must be > 0.")
            if dim.when is not None and dim.when[0] not in seen:
                raise BoostTuneError(
                    f"Dimension {key!r} depends on {dim.when[0]!r}, which must come before it."
                )
            seen.add(key)
        both = set(self.dimensions) & set(self.fixed)
        if both:
            raise BoostTuneError(f"Param(s) {sorted(both)} are both searched and fixed.")

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample one configuration (searched params only) from an Optuna trial."""
        params: dict[str, Any] = {}
        for key, dim in self.dimensions.items():
            if dim.when is None or params.get(dim.when[0]) == dim.when[1]:
                params[key] = dim.suggest(trial, key)
        return params

    def grid(self, n_points: int = 3) -> dict[str, list[Any]]:
        """A grid for Optuna's GridSampler: ``n_points`` per numeric dimension."""
        return {key: dim.grid(n_points) for key, dim in self.dimensions.items()}

    def with_range(self, name: str, low: float, high: float) -> SearchSpace:
        """A copy with ``name``'s range narrowed or widened to [low, high]."""
        dim = self._dimension(name)
        if isinstance(dim, Categorical):
            raise BoostTuneError(f"{name!r} is categorical; use with_choices for it.")
        changed: Dimension = (Int(int(low), int(high), dim.log, dim.when) if isinstance(dim, Int)
                              else Float(float(low), float(high), dim.log, dim.when))
        return self._copy({**self.dimensions, name: changed}, self.fixed)

    def with_choices(self, name: str, *choices: Any) -> SearchSpace:
        dim = self._dimension(name)
        changed = Categorical(tuple(choices), dim.when)
        return self._copy({**self.dimensions, name: changed}, self.fixed)

    def with_dimension(self, name: str, dimension: Dimension) -> SearchSpace:
        """A copy that also searches ``name`` (or searches it differently)."""
        fixed = {k: v for k, v in self.fixed.items() if k != name}
        return self._copy({**self.dimensions, name: dimension}, fixed)

    def fix(self, **params: Any) -> SearchSpace:
        """A copy in which these params are fixed, no longer searched."""
        dims = {k: d for k, d in self.dimensions.items() if k not in params}
        return self._copy(dims, {**self.fixed, **params})

    def without(self, *names: str) -> SearchSpace:
        for name in names:
            self._dimension(name)
        dims = {k: d for k, d in self.dimensions.items() if k not in names}
        return self._copy(dims, self.fixed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dimensions": {k: d.describe() + _when_text(d) for k, d in self.dimensions.items()},
            "fixed": self.fixed,
        }

    def _dimension(self, name: str) -> Dimension:
        if name not in self.dimensions:
            raise BoostTuneError(
                f"{name!r} is not searched in space {self.name!r}; its dimensions are "
                f"{list(self.dimensions)}."
            )
        return self.dimensions[name]

    def _copy(self, dims: Mapping[str, Dimension], fixed: Mapping[str, Any]) -> SearchSpace:
        return SearchSpace(dims, fixed, self.name)

    def __str__(self) -> str:
        width = max([len(k) for k in [*self.dimensions, *self.fixed]] + [4])
        lines = [f"search space {self.name!r}"]
        lines += [f"  {k:<{width}}  {d.describe()}{_when_text(d)}"
                  for k, d in self.dimensions.items()]
        lines += [f"  {k:<{width}}  = {v!r}" for k, v in self.fixed.items()]
        return "\n".join(lines)

    __repr__ = __str__


def _when_text(dim: Dimension) -> str:
    return f"  (when {dim.when[0]} = {dim.when[1]!r})" if dim.when else ""
