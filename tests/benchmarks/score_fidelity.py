"""Configurations evaluated at each fidelity, wall time against the budget, and the test score
against the other methods of the same (dataset, seed, budget), from bench_peers.py rows.

    python tests/benchmarks/score_fidelity.py tests/benchmarks/out/large_b60.jsonl [...]

A configuration counts at a fidelity when its trial there scored a fold (complete, or pruned
after a fold; not one the budget cut before its first fold ended: rows from before the rungs
recorded "unscored" count those too);
boosttune's full-data trials are its manifest's complete + pruned ones.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

WALL_SLACK = 0.05  # the bound: budget + 5%, or + 3 s under a minute
SHORT_SLACK_S = 3.0


def rows(paths: list[str]) -> list[dict]:
    found = []
    for path in paths:
        found += [json.loads(line) for line in Path(path).read_text().splitlines() if line]
    return [r for r in found if r.get("score") is not None]


def bound(budget: float) -> float:
    return budget + (SHORT_SLACK_S if budget < 60 else WALL_SLACK * budget)


def fidelity_counts(info: dict, n_complete: int | None) -> tuple[str, int]:
    """'share: n, ...' per rung and all rows, and the total configurations."""
    climb = info.get("fidelity") or {}
    parts, total = [], 0
    if climb.get("used"):
        for rung in climb["rungs"]:
            n = rung["complete"] + rung["pruned"] - rung.get("unscored", 0)
            parts.append(f"1/{round(1 / rung['share'])}: {n}")
            total += n
    if climb.get("used") and (info.get("chosen_fidelity") or 1.0) < 1.0:
        # delivered from a rung: the manifest's counts are that rung's; the full-data study
        # ran only where the plan gave it time
        planned = climb.get("full_rung_seconds", 0.0)
        parts.append("all: none planned" if not planned else f"all: {planned:.0f} s planned")
        return ", ".join(parts), total
    full = (n_complete or 0) + (info.get("n_pruned") or 0)
    parts.append(f"all: {full}")
    return ", ".join(parts), total + full


def main() -> None:
    found = rows(sys.argv[1:])
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in found:
        groups[row["dataset"], row["seed"], row["budget"]].append(row)
    print(f"{'dataset':<18} {'seed':>4} {'budget':>6} {'method':<14} {'score':>12} {'rank':>4} "
          f"{'wall s':>7} {'bound':>6} {'configs':>7}  at each fidelity")
    for (dataset, seed, budget), group in sorted(groups.items()):
        higher = group[0]["higher_is_better"]
        ranked = sorted(group, key=lambda r: -r["score"] if higher else r["score"])
        for rank, row in enumerate(ranked, 1):
            info = row.get("info") or {}
            detail, configs = ("", row.get("n_trials") or 0)
            if row["method"].startswith("boosttune"):
                detail, configs = fidelity_counts(info, row.get("n_trials"))
                chosen = info.get("chosen_fidelity")
                if chosen is not None and chosen < 1:
                    detail += f"; chosen on 1/{round(1 / chosen)}"
                    full_fold = info.get("full_fold") or {}
                    detail += (", fit on a whole fold" if full_fold.get("delivered")
                               else ", its fold models")
            wall = row["wall_s"]
            ok = "ok" if wall <= bound(budget) else "OVER"
            print(f"{dataset:<18} {seed:>4} {budget:>6g} {row['method']:<14} "
                  f"{row['score']:>12.5f} {rank:>4} {wall:>7.1f} {ok:>6} {configs:>7}  "
                  f"{detail}")


if __name__ == "__main__":
    main()
