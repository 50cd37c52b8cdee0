"""``python -m boosttune``: tune LightGBM on sklearn's bundled breast_cancer and save the run."""

from __future__ import annotations

import argparse
import sys

from sklearn.datasets import load_breast_cancer

from boosttune.api import tune


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m boosttune", description=__doc__)
    parser.add_argument("--model", default="lightgbm", choices=["lightgbm", "xgboost"])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="runs/breast_cancer")
    args = parser.parse_args(argv)
    frame = load_breast_cancer(as_frame=True).frame
    result = tune(frame, target="target", model=args.model, metric="auc",
                  n_trials=args.trials, seeds=args.seeds)
    path = result.save(f"{args.out}-{args.model}")
    print(result)
    print(f"saved to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
