"""Engine overhead and trial throughput on adult (48,842 rows), kept apart from the test run.

    python tests/benchmarks/bench_engine.py [--trials 30] [--repeats 1] [--data-dir DIR]

Side by side in one process, on the same 5 folds, the same LightGBM `default` preset space,
the same TPE seed, early stopping and threads:
  plain    a plain Optuna loop that builds lgb.Dataset for every fold of every trial and
           does not prune (the notebook most people write);
  boosttune  bt.tune(): per-fold datasets built once, median pruning after the second fold.
Prints trials per minute of each, their ratio, the best CV AUC of each, and boosttune's share
of wall time spent inside native train/predict calls. Order alternates across repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import boosttune as bt  # noqa: E402
from boosttune.core.task import make_task  # noqa: E402

ROUNDS, PATIENCE, FOLDS, SEED = 10_000, 100, 5, 0


def load(data_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(data_dir / "adult.csv.gz").drop(columns=["split"])
    return frame


def plain_optuna(frame: pd.DataFrame, folds: bt.Folds, n_trials: int, threads: int) -> dict:
    """The baseline: lgb.Dataset rebuilt per fold per trial, no pruning."""
    X = frame.drop(columns="class")
    for col in X.columns:
        if X[col].dtype != "int64":
            X[col] = X[col].astype("category")
    y = (frame["class"] == ">50K").astype(int).to_numpy()
    space = bt.preset("lightgbm", "default")

    def objective(trial: optuna.Trial) -> float:
        params = {"objective": "binary", "metric": "auc", "verbosity": -1, "seed": SEED,
                  "num_threads": threads, **space.fixed, **space.suggest(trial)}
        scores = []
        for train, valid in folds.splits:
            dtrain = lgb.Dataset(X.iloc[train], y[train])
            dvalid = lgb.Dataset(X.iloc[valid], y[valid], reference=dtrain)
            booster = lgb.train(params, dtrain, ROUNDS, valid_sets=[dvalid],
                                callbacks=[lgb.early_stopping(PATIENCE, verbose=False)])
            pred = booster.predict(X.iloc[valid], num_iteration=booster.best_iteration)
            scores.append(roc_auc_score(y[valid], pred))
        return float(np.mean(scores))

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=SEED))
    started = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    wall = time.perf_counter() - started
    return {"wall": wall, "trials_per_min": 60 * n_trials / wall, "best": study.best_value,
            "pruned": 0}


def boosttune_run(frame: pd.DataFrame, n_trials: int, threads: int, pruner: str) -> dict:
    started = time.perf_counter()
    result = bt.tune(frame, "class", metric="auc", cv=FOLDS, n_trials=n_trials, seeds=1,
                     seed=SEED, progress=False, search=bt.Search(pruner=pruner),
                     fit=bt.Fit(early_stopping_rounds=PATIENCE, max_rounds=ROUNDS,
                                n_jobs=threads))
    wall = time.perf_counter() - started
    timing = result.manifest.timing
    return {"wall": wall, "trials_per_min": 60 * n_trials / wall,
            "best": float(result.trials["value"].max()),
            "pruned": result.manifest.search["n_pruned"],
            "native_share": timing["native_seconds"] / timing["wall_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--pruners", default="paired",
                        help="comma-separated boosttune pruners to measure, e.g. paired,median")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    frame = load(args.data_dir)
    folds = bt.make_folds(make_task(frame, "class"), FOLDS, seed=SEED)
    rows: list[dict] = []
    methods = ["plain"] + [f"boosttune/{p}" for p in args.pruners.split(",")]
    for repeat in range(args.repeats):
        order = methods if repeat % 2 == 0 else methods[::-1]
        for method in order:
            run = (plain_optuna(frame, folds, args.trials, args.threads) if method == "plain"
                   else boosttune_run(frame, args.trials, args.threads, method.split("/")[1]))
            rows.append({"repeat": repeat, "method": method, **run})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(f"\nadult {len(frame)} rows, {FOLDS} folds, {args.trials} trials, "
          f"{args.threads} threads, LightGBM {lgb.__version__}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for method in methods[1:]:
        ratios = [
            table[(table.repeat == r) & (table.method == method)].trials_per_min.item()
            / table[(table.repeat == r) & (table.method == "plain")].trials_per_min.item()
            for r in range(args.repeats)
        ]
        shares = table[table.method == method].native_share
        print(f"{method}: trials/min ratio to plain, median {statistics.median(ratios):.2f} "
              f"(per repeat {[round(r, 2) for r in ratios]}); share of wall time in native "
              f"train/predict, median {shares.median():.3f}")


if __name__ == "__main__":
    main()
