"""boosttune: cross-validated, early-stopped, seed-averaged tuning of LightGBM and XGBoost.

>>> import boosttune as bt                                             # doctest: +SKIP
>>> result = bt.tune(train, target="class", metric="auc", n_trials=50, seeds=3)
>>> result.save("runs/adult-lightgbm")                                 # doctest: +SKIP
"""

from boosttune._version import __version__
from boosttune.api import tune, work
from boosttune.backends import BackendSpec, backend_names, preset, register_backend
from boosttune.config import CV, Data, Evaluation, Finalize, Fit, RunConfig, Search, Storage
from boosttune.core.errors import (
    BoostTuneError,
    BudgetWarning,
    BusyMachineWarning,
    ShiftWarning,
)
from boosttune.core.folds import Folds, make_folds
from boosttune.core.metrics import METRICS, Metric
from boosttune.core.results import CVScore
from boosttune.core.space import Categorical, Float, Int, SearchSpace
from boosttune.result import TuneResult
from boosttune.sklearn import BoostTuneClassifier, BoostTuneRegressor

__all__ = [
    "CV",
    "METRICS",
    "BackendSpec",
    "BoostTuneClassifier",
    "BoostTuneError",
    "BoostTuneRegressor",
    "BudgetWarning",
    "BusyMachineWarning",
    "CVScore",
    "Categorical",
    "Data",
    "Evaluation",
    "Finalize",
    "Fit",
    "Float",
    "Folds",
    "Int",
    "Metric",
    "RunConfig",
    "Search",
    "SearchSpace",
    "ShiftWarning",
    "Storage",
    "TuneResult",
    "__version__",
    "backend_names",
    "make_folds",
    "preset",
    "register_backend",
    "tune",
    "work",
]
