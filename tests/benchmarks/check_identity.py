"""Byte identity of a seeded run's exports, to compare two versions of the code.

    python tests/benchmarks/check_identity.py OUT_DIR [--data-dir DIR]

Runs seeded, untimed tunes (serial trials, so the trial order does not depend on the clock)
on adult and diamonds, saves each run directory under OUT_DIR and prints the SHA-256 of
oof.parquet, test_pred.parquet and params.json. Run it from two worktrees (before and after a
change) and compare the printed lines: equal digests mean equal bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(sys.argv[0]).resolve().parents[2]  # the worktree the script was started from
sys.path.insert(0, str(ROOT))

import boosttune as bt  # noqa: E402

FILES = ("oof.parquet", "test_pred.parquet", "params.json")
RUNS = {  # dataset: (target, rows, models)
    "adult": ("class", 6000, ("lightgbm", "xgboost")),
    "diamonds": ("price", 6000, ("lightgbm", "xgboost")),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get(
        "BOOSTTUNE_DATA_DIR", ROOT.parent / "shared" / "datasets")))
    args = parser.parse_args()
    print(f"code: {Path(bt.__file__).parent}")
    for name, (target, rows, models) in RUNS.items():
        frame = pd.read_csv(args.data_dir / f"{name}.csv.gz").drop(columns=["split"],
                                                                    errors="ignore")
        frame = frame.sample(n=rows, random_state=0).reset_index(drop=True)
        train, test = frame.iloc[: rows * 3 // 4], frame.iloc[rows * 3 // 4:]
        for model in models:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                result = bt.tune(train, target, test=test.drop(columns=[target]), model=model,
                                 n_trials=8, seeds=2, seed=0, progress=False)
            path = result.save(args.out / f"{name}-{model}")
            for file in FILES:
                digest = hashlib.sha256((path / file).read_bytes()).hexdigest()
                print(f"{name:9s} {model:9s} {file:18s} {digest}")


if __name__ == "__main__":
    main()
