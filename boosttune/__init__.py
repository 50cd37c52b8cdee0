"""boosttune: cross-validated, early-stopped, seed-averaged tuning of LightGBM and XGBoost.

>>> import boosttune as bt                                             # doctest: +SKIP
>>> result = bt.tune(train, target="class", metric="auc", n_trials=50, seeds=3)
>>> result.save("runs/adult-lightgbm")                                 # doctest: +SKIP
"""

from boosttune._version import __version__
from boosttune.api import tune, work
from boosttune.cv import Folds, make_folds
from boosttune.errors import BoostTuneError
from boosttune.evaluate import CVScore
from boosttune.metrics import METRICS, Metric
from boosttune.result import TuneResult
from boosttune.sklearn import BoostTuneClassifier, BoostTuneRegressor
from boosttune.spaces import Categorical, Float, Int, SearchSpace, preset

__all__ = [
    "METRICS",
    "BoostTuneClassifier",
    "BoostTuneError",
    "BoostTuneRegressor",
    "CVScore",
    "Categorical",
    "Float",
    "Folds",
    "Int",
    "Metric",
    "SearchSpace",
    "TuneResult",
    "__version__",
    "make_folds",
    "preset",
    "tune",
    "work",
]
