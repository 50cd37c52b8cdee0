"""Native-time share of a seeded untimed tune on 20,000 adult rows, for the code in a given
worktree: python tests/benchmarks/native_share.py WORKTREE [ADULT_CSV]. Run it alternately
from two worktrees (before and after a change) on a quiet machine and compare the shares."""
import json
import sys
import warnings

sys.path.insert(0, sys.argv[1])
import pandas as pd

import boosttune as bt

frame = pd.read_csv(sys.argv[2] if len(sys.argv) > 2 else "../shared/datasets/adult.csv.gz").drop(columns=["split"]).sample(n=20000, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    r = bt.tune(frame, "class", metric="auc", cv=5, n_trials=12, seeds=1, seed=0, progress=False, n_jobs=2)
t = r.manifest["timing"] if isinstance(r.manifest, dict) else r.manifest.timing
print(json.dumps({"code": sys.argv[1], "wall": t["wall_seconds"], "native": t["native_seconds"], "share": t["native_seconds"] / t["wall_seconds"], "best": r.score.mean}))
