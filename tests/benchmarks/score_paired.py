"""Scores the fold models alone against the blend with the refit, on the same search: reads
the folds' test predictions bench_peers.py saved in out/paired/ and the blend's score from
its rows.

    ~/.venvs/peers/bin/python tests/benchmarks/score_paired.py tests/benchmarks/out/p.jsonl
"""

from __future__ import annotations

import json
import sys

import numpy as np
from bench_peers import PAIRED, peers
from load_data import load  # the harness's loader (bench_peers puts it on the path)


def main(rows_file: str) -> None:
    print(f"{'dataset':20s} seed  {'folds':>10s}  {'blend':>10s}  error reduction")
    with open(rows_file, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    for row in rows:
        if row["method"] != "boosttune" or row.get("error"):
            continue
        X, y, meta = load(row["dataset"])
        X_train, _, X_test, y_test, _ = peers.split_data(X, y, meta, row["seed"])
        key = f"{meta['task']}_{len(X_train)}_{len(X_test)}_s{row['seed']}_b{row['budget']:g}"
        path = PAIRED / f"{key}_folds.npy"
        if not path.exists():
            continue
        folds, _ = peers.score(meta["task"], y_test, np.load(path), meta.get("n_classes"))
        # the harness's improvement: reduction of 1 - AUC, log loss or RMSE
        error = (lambda s: 1 - s) if meta["task"] == "binary" else (lambda s: s)
        change = 1 - error(row["score"]) / error(folds)
        print(f"{row['dataset']:20s} {row['seed']:4d}  {folds:10.5f}  {row['score']:10.5f}"
              f"  {100 * change:+.2f}%")


if __name__ == "__main__":
    main(sys.argv[1])
