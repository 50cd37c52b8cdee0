"""Prediction frames: the one place that names prediction columns and reads them back.

Binary and regression runs have one column ``pred``; multiclass runs one ``pred_<class>`` per
class, in the run's class order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

PREFIX = "pred"


def pred_columns(classes: Sequence[Any] | None, multiclass: bool) -> list[str]:
    return [f"{PREFIX}_{c}" for c in classes or []] if multiclass else [PREFIX]


def add_predictions(frame: pd.DataFrame, pred: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """``frame`` with ``pred`` (n rows, or n × K) as ``columns``."""
    matrix = pred.reshape(len(pred), -1)
    for j, name in enumerate(columns):
        frame[name] = matrix[:, j]
    return frame


def is_pred_column(name: str) -> bool:
    return name == PREFIX or name.startswith(f"{PREFIX}_")


def class_of_column(name: str) -> str:
    """The class a multiclass prediction column is named after."""
    return name.removeprefix(f"{PREFIX}_")


def pred_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The predictions of an OOF or test frame: 1-d for one column, else (n, K)."""
    pred = frame[[c for c in frame.columns if is_pred_column(str(c))]].to_numpy()
    return pred[:, 0] if pred.shape[1] == 1 else pred
