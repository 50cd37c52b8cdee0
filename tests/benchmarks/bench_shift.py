"""How high does the adversarial-validation AUC of ``check_shift`` go on splits that are not
shifted, and how low on splits that are? Sets ``SHIFT_AUC``. Kept apart from the test run.

    python tests/benchmarks/bench_shift.py [--data-dir DIR] [--max-rows 20000]

For each dataset (target dropped, features encoded by ``FeatureEncoder``) and seeds 0, 1, 2:
  random    a random 80/20 split (not shifted: AUC should be near 0.5)
  sorted    rows sorted by the dataset's first numeric column, the last 20% the test rows
            (shifted)
  original  adult only: its original train/test split (column ``split``; not shifted)
One thread, ``max_rows`` rows a side. The table goes to stdout and to
tests/benchmarks/results/shift_check.txt.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from boosttune.core.task import FeatureEncoder  # noqa: E402
from boosttune.pipeline.shift import SHIFT_AUC, ShiftCheck, check_shift  # noqa: E402

# name: (target, columns to drop besides the target)
DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "adult": ("class", ("split",)),
    "bank_marketing": ("y", ("duration",)),
    "credit_default_tw": ("default_payment_next_month", ()),
    "online_shoppers": ("Revenue", ()),
    "california_housing": ("median_house_value", ()),
    "diamonds": ("price", ()),
    "house_prices": ("SalePrice", ()),
    "letter": ("lettr", ()),
}
SEEDS = (0, 1, 2)
TEST_SHARE = 0.2
SMALL_ROWS = (300, 1000)  # random splits of small samples: how noisy the AUC gets
PARTIAL = (0.3, 0.5)  # milder shifts: this share of the test rows from the sorted tail
DETAILED = ("small", "partial")  # split kinds whose summary names the detail too
RESULT = ROOT / "tests" / "benchmarks" / "results" / "shift_check.txt"


def load(name: str, data_dir: Path) -> tuple[np.ndarray, FeatureEncoder, pd.DataFrame]:
    frame = pd.read_csv(data_dir / f"{name}.csv.gz")
    target, drop = DATASETS[name]
    features = frame.drop(columns=[target, *drop])
    encoder = FeatureEncoder.fit(features)
    return encoder.transform(features, "data"), encoder, frame


def first_numeric(encoder: FeatureEncoder) -> int:
    categorical = set(encoder.categorical_indices)
    return next(i for i in range(len(encoder.columns)) if i not in categorical)


def splits(X: np.ndarray, encoder: FeatureEncoder, frame: pd.DataFrame,
           seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    column = first_numeric(encoder)
    by_column = np.argsort(X[:, column], kind="stable")  # NaN sorts last
    n_test = round(len(X) * TEST_SHARE)
    kinds = {"random": split_at(rng.permutation(len(X)), n_test),
             f"sorted:{encoder.columns[column]}": (by_column[:-n_test], by_column[-n_test:])}
    if "split" in frame.columns:
        is_test = (frame["split"] == "test").to_numpy()
        kinds["original"] = (np.flatnonzero(~is_test), np.flatnonzero(is_test))
    for rows in SMALL_ROWS:
        sample = rng.choice(len(X), size=min(rows, len(X)), replace=False)
        kinds[f"small:{rows} rows"] = split_at(sample, round(len(sample) * TEST_SHARE))
    for share in PARTIAL:
        kinds[f"partial:{share:.0%} sorted"] = partial(by_column, n_test, share, rng)
    return kinds


def split_at(order: np.ndarray, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    return order[n_test:], order[:n_test]


def partial(by_column: np.ndarray, n_test: int, share: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A test set of which ``share`` comes from the sorted split's test rows, the rest at
    random from all the others: a milder shift."""
    from_tail = rng.choice(by_column[-n_test:], size=round(share * n_test), replace=False)
    rest = np.setdiff1d(by_column, from_tail)
    test = np.r_[from_tail, rng.choice(rest, size=n_test - len(from_tail), replace=False)]
    return np.setdiff1d(by_column, test), test


def row(name: str, seed: int, kind: str, check: ShiftCheck) -> str:
    top = f"{check.features[0][0]} ({check.features[0][1]:.0%})" if check.features else "-"
    flag = "yes" if check.shifted else "no"
    return (f"{name:<20} {seed:>4} {kind:<24} {check.auc:>6.3f} {flag:>7}"
            f" {check.n_train:>7} {check.n_test:>6} {check.seconds:>6.1f}  {top}")


def run(data_dir: Path, max_rows: int) -> list[str]:
    header = (f"{'dataset':<20} {'seed':>4} {'split':<24} {'auc':>6} {'shifted':>7} "
              f"{'n_train':>7} {'n_test':>6} {'sec':>6}  top feature (gain share)")
    lines = [f"check_shift, threshold SHIFT_AUC={SHIFT_AUC} (higher on small data: "
             f"threshold()), max_rows={max_rows}, threads=1",
             header]
    print("\n".join(lines), flush=True)
    aucs: dict[str, list[tuple[float, str, bool]]] = {}
    for name in DATASETS:
        X, encoder, frame = load(name, data_dir)
        for seed in SEEDS:
            for kind, (train, test) in splits(X, encoder, frame, seed).items():
                check = check_shift(X[train], X[test], encoder.columns,
                                    encoder.categorical_indices, seed=seed, threads=1,
                                    max_rows=max_rows)
                assert check is not None
                group, _, detail = kind.partition(":")
                where = f"{name} seed {seed}" + (f", {detail}" if group in DETAILED else "")
                aucs.setdefault(group, []).append((check.auc, where, check.shifted))
                lines.append(row(name, seed, kind, check))
                print(lines[-1], flush=True)
    lines += summary(aucs)
    return lines


def summary(aucs: dict[str, list[tuple[float, str, bool]]]) -> list[str]:
    out = [""]
    for kind, label in (("random", "random splits"), ("sorted", "sorted splits"),
                        ("original", "adult original"), ("small", "random, small samples"),
                        ("partial", "partially sorted")):
        if aucs.get(kind):
            out.append(f"{label + ':':<23} " + describe(aucs[kind]))
    print("\n".join(out), flush=True)
    return out


def describe(found: list[tuple[float, str, bool]]) -> str:
    values = [a for a, _, _ in found]
    return (f"min {min(found)[0]:.3f} ({min(found)[1]}), max {max(found)[0]:.3f} "
            f"({max(found)[1]}), mean {np.mean(values):.3f}, flagged "
            f"{sum(flag for _, _, flag in found)}/{len(values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--max-rows", type=int, default=20_000)
    args = parser.parse_args()
    start = time.perf_counter()
    lines = run(args.data_dir, args.max_rows)
    lines.append(f"total {time.perf_counter() - start:.0f} s")
    print(lines[-1])
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
