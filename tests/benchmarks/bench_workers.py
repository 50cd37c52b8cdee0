"""Trials per minute with 1 worker against 2 workers on one study; kept apart from the test run.

    python tests/benchmarks/bench_workers.py [--trials 16] [--repeats 2] [--data-dir DIR]

Runs `boosttune run competitions/adult.toml` side by side in one session, alternating order:
  1 worker x 2 threads   (the default on a 2-core machine)
  2 workers x 1 thread   (--workers 2: two processes on one SQLite study)
Trials per minute = finished trials / (last trial end - first trial start), read back from the
study, so finalize is not counted. Also prints the mean boosting rounds per trial (the samplers'
trials differ between the set-ups) and the best CV score.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
from optuna.trial import TrialState

ROOT = Path(__file__).resolve().parents[2]
SETUPS = {"1 worker x 2 threads": ("1", "2"), "2 workers x 1 thread": ("2", "1")}


def run_once(workers: str, threads: str, trials: int, data_dir: Path) -> dict:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "boosttune", "run",
                        str(ROOT / "competitions" / "adult.toml"), "--models", "lightgbm",
                        "--trials", str(trials), "--timeout", "3000", "--seeds", "1",
                        "--workers", workers,
                        "--threads", threads, "--quiet", "--out", out, "--data-dir",
                        str(data_dir)], check=True, capture_output=True)
        db = next(Path(out).glob("*/study.db"))
        study = optuna.load_study(study_name="adult-lightgbm", storage=f"sqlite:///{db}")
        done = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        start = min(t.datetime_start for t in done)
        end = max(t.datetime_complete for t in done)
        minutes = (end - start).total_seconds() / 60
        rounds = [t.user_attrs["n_rounds"] for t in done if "n_rounds" in t.user_attrs]
        return {"trials_per_min": len(done) / minutes, "mean_rounds": statistics.mean(rounds),
                "best": study.best_value, "pruned": sum(t.state == TrialState.PRUNED
                                                        for t in done)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {name: [] for name in SETUPS}
    for repeat in range(args.repeats):
        order = list(SETUPS) if repeat % 2 == 0 else list(reversed(SETUPS))
        for name in order:
            row = run_once(*SETUPS[name], args.trials, args.data_dir)
            results[name].append(row)
            print(json.dumps({"setup": name, "repeat": repeat, **row}), flush=True)
    medians = {name: statistics.median(r["trials_per_min"] for r in rows)
               for name, rows in results.items()}
    for name, value in medians.items():
        print(f"{name}: median {value:.2f} trials/min")
    one, two = medians.values()
    print(f"2 workers / 1 worker: {two / one:.2f}x")


if __name__ == "__main__":
    main()
