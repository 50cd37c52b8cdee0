"""Native-time share of a seeded, untimed tune on 20,000 adult rows, for the code of a worktree.

    python tests/benchmarks/native_share.py WORKTREE [ADULT_CSV]

Run it alternately from two worktrees (before and after a change) on a quiet machine and
compare the shares (native train/predict seconds over wall seconds) and the scores.
"""

from __future__ import annotations

import json
import sys
import warnings

sys.path.insert(0, sys.argv[1])

import pandas as pd

import boosttune as bt

source = sys.argv[2] if len(sys.argv) > 2 else "../shared/datasets/adult.csv.gz"
frame = pd.read_csv(source).drop(columns=["split"]).sample(n=20000, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the flat names are deprecated on the new code
    result = bt.tune(frame, "class", metric="auc", cv=5, n_trials=12, seeds=1, seed=0,
                     progress=False, n_jobs=2)
manifest = result.manifest
timing = manifest["timing"] if isinstance(manifest, dict) else manifest.timing
print(json.dumps({"code": sys.argv[1], "wall": timing["wall_seconds"],
                  "native": timing["native_seconds"],
                  "share": timing["native_seconds"] / timing["wall_seconds"],
                  "best": result.score.mean}))
