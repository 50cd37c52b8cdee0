"""Backends: one module per library, each registering a BackendSpec (see registry)."""

from boosttune.backends import lightgbm as _lightgbm
from boosttune.backends import xgboost as _xgboost
from boosttune.backends.base import Backend, BudgetExhausted, FitSettings
from boosttune.backends.registry import (
    NOT_INSTALLED,
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
try:  # optional: pip install "boosttune[catboost]"
    from boosttune.backends import catboost as _catboost
except ImportError:
    NOT_INSTALLED["catboost"] = 'pip install "boosttune[catboost]"'
else:
    register_backend(_catboost.SPEC)

__all__ = ["NOT_INSTALLED", "REFITS", "Backend", "BackendSpec", "BudgetExhausted", "FitSettings",
           "backend_names", "backend_spec", "preset", "register_backend", "tiers",
           "unregister_backend"]
