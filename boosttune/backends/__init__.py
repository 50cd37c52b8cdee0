"""Backends: one module per library, each registering a BackendSpec (see registry)."""

from boosttune.backends import lightgbm as _lightgbm
from boosttune.backends import xgboost as _xgboost
from boosttune.backends.base import Backend, BudgetExhausted, FitSettings
from boosttune.backends.registry import (
    REFITS,
    BackendSpec,
    backend_names,
    backend_spec,
    preset,
    register_backend,
    tiers,
    unregister_backend,
)

register_backend(_lightgbm.SPEC)
register_backend(_xgboost.SPEC)

__all__ = ["REFITS", "Backend", "BackendSpec", "BudgetExhausted", "FitSettings",
           "backend_names", "backend_spec", "preset", "register_backend", "tiers",
           "unregister_backend"]
