"""Backends: LightGBM and XGBoost behind one protocol (see base.Backend)."""

from collections.abc import Callable
from typing import Any

import numpy as np

from boosttune.backends import lightgbm as _lightgbm
from boosttune.backends import xgboost as _xgboost
from boosttune.backends.base import Backend, BudgetExhausted, FitSettings, FoldFit
from boosttune.errors import BoostTuneError

BACKENDS: dict[str, type[Backend]] = {
    "lightgbm": _lightgbm.LightGBMBackend,
    "xgboost": _xgboost.XGBoostBackend,
}
# Mean prediction of (booster, rounds) members without a backend instance (no datasets).
PREDICT: dict[str, Callable[[list[tuple[Any, int]], np.ndarray, list[int]], np.ndarray]] = {
    "lightgbm": _lightgbm.predict_average,
    "xgboost": _xgboost.predict_average,
}


def backend_class(model: str) -> type[Backend]:
    if model not in BACKENDS:
        raise BoostTuneError(
            f"The 'model' parameter must be one of {list(BACKENDS)}; got {model!r} instead."
        )
    return BACKENDS[model]


__all__ = ["BACKENDS", "PREDICT", "Backend", "BudgetExhausted", "FitSettings", "FoldFit",
           "backend_class"]
