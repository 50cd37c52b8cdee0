"""Replays the ensemble's selection offline on the kept trials a multi-model run saved
(bench_peers.py with BOOSTTUNE_BENCH_CANDIDATES=1), variant against variant on the same
searches, each scored on the harness's held-out rows.

    python tests/benchmarks/score_selection.py tests/benchmarks/out/p.jsonl

Variants: the best single trial by CV; Caruana's greedy selection as boosttune runs it; the
same started from the best few (sorted initialisation, Caruana et al. 2006); greedy selection
repeated on bootstrap draws of the rows and its weights averaged; an equal average of each
backend's best trials.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_peers import candidates_path, peers
from load_data import load  # the harness's loader (bench_peers puts it on the path)
from sklearn.metrics import log_loss, roc_auc_score
from summarize import rel_improvement

from boosttune.core.blending import ROUNDS, blend, selection_rows

Score = Callable[[np.ndarray, np.ndarray], float]  # (rows, prediction) -> higher is better


def scorer(task: str, y: np.ndarray, n_classes: int | None) -> Score:
    if task == "binary":
        return lambda rows, p: float(roc_auc_score(y[rows], p))
    if task == "multiclass":
        labels = np.arange(n_classes or p_columns(y))
        return lambda rows, p: -float(log_loss(y[rows], np.clip(p, 1e-15, 1), labels=labels))
    return lambda rows, p: -float(np.sqrt(np.mean((y[rows] - p) ** 2)))


def p_columns(y: np.ndarray) -> int:
    return int(np.max(y)) + 1


def greedy(score: Score, preds: list[np.ndarray], rows: np.ndarray,
           start: list[int] | None = None) -> np.ndarray:
    counts = np.zeros(len(preds))
    total = np.zeros_like(preds[0][rows])
    for i in start or []:
        counts[i] += 1
        total = total + preds[i][rows]
    best_counts, best = counts.copy(), (score(rows, total / counts.sum()) if start else None)
    for _ in range(ROUNDS):
        n = counts.sum() + 1
        scores = [score(rows, (total + p[rows]) / n) for p in preds]
        pick = int(np.argmax(scores))
        counts[pick] += 1
        total = total + preds[pick][rows]
        if best is None or scores[pick] > best:
            best_counts, best = counts.copy(), scores[pick]
    return best_counts / best_counts.sum()


def bootstrap_greedy(score: Score, preds: list[np.ndarray], rows: np.ndarray,
                     draws: int = 10) -> np.ndarray:
    rng = np.random.default_rng(0)
    weights = [greedy(score, preds, np.sort(rng.choice(rows, len(rows), replace=True)))
               for _ in range(draws)]
    return np.mean(weights, axis=0)


def variants(score: Score, names: list[str], cv: list[float], preds: list[np.ndarray],
             rows: np.ndarray) -> dict[str, np.ndarray]:
    n = len(preds)
    order = list(np.argsort([-c for c in cv]))  # cv as higher-is-better
    one_hot = np.zeros(n)
    one_hot[order[0]] = 1
    out = {"single_best": one_hot, "greedy": greedy(score, preds, rows),
           "greedy_sorted3": greedy(score, preds, rows, order[:3]),
           "bootstrap10": bootstrap_greedy(score, preds, rows)}
    for k in (2, 3):
        equal = np.zeros(n)
        for backend in sorted({name.split("_")[0] for name in names}):
            mine = [i for i in order if names[i].startswith(backend + "_")][:k]
            equal[mine] = 1
        out[f"top{k}_each_equal"] = equal / equal.sum()
    return out


def main(rows_file: str) -> None:
    with open(rows_file, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    defaults = {(r["dataset"], r["seed"]): r["score"] for r in rows
                if r["method"] == "lgbm_default" and not r.get("error")}
    gains: dict[str, list[float]] = {}
    for row in rows:
        if "ensemble_cv" not in (row.get("info") or {}):
            continue
        X, y, meta = load(row["dataset"])
        X_train, y_train, X_test, y_test, _ = peers.split_data(X, y, meta, row["seed"])
        path = candidates_path(row["method"], meta["task"], len(X_train), len(X_test),
                               row["seed"], row["budget"])
        if not path.exists():
            continue
        saved = np.load(path)
        names = [k[len("oof__"):] for k in saved.files if k.startswith("oof__")]
        y_codes = _codes(meta["task"], y_train)
        score = scorer(meta["task"], y_codes, meta.get("n_classes"))
        sign = -1.0 if meta["task"] == "regression" or meta["task"] == "multiclass" else 1.0
        cv = [sign * float(saved[f"cv__{n}"]) for n in names]
        oof = [saved[f"oof__{n}"] for n in names]
        test = [saved[f"test__{n}"] for n in names]
        validated = selection_rows(np.flatnonzero(saved["fold"] >= 0))
        cells = []
        for name, weights in variants(score, names, cv, oof, validated).items():
            got, _ = peers.score(meta["task"], y_test, blend(test, weights), meta.get("n_classes"))
            base = defaults.get((row["dataset"], row["seed"]))
            change = 0.0 if base is None else 100 * rel_improvement(row["metric"], base, got)
            gains.setdefault(name, []).append(change)
            cells.append(f"{name} {change:+.2f}%")
        print(f"{row['dataset']:20s} {row['seed']} n={len(names):2d} " + " | ".join(cells),
              flush=True)
    print("\nmean gain over the defaults, and wins against greedy (same searches)")
    for name, values in gains.items():
        wins = sum(v > g for v, g in zip(values, gains["greedy"], strict=True))
        print(f"{name:18s} {np.mean(values):+.2f}%  min {np.min(values):+.2f}%  "
              f"better than greedy {wins}/{len(values)}")


def _codes(task: str, y_train: Any) -> np.ndarray:
    values = np.asarray(y_train)
    if task == "regression":
        return values.astype(float)
    _, codes = np.unique(values, return_inverse=True)
    return codes


if __name__ == "__main__":
    main(sys.argv[1])
