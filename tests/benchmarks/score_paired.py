"""Scores the fold models alone against the blend with the refit, on the same search: reads
the folds' test predictions bench_peers.py saved in out/paired/ of the checkout it ran from
(one file per boosttune variant, dataset shape, seed and budget) and the blend's score from
its rows; the change is the harness's own improvement measure (summarize.rel_improvement).

    ~/.venvs/peers/bin/python tests/benchmarks/score_paired.py tests/benchmarks/out/p.jsonl
"""

from __future__ import annotations

import json
import sys

import numpy as np
from bench_peers import VARIANTS, paired_path, peers
from load_data import load  # the harness's loader and scorer (bench_peers puts them on the path)
from summarize import rel_improvement


def main(rows_file: str) -> None:
    print(f"{'dataset':20s} {'method':22s} seed  {'folds':>10s}  {'blend':>10s}  error reduction")
    with open(rows_file, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    for row in rows:
        if row["method"] not in VARIANTS or row.get("error"):
            continue
        X, y, meta = load(row["dataset"])
        X_train, _, X_test, y_test, _ = peers.split_data(X, y, meta, row["seed"])
        path = paired_path(row["method"], meta["task"], len(X_train), len(X_test), row["seed"],
                           row["budget"])
        if not path.exists():
            continue
        folds, _ = peers.score(meta["task"], y_test, np.load(path), meta.get("n_classes"))
        change = rel_improvement(row["metric"], folds, row["score"])
        print(f"{row['dataset']:20s} {row['method']:22s} {row['seed']:4d}  {folds:10.5f}"
              f"  {row['score']:10.5f}  {100 * change:+.2f}%")


if __name__ == "__main__":
    main(sys.argv[1])
