"""How honest are boosttune's reported scores? Coverage of the held-out score by the 95%
prediction interval, and whether the delivered-predictor estimate is closer to it than the
plain CV score, from rows of ``bench_peers.py`` (methods ``boosttune*``: each row a seeded
held-out split of the peer harness, its score the held-out one).

    python tests/benchmarks/score_intervals.py out/intervals_b60.jsonl [more.jsonl ...]
    python tests/benchmarks/score_intervals.py new.jsonl old.jsonl:adult,bank_marketing

A file named with ``:dataset,...`` gives only those datasets' rows (stored rows of the
datasets a change leaves alone, beside new rows of the others).

Prints the table (dataset × seed × budget: CV score, delivered estimate, interval, held-out
score, inside?), then per budget: coverage, mean width relative to the held-out score, how
often the delivered estimate is closer, and the shift check's AUC on these random splits.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

SE_SCALES = (0.0, 1.0, 1.5, 2.0)


def rows(paths: list[str]) -> list[dict[str, Any]]:
    """The rows of every boosttune method that report a delivered estimate."""
    found = []
    for named in paths:
        path, _, only = named.partition(":")
        datasets = set(only.split(",")) if only else None
        for line in Path(path).read_text().splitlines():
            row = json.loads(line)
            delivered = (row.get("info") or {}).get("delivered")
            if (row["method"].startswith("boosttune") and not row.get("error") and delivered
                    and (datasets is None or row["dataset"] in datasets)):
                found.append(row)
    return found


def line(row: dict[str, Any]) -> dict[str, Any]:
    info, held = row["info"], row["score"]
    found = info["delivered"]
    low, high = found["interval_95"]
    return {"method": row["method"], "dataset": row["dataset"], "seed": row["seed"],
            "budget": row["budget"],
            "cv": info["cv_score"], "delivered": found["delivered"], "low": low, "high": high,
            "held_out": held, "inside": low <= held <= high,
            "width": (high - low) / abs(held),
            "closer": abs(found["delivered"] - held) < abs(info["cv_score"] - held),
            "checked": found["folds_checked"],
            "gain_from": ("spread" if "spread of the" in found.get("basis", "")
                          else "replicas" if found["folds_checked"] else "none"),
            # the estimate without its learning-curve step (as measured before the step)
            "closer_stepless": abs(found["delivered"] - found.get("learning_step", 0.0) - held)
            < abs(info["cv_score"] - held),
            "step": found.get("learning_step", 0.0),
            # and without its selection correction (as measured before it)
            "closer_unselected": abs(found["delivered"] - found.get("selection", 0.0) - held)
            < abs(info["cv_score"] - held),
            "selection": found.get("selection", 0.0),
            "error": abs(found["delivered"] - held) / abs(held),
            "cv_error": abs(info["cv_score"] - held) / abs(held),
            # the two things the interval adds, one at a time: the CV interval of one fold
            # model as reported before, and the same prediction interval centred on CV
            "cv_inside": info["cv_interval"][0] <= held <= info["cv_interval"][1],
            "centred_cv_inside": low - found["gain"] <= held <= high - found["gain"],
            # with the estimate's SE scaled (on the raw scale, the interval's test noise
            # kept): is a wider SE of the CV estimate (Bates et al. 2023) what misses need?
            "inside_se_scaled": {a: abs(held - found["delivered"]) <= 1.96 * float(np.hypot(
                a * found["estimate_std_error"], found["test_std_error"])) for a in SE_SCALES},
            "shift_auc": (info.get("shift") or {}).get("auc"),
            "shifted": (info.get("shift") or {}).get("shifted")}


def main(paths: list[str]) -> None:
    table = [line(r) for r in rows(paths)]
    print(f"{'method':18s} {'dataset':20s} {'seed':>4s} {'budget':>6s} {'cv':>12s} "
          f"{'delivered':>12s} {'interval_95':>27s} {'held_out':>12s} "
          "inside closer checked shift_auc")
    for r in sorted(table, key=lambda r: (r["method"], r["budget"], r["dataset"], r["seed"])):
        print(f"{r['method']:18s} {r['dataset']:20s} {r['seed']:4d} {r['budget']:6g} "
              f"{r['cv']:12.5f} {r['delivered']:12.5f} [{r['low']:12.5f}, {r['high']:12.5f}] "
              f"{r['held_out']:12.5f} {'yes' if r['inside'] else 'NO':>6s} "
              f"{'yes' if r['closer'] else 'no':>6s} {r['checked']:7d} "
              f"{r['shift_auc'] if r['shift_auc'] is None else round(r['shift_auc'], 3)}")
    by_budget: dict[tuple[str, float], list[dict[str, Any]]] = defaultdict(list)
    for r in table:
        by_budget[r["method"], r["budget"]].append(r)
    for (method, budget), part in sorted(by_budget.items()):
        aucs = [r["shift_auc"] for r in part if r["shift_auc"] is not None]
        print(f"\n{method}, budget {budget:g} s: {len(part)} runs; coverage "
              f"{np.mean([r['inside'] for r in part]):.0%} "
              f"({sum(r['inside'] for r in part)}/{len(part)}); mean width "
              f"{np.mean([r['width'] for r in part]):.2%} of the held-out score (median "
              f"{np.median([r['width'] for r in part]):.2%}); delivered estimate closer than "
              f"CV in {sum(r['closer'] for r in part)}/{len(part)}; replicas measured in "
              f"{sum(r['checked'] > 0 for r in part)}/{len(part)}; shift check on these "
              f"random splits: AUC max {max(aucs, default=float('nan')):.3f}, flagged "
              f"{sum(bool(r['shifted']) for r in part)}/{len(part)}")
        print(f"  the CV interval of one fold model (as before) covers "
              f"{sum(r['cv_inside'] for r in part)}/{len(part)}; the prediction interval "
              f"centred on the CV score instead of the delivered estimate "
              f"{sum(r['centred_cv_inside'] for r in part)}/{len(part)}")
        print(f"  without its learning-curve step the delivered estimate is closer in "
              f"{sum(r['closer_stepless'] for r in part)}/{len(part)}; the step's median "
              f"{np.median([r['step'] / abs(r['held_out']) for r in part]):+.2%} of the "
              f"held-out score")
        print(f"  without its selection correction it is closer in "
              f"{sum(r['closer_unselected'] for r in part)}/{len(part)}; the correction's "
              f"median {np.median([r['selection'] / abs(r['held_out']) for r in part]):+.3%} "
              f"of the held-out score")
        print(f"  median distance to the held-out score: delivered estimate "
              f"{np.median([r['error'] for r in part]):.3%}, CV score "
              f"{np.median([r['cv_error'] for r in part]):.3%}")
        for source in ("spread", "replicas", "none"):
            some = [r for r in part if r["gain_from"] == source]
            if some:
                print(f"  gain from {source}: {len(some)} runs, delivered estimate closer in "
                      f"{sum(r['closer'] for r in some)}, median distance "
                      f"{np.median([r['error'] for r in some]):.3%} against CV's "
                      f"{np.median([r['cv_error'] for r in some]):.3%}, covered "
                      f"{sum(r['inside'] for r in some)}")
        print("  with the estimate's SE scaled (raw scale): covered " + ", ".join(
            f"x{a:g} {sum(r['inside_se_scaled'][a] for r in part)}/{len(part)}"
            for a in SE_SCALES))
        misses = [r for r in part if not r["inside"]]
        for r in misses:
            side = "above" if r["held_out"] > r["high"] else "below"
            print(f"  miss: {r['dataset']} seed {r['seed']}: held-out {side} the interval")


if __name__ == "__main__":
    main(sys.argv[1:])
