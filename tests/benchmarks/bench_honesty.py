"""Do boosttune's reported scores tell the truth about held-out data?

    python tests/benchmarks/bench_honesty.py [--timeout 120] [--seeds 0,1,2] [--data-dir DIR]

adult and shuttle use their original train/test split (column `split`); diamonds and
california_housing a seeded 80/20 split. Each run: tune(train, seeds=3, nested=3,
compare_default=True, compare_policies=True, timeout=...), then the held-out score of its
test predictions. Prints per run: inner best CV, nested outer mean, the reported 95% interval,
the held-out score; then how often the held-out score falls inside the interval and whether
the nested estimate is closer to it than the inner best.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import boosttune as bt  # noqa: E402
from boosttune.core.metrics import get_metric  # noqa: E402

DATASETS = {  # name: (target, task, metric, has a split column, folds)
    "adult": ("class", "binary", "auc", True, 5),
    # shuttle's class 6 has 10 rows: inside a nested outer fold, 5 stratified folds are too many
    "shuttle": ("class", "multiclass", "multi_logloss", True, 3),
    "diamonds": ("price", "regression", "rmse", False, 5),
    "california_housing": ("median_house_value", "regression", "rmse", False, 5),
}


def split(data_dir: Path, name: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(data_dir / f"{name}.csv.gz")
    if DATASETS[name][3]:
        train, test = frame[frame.split == "train"], frame[frame.split == "test"]
        return train.drop(columns="split"), test.drop(columns="split")
    train, test = train_test_split(frame, test_size=0.2, random_state=seed)
    return train, test


def held_out(result: bt.TuneResult, test: pd.DataFrame, target: str, kind: str,
             metric: str) -> float:
    assert result.test_pred is not None
    pred = result.test_pred.filter(like="pred").to_numpy()
    pred = pred[:, 0] if pred.shape[1] == 1 else pred
    y = test[target].to_numpy()
    if kind != "regression":
        y = result.class_codes(y)
    return get_metric(metric, kind)(y, pred)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    rows = []
    for name in args.datasets.split(","):
        target, kind, metric, _, n_folds = DATASETS[name]
        for seed in map(int, args.seeds.split(",")):
            train, test = split(args.data_dir, name, seed)
            result = bt.tune(train, target, test=test.drop(columns=target), task=kind,
                             metric=metric, cv=n_folds, seeds=3, seed=seed, nested=3,
                             timeout=args.timeout,
                             compare_default=True, compare_policies=True, progress=False)
            low, high = result.score.interval
            nested = result.nested
            assert nested is not None
            evaluation = result.evaluation
            rows.append({
                "dataset": name, "seed": seed, "metric": metric,
                "inner_best": float(result.trials["value"].dropna().agg(
                    "max" if result.score.direction == "maximize" else "min")),
                "cv_mean": result.score.mean, "low": low, "high": high,
                "nested": nested.outer_mean, "test": held_out(result, test, target, kind, metric),
                "tuned_minus_default": evaluation["tuned_minus_default"]["difference"],
                "gain_se": evaluation["tuned_minus_default"]["std_error"],
                "fold_minus_inner": evaluation["fold_minus_inner"]["difference"],
                "trials": len(result.trials),
                "wall": result.manifest.timing["wall_seconds"],
            })
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table["inside"] = (table["low"] <= table["test"]) & (table["test"] <= table["high"])
    table["nested_closer"] = ((table["nested"] - table["test"]).abs()
                              < (table["inner_best"] - table["test"]).abs())
    print(f"\ntimeout {args.timeout:g} s per run (nested CV included), 3 model seeds")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    print(f"held-out inside the reported 95% interval: {table.inside.sum()}/{len(table)} "
          f"({table.inside.mean():.0%})")
    print(f"nested estimate closer to held-out than inner best: {table.nested_closer.sum()}/"
          f"{len(table)} ({table.nested_closer.mean():.0%})")


if __name__ == "__main__":
    main()
