"""Preset search spaces per backend and tier: ``fast`` (the few params that matter most),
``default`` (the usual Kaggle set) and ``wide`` (more regularisation and categorical knobs).

Names are the ones both the native API and the sklearn wrappers accept, so tuned params load
straight into ``lightgbm.LGBMClassifier(**params)`` or ``xgboost.XGBClassifier(**params)``.
"""

from __future__ import annotations

from boosttune.device import Device
from boosttune.errors import BoostTuneError
from boosttune.spaces.base import Categorical, Dimension, Float, Int, SearchSpace

TIERS = ("fast", "default", "wide")

_LIGHTGBM_FAST: dict[str, Dimension] = {
    "learning_rate": Float(0.02, 0.3, log=True),
    "num_leaves": Int(8, 256, log=True),
    "min_child_samples": Int(5, 200, log=True),
    "feature_fraction": Float(0.4, 1.0),
}
_LIGHTGBM_DEFAULT: dict[str, Dimension] = {
    **_LIGHTGBM_FAST,
    "bagging_fraction": Float(0.5, 1.0),
    "lambda_l1": Float(1e-8, 10.0, log=True),
    "lambda_l2": Float(1e-8, 10.0, log=True),
    "min_gain_to_split": Float(1e-8, 1.0, log=True),
}
_LIGHTGBM_WIDE: dict[str, Dimension] = {
    **_LIGHTGBM_DEFAULT,
    "max_depth": Int(3, 16),
    "min_sum_hessian_in_leaf": Float(1e-4, 10.0, log=True),
    "path_smooth": Float(1e-8, 10.0, log=True),
    "cat_smooth": Float(1.0, 100.0, log=True),
    "extra_trees": Categorical((False, True)),
}

_XGBOOST_FAST: dict[str, Dimension] = {
    "learning_rate": Float(0.02, 0.3, log=True),
    "max_depth": Int(3, 10),
    "min_child_weight": Float(0.01, 50.0, log=True),
    "colsample_bytree": Float(0.4, 1.0),
}
_XGBOOST_DEFAULT: dict[str, Dimension] = {
    "learning_rate": Float(0.02, 0.3, log=True),
    "grow_policy": Categorical(("depthwise", "lossguide")),
    "max_depth": Int(3, 12, when=("grow_policy", "depthwise")),
    "max_leaves": Int(8, 256, log=True, when=("grow_policy", "lossguide")),
    "min_child_weight": Float(0.01, 50.0, log=True),
    "subsample": Float(0.5, 1.0),
    "colsample_bytree": Float(0.4, 1.0),
    "reg_alpha": Float(1e-8, 10.0, log=True),
    "reg_lambda": Float(1e-8, 10.0, log=True),
    "gamma": Float(1e-8, 1.0, log=True),
}
_XGBOOST_WIDE: dict[str, Dimension] = {
    **_XGBOOST_DEFAULT,
    "colsample_bylevel": Float(0.4, 1.0),
    "max_cat_to_onehot": Int(1, 16, log=True),
    "max_delta_step": Float(1e-8, 10.0, log=True),
}

_PRESETS: dict[tuple[str, str], tuple[dict[str, Dimension], dict]] = {
    ("lightgbm", "fast"): (_LIGHTGBM_FAST, {}),
    ("lightgbm", "default"): (_LIGHTGBM_DEFAULT, {"bagging_freq": 1}),
    ("lightgbm", "wide"): (_LIGHTGBM_WIDE, {"bagging_freq": 1}),
    ("xgboost", "fast"): (_XGBOOST_FAST, {}),
    ("xgboost", "default"): (_XGBOOST_DEFAULT, {}),
    ("xgboost", "wide"): (_XGBOOST_WIDE, {}),
}


def preset(model: str, tier: str = "default") -> SearchSpace:
    """The preset space of ``model`` ('lightgbm' or 'xgboost') at ``tier``.

    >>> print(preset("lightgbm", "fast"))  # doctest: +ELLIPSIS
    search space 'lightgbm/fast'
      learning_rate ...
    """
    key = (model, tier)
    if key not in _PRESETS:
        raise BoostTuneError(
            f"No preset for model={model!r}, preset={tier!r}; models are 'lightgbm' and "
            f"'xgboost', presets are {list(TIERS)}."
        )
    dims, fixed = _PRESETS[key]
    return SearchSpace(dims, fixed, name=f"{model}/{tier}")


def for_device(space: SearchSpace, device: Device) -> SearchSpace:
    """The space adjusted to the device: LightGBM's OpenCL learner is fastest with 63 bins."""
    if device.kind == "opencl" and "max_bin" not in space.fixed \
            and "max_bin" not in space.dimensions:
        return space.fix(max_bin=63)
    return space
