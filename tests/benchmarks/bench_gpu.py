"""GPU against CPU per trial, both backends, on >= 1M rows; kept apart from the test run.

    python tests/benchmarks/bench_gpu.py [--rows 2000000] [--trials 3] [--data-dir DIR]

Datasets: synthetic 2M x 50 (make_classification, binary) and kddcup99 (494k rows, 5 classes;
its raw `label` column is dropped). For each dataset and backend, the same trials (random
sampler, same seed, same 3 folds) run once with device='cpu' on all cores and once with
device='gpu' strict, in one process. Prints seconds per trial (median over trials), the GPU
speed-up, the device that really trained and the best CV score of each (they must agree within
noise). Needs an NVIDIA GPU; exits 1 with the reason where none works.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import pandas as pd
from sklearn.datasets import make_classification

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import boosttune as bt  # noqa: E402
from boosttune.backends import backend_spec  # noqa: E402
from boosttune.backends.device import resolve_device  # noqa: E402
from boosttune.core.errors import BoostTuneError  # noqa: E402


def synthetic(rows: int) -> tuple[pd.DataFrame, str]:
    X, y = make_classification(n_samples=rows, n_features=50, n_informative=20,
                               random_state=0)
    frame = pd.DataFrame(X.astype("float32"), columns=[f"f{i}" for i in range(50)])
    frame["target"] = y
    return frame, "target"


def kddcup(data_dir: Path) -> tuple[pd.DataFrame, str]:
    return pd.read_csv(data_dir / "kddcup99.csv.gz").drop(columns=["label"]), "attack_category"


def trial_seconds(frame: pd.DataFrame, target: str, model: str, device: str,
                  trials: int) -> dict:
    result = bt.tune(frame, target, model=model, device=device, strict_device=device == "gpu",
                     preset="fast", sampler="random", pruner="none", n_trials=trials, cv=3,
                     early_stopping_rounds=50, max_rounds=2000, n_jobs=os.cpu_count(),
                     progress=False)
    durations = result.trials["duration"].dropna().tolist()
    return {"median_trial_s": statistics.median(durations), "best": result.score.mean,
            "device": result.manifest.device_detail["name"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    for model in ("xgboost", "lightgbm"):
        try:
            resolve_device(model, backend_spec(model).probe, "gpu", strict=True)
        except BoostTuneError as exc:
            sys.exit(f"no GPU run possible: {exc}")
    datasets = {"synthetic_2Mx50": synthetic(args.rows)}
    if (args.data_dir / "kddcup99.csv.gz").exists():
        datasets["kddcup99"] = kddcup(args.data_dir)
    for name, (frame, target) in datasets.items():
        for model in ("xgboost", "lightgbm"):
            cpu = trial_seconds(frame, target, model, "cpu", args.trials)
            gpu = trial_seconds(frame, target, model, "gpu", args.trials)
            print(json.dumps({"dataset": name, "rows": len(frame), "model": model,
                              "cpu": cpu, "gpu": gpu,
                              "speedup": cpu["median_trial_s"] / gpu["median_trial_s"]}),
                  flush=True)


if __name__ == "__main__":
    main()
