"""Learning-rate schedules: the rate of each boosting round, as a searchable dimension.

``lr_schedule`` names the shape and ``lr_decay_rounds`` its time scale; the params' own
``learning_rate`` (``eta``) is the starting rate. LightGBM applies it through
``lgb.reset_parameter``, XGBoost through ``xgb.callback.LearningRateScheduler``. Neither
library has these two params, so they never reach it: backends take them out and turn them
into a callback, and params.json leaves them out (the manifest keeps them).
"""

from __future__ import annotations

import math
from typing import Any

from boosttune.core.errors import BoostTuneError
from boosttune.core.space import Categorical, Dimension, Int

SCHEDULES = ("constant", "step", "exponential", "cosine", "warmup_cosine")
SCHEDULE_KEYS = ("lr_schedule", "lr_decay_rounds")
FLOOR = 0.1  # cosine schedules end at this share of the starting rate
DEFAULT_DECAY_ROUNDS = 500


def rate(schedule: str, start: float, round_index: int, decay_rounds: int) -> float:
    """The learning rate of round ``round_index`` (0-based)."""
    i, t = round_index, max(1, decay_rounds)
    if schedule == "constant":
        return start
    if schedule == "step":
        return start * 0.5 ** (i // t)
    if schedule == "exponential":
        return start * 0.5 ** (i / t)  # t is the half-life
    if schedule == "cosine":
        return _cosine(start, i, t)
    if schedule == "warmup_cosine":
        warm = max(1, t // 10)
        return start * (i + 1) / warm if i < warm else _cosine(start, i - warm, t - warm)
    raise BoostTuneError(f"lr_schedule must be one of {list(SCHEDULES)}; got {schedule!r}.")


def _cosine(start: float, i: int, t: int) -> float:
    floor = FLOOR * start
    return floor + (start - floor) * (1 + math.cos(math.pi * min(i, t) / max(1, t))) / 2


def split(params: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, int] | None]:
    """The native params, and (schedule, decay rounds) if a non-constant one is set."""
    native = {k: v for k, v in params.items() if k not in SCHEDULE_KEYS}
    schedule = params.get("lr_schedule", "constant")
    if schedule == "constant":
        return native, None
    if schedule not in SCHEDULES:
        raise BoostTuneError(f"lr_schedule must be one of {list(SCHEDULES)}; got {schedule!r}.")
    return native, (schedule, int(params.get("lr_decay_rounds", DEFAULT_DECAY_ROUNDS)))


def dimensions(choice: str) -> dict[str, Dimension]:
    """Search dimensions for ``tune(lr_schedule=...)``: 'search' tries every shape."""
    if choice == "search":
        return {"lr_schedule": Categorical(SCHEDULES),
                "lr_decay_rounds": Int(50, 2000, log=True)}
    if choice in SCHEDULES:
        return {} if choice == "constant" else {"lr_decay_rounds": Int(50, 2000, log=True)}
    raise BoostTuneError(
        f"The 'lr_schedule' parameter must be 'search' or one of {list(SCHEDULES)}; got "
        f"{choice!r}.")


def slowed(params: dict[str, Any], n_rounds: int, low_rate: float
           ) -> tuple[dict[str, Any], int]:
    """The params and rounds of a refit at the learning rate ÷ ``low_rate`` (unchanged at 1,
    or where the params set no learning rate to lower)."""
    if low_rate == 1 or "learning_rate" not in params:
        return params, n_rounds
    return ({**params, "learning_rate": params["learning_rate"] / low_rate},
            math.ceil(n_rounds * low_rate))
