"""Scores the levers of a multi-model run on the same searches (single best of each backend,
ensemble of one backend's kept trials, ensemble of both) from the test predictions
bench_peers.py saved in out/paired/, with the honest and flattering CV score of each ensemble.

    python tests/benchmarks/score_levers.py tests/benchmarks/out/p.jsonl
"""

from __future__ import annotations

import json
import sys

import numpy as np
from bench_peers import levers_path, peers
from load_data import load  # the harness's loader (bench_peers puts it on the path)
from summarize import rel_improvement

LEVERS = ("single_lightgbm", "single_xgboost", "single_best", "single_best_low_rate",
          "ensemble_lightgbm",
          "ensemble_xgboost", "ensemble_all_folds", "ensemble_all")


def main(rows_file: str) -> None:
    with open(rows_file, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    defaults = {(r["dataset"], r["seed"]): r["score"] for r in rows
                if r["method"] == "lgbm_default" and not r.get("error")}
    print("test score of each lever (gain over LightGBM defaults)")
    print(f"{'dataset':20s} seed " + " ".join(f"{name:>22s}" for name in LEVERS))
    for row in rows:
        info = row.get("info") or {}
        if "ensemble_cv" not in info:
            continue
        X, y, meta = load(row["dataset"])
        X_train, _, X_test, y_test, _ = peers.split_data(X, y, meta, row["seed"])
        path = levers_path(row["method"], meta["task"], len(X_train), len(X_test), row["seed"],
                           row["budget"])
        saved = np.load(path)
        base = defaults.get((row["dataset"], row["seed"]))
        cells = []
        for name in LEVERS:
            if name not in saved:  # a lever added after this run
                cells.append("-")
                continue
            score, _ = peers.score(meta["task"], y_test, saved[name], meta.get("n_classes"))
            change = None if base is None else rel_improvement(row["metric"], base, score)
            gain = "" if change is None else f" ({100 * change:+.2f}%)"
            cells.append(f"{score:.5f}{gain}")
        print(f"{row['dataset']:20s} {row['seed']:4d} " + " ".join(f"{c:>22s}" for c in cells))
    print("\nensemble CV: honest (weights chosen without the fold scored) vs flattering")
    for row in rows:
        info = row.get("info") or {}
        for name, found in info.get("ensemble_cv", {}).items():
            print(f"{row['dataset']:20s} {row['seed']:4d} {name:18s} honest "
                  f"{found['honest_score']:.5f}  flattering {found['oof_score']:.5f}  "
                  f"members {found['members']}/{found['candidates']}")
        if "kept_bytes" in info:
            print(f"{row['dataset']:20s} {row['seed']:4d} kept per trial: {info['kept_bytes']}")


if __name__ == "__main__":
    main(sys.argv[1])
