"""High-cardinality categoricals: native handling against capped native handling and against
encodings fitted inside each training fold; kept apart from the test run.

    python tests/benchmarks/bench_categoricals.py [--folds 5] [--data-dir DIR]

Data (../shared/datasets), each with an id-like categorical of thousands of levels made the
way a Kaggle notebook makes one:
  nyc_taxis      tip (RMSE); route = pickup_zone + dropoff_zone, beside both zones
  metro_traffic  traffic_volume (RMSE); day = the date of date_time, beside hour and weekday
  beijing_pm25   PM2.5 (RMSE), 100k rows; station_day = station + date, beside station, wd
Methods, per library (LightGBM, XGBoost), same fixed params, same folds, early stopping on the
fold:
  native     the library's categorical handling, its defaults
  capped     native, regularised: LightGBM max_cat_threshold=16, cat_smooth=50,
             min_data_per_group=200; XGBoost max_cat_to_onehot=1, max_cat_threshold=16
  frequency  columns above the cardinality threshold replaced by their level's count in the
             training fold (unseen levels: 0)
  target     columns above the threshold replaced by an out-of-fold target mean inside the
             training fold (5 inner folds, smoothed towards the fold mean with 20 rows' weight;
             validation rows get the whole training fold's smoothed means)
Prints the CV score per (dataset, library, method) and the winner per dataset.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.model_selection import KFold

ROOT = Path(__file__).resolve().parents[2]
THRESHOLD = 1000  # levels above which a column is encoded by 'frequency' and 'target'
SMOOTHING = 20.0
RATE, ROUNDS, PATIENCE = 0.05, 5000, 100


def nyc_taxis(data: Path) -> tuple[pd.DataFrame, np.ndarray]:
    df = pd.read_csv(data / "nyc_taxis.csv.gz").dropna(subset=["tip"])
    pickup = pd.to_datetime(df["pickup"])
    X = pd.DataFrame({"distance": df["distance"], "fare": df["fare"],
                      "passengers": df["passengers"], "hour": pickup.dt.hour,
                      "payment": df["payment"], "pickup_zone": df["pickup_zone"],
                      "dropoff_zone": df["dropoff_zone"],
                      "route": df["pickup_zone"] + " > " + df["dropoff_zone"]})
    return X, df["tip"].to_numpy()


def metro_traffic(data: Path) -> tuple[pd.DataFrame, np.ndarray]:
    df = pd.read_csv(data / "metro_traffic.csv.gz")
    when = pd.to_datetime(df["date_time"])
    X = df.drop(columns=["traffic_volume", "date_time"]).assign(
        hour=when.dt.hour, weekday=when.dt.day_of_week, day=when.dt.date.astype(str))
    return X, df["traffic_volume"].to_numpy(dtype=float)


def beijing(data: Path) -> tuple[pd.DataFrame, np.ndarray]:
    df = pd.read_csv(data / "beijing_pm25.csv.gz").dropna(subset=["PM2.5"])
    df = df.sample(n=100_000, random_state=0).reset_index(drop=True)
    date = df["datetime"].str.slice(0, 10) if "datetime" in df else (
        df["year"].astype(str) + "-" + df["month"].astype(str) + "-" + df["day"].astype(str))
    X = df.drop(columns=[c for c in ("PM2.5", "PM10", "datetime") if c in df]).assign(
        station_day=df["station"] + " " + date)
    return X, df["PM2.5"].to_numpy(dtype=float)


DATASETS: dict[str, Callable[[Path], tuple[pd.DataFrame, np.ndarray]]] = {
    "nyc_taxis": nyc_taxis, "metro_traffic": metro_traffic, "beijing_pm25": beijing}


def as_categories(X: pd.DataFrame) -> pd.DataFrame:
    X = X.copy()
    for column in X.columns:
        if X[column].dtype == object or str(X[column].dtype) in ("str", "string"):
            X[column] = X[column].astype("category")
    return X


def high(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)
            and X[c].nunique() > THRESHOLD]


def frequency(train: pd.DataFrame, valid: pd.DataFrame, y: np.ndarray
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, valid = train.copy(), valid.copy()
    for column in high(train):
        counts = train[column].value_counts()
        train[column] = train[column].map(counts).astype(float)
        valid[column] = valid[column].map(counts).astype(float).fillna(0.0)
    return train, valid


def target(train: pd.DataFrame, valid: pd.DataFrame, y: np.ndarray
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    encoded, valid = train.copy(), valid.copy()
    prior = float(y.mean())
    for column in high(train):
        means = _smoothed(train[column], y, prior)
        valid[column] = valid[column].map(means).astype(float).fillna(prior)
        out = np.full(len(train), prior)
        for fit, apply in KFold(5, shuffle=True, random_state=0).split(train):
            inner = _smoothed(train[column].iloc[fit], y[fit], float(y[fit].mean()))
            out[apply] = train[column].iloc[apply].map(inner).astype(float).fillna(
                float(y[fit].mean())).to_numpy()
        encoded[column] = out
    return encoded, valid


def _smoothed(levels: pd.Series, y: np.ndarray, prior: float) -> pd.Series:
    stats = pd.DataFrame({"level": levels.to_numpy(), "y": y}).groupby(
        "level", observed=True)["y"].agg(["sum", "count"])
    return (stats["sum"] + SMOOTHING * prior) / (stats["count"] + SMOOTHING)


def native(train: pd.DataFrame, valid: pd.DataFrame, y: np.ndarray
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    return train, valid


ENCODINGS = {"native": native, "capped": native, "frequency": frequency, "target": target}
CAPPED = {"lightgbm": {"max_cat_threshold": 16, "cat_smooth": 50, "min_data_per_group": 200},
          "xgboost": {"max_cat_to_onehot": 1, "max_cat_threshold": 16}}


def fit_lightgbm(train: pd.DataFrame, y_train: np.ndarray, valid: pd.DataFrame,
                 y_valid: np.ndarray, extra: dict) -> np.ndarray:
    params = {"objective": "regression", "learning_rate": RATE, "num_leaves": 31,
              "verbosity": -1, "num_threads": 2, "seed": 0, **extra}
    fit_set = lgb.Dataset(train, y_train)
    valid_set = lgb.Dataset(valid, y_valid, reference=fit_set)
    booster = lgb.train(params, fit_set, ROUNDS, valid_sets=[valid_set],
                        callbacks=[lgb.early_stopping(PATIENCE, verbose=False)])
    return booster.predict(valid, num_iteration=booster.best_iteration)


def fit_xgboost(train: pd.DataFrame, y_train: np.ndarray, valid: pd.DataFrame,
                y_valid: np.ndarray, extra: dict) -> np.ndarray:
    params = {"objective": "reg:squarederror", "eta": RATE, "max_depth": 6, "nthread": 2,
              "tree_method": "hist", "seed": 0, **extra}
    fit_set = xgb.DMatrix(train, y_train, enable_categorical=True)
    valid_set = xgb.DMatrix(valid, y_valid, enable_categorical=True)
    booster = xgb.train(params, fit_set, ROUNDS, evals=[(valid_set, "valid")],
                        early_stopping_rounds=PATIENCE, verbose_eval=False)
    return booster.predict(valid_set, iteration_range=(0, booster.best_iteration + 1))


LIBRARIES = {"lightgbm": fit_lightgbm, "xgboost": fit_xgboost}


def cv_rmse(X: pd.DataFrame, y: np.ndarray, library: str, method: str, n_folds: int
            ) -> tuple[float, float]:
    scores, started = [], time.perf_counter()
    for train, valid in KFold(n_folds, shuffle=True, random_state=0).split(X):
        fit_X, valid_X = ENCODINGS[method](X.iloc[train], X.iloc[valid], y[train])
        extra = CAPPED[library] if method == "capped" else {}
        pred = LIBRARIES[library](fit_X, y[train], valid_X, y[valid], extra)
        scores.append(float(np.sqrt(np.mean((pred - y[valid]) ** 2))))
    return float(np.mean(scores)), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    print(f"{'dataset':<14} {'levels':>22} {'library':<9} {'method':<10} {'CV RMSE':>10} "
          f"{'vs native':>9} {'seconds':>8}")
    for name in args.datasets.split(","):
        X, y = DATASETS[name](args.data_dir)
        X = as_categories(X)
        levels = ", ".join(f"{c} {X[c].nunique()}" for c in high(X))
        for library in LIBRARIES:
            base = None
            for method in ENCODINGS:
                score, seconds = cv_rmse(X, y, library, method, args.folds)
                base = score if base is None else base
                print(f"{name:<14} {levels:>22} {library:<9} {method:<10} {score:>10.4f} "
                      f"{score / base - 1:>+9.2%} {seconds:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
