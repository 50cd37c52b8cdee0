"""Do learning-rate schedules beat a constant rate at equal budget? Does a warm start reach the
cold start's final score sooner? Kept apart from the test run.

    python tests/benchmarks/bench_insight.py [--budget 60] [--data-dir DIR]

On adult, online_shoppers and diamonds (LightGBM, 5 folds, 2 threads, same budget each):
  constant   the default preset, constant learning rate (the cold start)
  schedule   the same with lr_schedule='search' (shape and decay rounds searched)
  warm       the default preset warm-started from the constant run of the *next* dataset in
             the list (transfer across competitions) and from this dataset's own constant run
             with another fold seed (a second session on the same competition)
Scores are CV means and the held-out score on the dataset's own test split. Time to score:
seconds from the first trial's start until the best-so-far reaches the cold start's final
best (None: never within the budget).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from optuna.trial import TrialState

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import boosttune as bt  # noqa: E402
from boosttune.competition import load_competition, load_frames  # noqa: E402
from boosttune.core.metrics import get_metric  # noqa: E402

DATASETS = ("adult", "online_shoppers", "diamonds")


def load(name: str, data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    comp = load_competition(ROOT / "competitions" / f"{name}.toml")
    train, test = load_frames(comp, data_dir)
    assert test is not None
    return train, test, comp.target


def holdout(result: bt.TuneResult, test: pd.DataFrame, target: str) -> float:
    pred = result.predict(test.drop(columns=[target]))
    metric = get_metric(result.score.metric, result.manifest.task)
    y = result.class_codes(test[target]) if result.classes else test[target].to_numpy(float)
    return float(metric(y, pred))


def time_to(result: bt.TuneResult, target_score: float) -> float | None:
    trials = [t for t in result.study.trials if t.state == TrialState.COMPLETE]
    start = min(t.datetime_start for t in result.study.trials)
    better = (lambda v: v >= target_score - 1e-12) if result.score.direction == "maximize" \
        else (lambda v: v <= target_score + 1e-12)
    reached = [(t.datetime_complete - start).total_seconds() for t in trials if better(t.value)]
    return min(reached) if reached else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    common = {"timeout": args.budget, "cv": 5, "n_jobs": 2, "progress": False}
    data = {name: load(name, args.data_dir) for name in DATASETS}
    cold = {}
    for name, (train, test, target) in data.items():
        for variant, extra in (("constant", {}), ("schedule", {"lr_schedule": "search"})):
            result = bt.tune(train, target, **common, **extra)
            if variant == "constant":
                cold[name] = result
            best = result.study.best_value
            print(json.dumps({"dataset": name, "variant": variant, "cv": result.score.mean,
                              "search_best": best, "holdout": holdout(result, test, target),
                              "trials": len(result.study.trials),
                              "time_to_own_best": time_to(result, best),
                              "best_schedule": result.best_params.get("lr_schedule",
                                                                      "constant")}),
                  flush=True)
    for i, (name, (train, test, target)) in enumerate(data.items()):
        other = DATASETS[(i + 1) % len(DATASETS)]
        goal = cold[name].study.best_value
        for variant, source, seed in (("warm_transfer", cold[other], 0),
                                      ("warm_same", cold[name], 1)):
            result = bt.tune(train, target, **common, warm_start=source, seed=seed)
            print(json.dumps({"dataset": name, "variant": variant, "cv": result.score.mean,
                              "search_best": result.study.best_value,
                              "holdout": holdout(result, test, target),
                              "cold_time_to_its_best": time_to(cold[name], goal),
                              "warm_time_to_cold_best": time_to(result, goal)}), flush=True)


if __name__ == "__main__":
    main()
