"""Stress: repeated multi-backend runs in one process each (LightGBM, then XGBoost, trials two
at a time on a timed run), counting the processes that die (a negative exit code is the
signal: -11 a segmentation fault). Both libraries' OpenMP runtimes live in each process:
LightGBM's links the system libgomp, XGBoost's wheel bundles its own copy.

    python tests/benchmarks/stress_multi_backend.py --runs 20 --timeout 20
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONE_RUN = """
import sys, pandas as pd, boosttune as bt
frame = pd.read_csv(sys.argv[1]).sample(n=6000, random_state=int(sys.argv[3]))
result = bt.tune(frame, "Revenue", model=["lightgbm", "xgboost"], timeout=float(sys.argv[2]),
                 seed=int(sys.argv[3]), progress=False, fit=bt.Fit(n_jobs=2))
print(result.manifest.search["n_complete"], result.score.mean)
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared" / "datasets" / "online_shoppers.csv.gz")
    args = parser.parse_args()
    codes: collections.Counter[int] = collections.Counter()
    started = time.perf_counter()
    for seed in range(args.runs):
        done = subprocess.run([sys.executable, "-c", ONE_RUN, str(args.data), str(args.timeout),
                               str(seed)], capture_output=True, text=True, cwd=ROOT)
        codes[done.returncode] += 1
        tail = (done.stdout or done.stderr).strip().splitlines()[-1:] or [""]
        print(f"run {seed:3d}: exit {done.returncode:4d}  {tail[0][:100]}", flush=True)
    print(f"{args.runs} runs in {time.perf_counter() - started:.0f} s; exit codes "
          f"{dict(codes)}; crashed (signal): {sum(n for c, n in codes.items() if c < 0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
