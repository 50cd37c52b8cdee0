"""The shared peer benchmark (../shared/bench/peers.py) with its boosttune slot adapted to the
real API; every other method and the whole protocol are the harness's own.

    ~/.venvs/peers/bin/python tests/benchmarks/bench_peers.py --datasets adult,letter \\
        --methods boosttune,optuna_tpe --seeds 0 --budget 60 --out tests/benchmarks/out/p.jsonl
    ~/.venvs/peers/bin/python ../shared/bench/summarize.py tests/benchmarks/out/p.jsonl

Arguments are peers.py's. The harness starts each (dataset, method, seed) in a subprocess of
the script it was loaded from; pointing it at this file makes those subprocesses use the
adapted slot. BOOSTTUNE_BENCH_DIR overrides where the harness is (default ../shared/bench).
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(os.environ.get("BOOSTTUNE_BENCH_DIR", ROOT.parent / "shared" / "bench"))
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import peers  # noqa: E402

PAIRED = ROOT / "tests" / "benchmarks" / "out" / "paired"
METRIC = {"binary": "auc", "multiclass": "multi_logloss", "regression": "rmse"}


def paired_path(method: str, task: str, n_train: int, n_test: int, seed: int,
                budget: float) -> Path:
    """Where ``method``'s fold models' own test predictions of one harness run are saved."""
    return PAIRED / f"{method}_{task}_{n_train}_{n_test}_s{seed}_b{budget:g}_folds.npy"


def boosttune(X_train: Any, y_train: Any, X_test: Any, task: str, budget: float,
              seed: int, method: str = "boosttune",
              **options: Any) -> tuple[Any, dict[str, Any]]:
    """bt.tune within the budget on 2 threads; test predictions of its ensemble. With
    refit='blend', the fold models' own test predictions go to out/paired/ too, so that
    score_paired.py scores blend and folds on the same search."""
    import numpy as np

    import boosttune as bt
    from boosttune.result import Ensemble

    result = bt.tune(X_train, y_train.to_numpy(), test=X_test, task=task, metric=METRIC[task],
                     timeout=budget, seed=seed, n_jobs=peers.N_JOBS, progress=False, **options)
    search = result.manifest.search
    info = {"n_trials": search["n_complete"], "n_pruned": search["n_pruned"],
            "trials_at_once": search["trials_at_once"],
            "cv_score": result.score.mean, "wall_inside": result.manifest.timing,
            "best_params": result.best_params, "refit": result.manifest.resolved["refit_used"],
            "boosttune_file": bt.__file__}
    ensemble = result.ensemble
    if ensemble is not None and ensemble.members and ensemble.full_members:
        folds_only = Ensemble(ensemble.predict_members, ensemble.members, ensemble.encoder)
        PAIRED.mkdir(parents=True, exist_ok=True)
        np.save(paired_path(method, task, len(X_train), len(X_test), seed, budget),
                folds_only.predict(X_test))
    assert result.test_pred is not None
    preds = result.test_pred.filter(like="pred").to_numpy()
    return (preds if task == "multiclass" else preds[:, 0]), info


# lever ablations: boosttune with one lever switched off
VARIANTS = {"boosttune": {}, "boosttune_noportfolio": {"portfolio": False},
            "boosttune_serial": {"parallel_trials": False}}
for name, options in VARIANTS.items():
    peers.METHODS[name] = partial(boosttune, method=name, **options)
    peers.PRELOAD[name] = ["lightgbm", "xgboost", "optuna"]
peers.__file__ = str(Path(__file__).resolve())  # worker subprocesses start this file

if __name__ == "__main__":
    sys.exit(peers.main())
