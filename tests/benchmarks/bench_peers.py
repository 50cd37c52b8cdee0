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

import load_data  # noqa: E402
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
    import time

    import numpy as np

    import boosttune as bt
    from boosttune.result import Ensemble
    started = time.perf_counter()
    result = bt.tune(X_train, y_train.to_numpy(), test=X_test, task=task, metric=METRIC[task],
                     timeout=budget, seed=seed, n_jobs=peers.N_JOBS, progress=False, **options)
    wall_tune = time.perf_counter() - started  # the harness's wall adds the levers' scoring
    search = result.manifest.search
    info = {"n_trials": search["n_complete"], "n_pruned": search["n_pruned"],
            "trials_at_once": search.get("trials_at_once"),
            "cv_score": result.score.mean, "wall_inside": result.manifest.timing,
            "best_params": result.best_params,
            "refit": result.manifest.resolved.get("refit_used"), "boosttune_file": bt.__file__,
            "wall_tune": wall_tune,
            "delivered": (None if result.score.delivered is None
                          else result.score.delivered.summary()),
            "cv_interval": list(result.score.interval),
            "shift": result.manifest.evaluation.get("shift"),
            "fidelity": result.manifest.headstart.get("fidelity"),
            "chosen_fidelity": search.get("fidelity"),
            "full_fold": search.get("full_fold"),
            "threads": result.manifest.resolved.get("threads")}
    if result.by_model:
        info |= _levers(result, X_train, y_train, X_test, task, method, seed, budget)
    ensemble = result.ensemble
    if isinstance(ensemble, Ensemble) and ensemble.members and ensemble.full_members:
        folds_only = Ensemble(ensemble.predict_members, ensemble.members, ensemble.encoder)
        PAIRED.mkdir(parents=True, exist_ok=True)
        np.save(paired_path(method, task, len(X_train), len(X_test), seed, budget),
                folds_only.predict(X_test))
    assert result.test_pred is not None
    preds = result.test_pred.filter(like="pred").to_numpy()
    return (preds if task == "multiclass" else preds[:, 0]), info


LOW_RATE = 2.0  # the low-rate finalize lever: refits at the learning rate ÷ 2, 2x the rounds


def levers_path(method: str, task: str, n_train: int, n_test: int, seed: int,
                budget: float) -> Path:
    """Where a multi-model run's lever predictions (test rows) are saved."""
    return PAIRED / f"{method}_{task}_{n_train}_{n_test}_s{seed}_b{budget:g}_levers.npz"


def _levers(result: Any, X_train: Any, y_train: Any, X_test: Any, task: str, method: str,
            seed: int, budget: float) -> dict[str, Any]:
    """On the same searches: each backend's single best, the best of them, the ensemble of
    one backend's kept trials and the ensemble of all; test predictions saved for
    score_levers.py, and the honest and flattering CV scores of each ensemble."""
    import numpy as np

    import boosttune as bt
    from boosttune.pipeline.ensemble import combine

    def preds(r: Any) -> Any:
        values = r.test_pred.filter(like="pred").to_numpy()
        return values if task == "multiclass" else values[:, 0]

    config = bt.config.build_config(task=task, metric=METRIC[task], seed=seed, progress=False)
    saved = {f"single_{m}": preds(r) for m, r in result.by_model.items()}
    best = min(result.by_model.values(),
               key=lambda r: -r.score.mean if r.score.direction == "maximize" else r.score.mean)
    saved["single_best"] = preds(best)
    low_rate = _low_rate(best, X_train, y_train, X_test, config)
    if low_rate is not None:
        saved["single_best_low_rate"] = low_rate
    cv: dict[str, Any] = {}
    for m, r in result.by_model.items():
        one = combine(X_train, y_train.to_numpy(), X_test, config, {m: r}, 0.0)
        saved[f"ensemble_{m}"] = preds(one)
        cv[f"ensemble_{m}"] = one.manifest.evaluation["ensemble"]
    saved["ensemble_all"] = preds(result)
    saved["ensemble_all_folds"] = _folds_only(result, X_test, task)
    cv["ensemble_all"] = result.manifest.evaluation["ensemble"]
    PAIRED.mkdir(parents=True, exist_ok=True)
    np.savez(levers_path(method, task, len(X_train), len(X_test), seed, budget), **saved)
    if os.environ.get("BOOSTTUNE_BENCH_CANDIDATES"):
        np.savez(candidates_path(method, task, len(X_train), len(X_test), seed, budget),
                 **_candidates(result, X_test))
    return {"ensemble_cv": cv, "single_cv": {m: r.score.mean for m, r in result.by_model.items()},
            "kept_bytes": {m: _kept_bytes(r.kept) for m, r in result.by_model.items()}}


def candidates_path(method: str, task: str, n_train: int, n_test: int, seed: int,
                    budget: float) -> Path:
    """Where a multi-model run's kept trials (OOF and test predictions) are saved."""
    return PAIRED / f"{method}_{task}_{n_train}_{n_test}_s{seed}_b{budget:g}_candidates.npz"


def _candidates(result: Any, X_test: Any) -> dict[str, Any]:
    """Every kept trial's OOF and test predictions (each predicting as the ensemble's member
    would) with the rows' folds, for replaying the selection offline (score_selection.py)."""
    from boosttune.pipeline.ensemble import member_predictor
    encoder = result.ensemble.encoder
    saved: dict[str, Any] = {"fold": result.oof["fold"].to_numpy()}
    for model, run in result.by_model.items():
        for kept in run.kept:
            name = f"{model}_{kept.trial}"
            saved[f"oof__{name}"] = kept.oof
            saved[f"test__{name}"] = member_predictor(kept, run, encoder).predict(X_test)
            saved[f"cv__{name}"] = kept.score
    return saved


def _low_rate(best: Any, X_train: Any, y_train: Any, X_test: Any, config: Any,
              k: float = LOW_RATE) -> Any:
    """The best backend's delivered predictor with its refits at the learning rate ÷ k and
    k× the rounds (Finalize(low_rate=k)), on the same search; None where it kept no refit."""
    from dataclasses import replace

    from boosttune.core.schedules import slowed
    from boosttune.pipeline.prepare import prepare
    from boosttune.result import Ensemble
    from boosttune.search.storage import PARAMS_KEY

    delivered = best.ensemble
    if not isinstance(delivered, Ensemble) or not delivered.full_members:
        return None
    chosen = best.evaluation["selection"]["chosen_trial"]
    params = best.study.trials[chosen].user_attrs[PARAMS_KEY]
    backend = prepare(X_train, y_train.to_numpy(), X_test, replace(config, model=best.model),
                      0.0).backend
    slow, rounds = slowed(params, delivered.full_members[0][1], k)
    seeds = best.score.table["seed"].unique()
    refits = [(backend.fit_all(slow, rounds, int(s)), rounds) for s in seeds]
    values = Ensemble(delivered.predict_members, delivered.members, delivered.encoder,
                      refits).predict(X_test)
    return values


def _folds_only(result: Any, X_test: Any, task: str) -> Any:
    """The same members and weights, each predicting with its fold models only (the lever
    against giving the chosen trial its backend's delivered predictor)."""
    from boosttune.result import Ensemble, WeightedEnsemble

    kept = {(k.model, k.trial): k for r in result.by_model.values() for k in r.kept}
    encoder = result.ensemble.encoder
    parts = [(m["weight"], Ensemble(kept[m["model"], m["trial"]].predict,
                                    kept[m["model"], m["trial"]].members, encoder))
             for m in result.members]
    values = WeightedEnsemble(parts, encoder).predict(X_test)
    return values


def _kept_bytes(kept: list[Any]) -> dict[str, float]:
    """Memory a kept trial holds: its OOF array and its pickled fold models (median)."""
    import pickle

    import numpy as np
    models = [len(pickle.dumps([m for m, _ in k.members])) for k in kept]
    return {"trials": len(kept), "oof_bytes": float(np.median([k.oof_bytes for k in kept])),
            "models_bytes_median": float(np.median(models)) if models else 0.0}


def _synthetic_1m() -> Any:
    """1.25M rows (1M training rows at the harness's 20% test split), 30 features: 12
    informative, 5% of labels flipped; made by scikit-learn from a fixed seed, no file."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=1_250_000, n_features=30, n_informative=12,
                               n_redundant=6, flip_y=0.05, class_sep=0.8, random_state=0)
    frame = pd.DataFrame(X.astype(np.float32), columns=[f"x{j}" for j in range(30)])
    return frame.assign(target=y)


load_data.DATASETS["synthetic_1m"] = load_data.Spec(
    "synthetic_1m", "pypi", "binary", "target",
    "scikit-learn: make_classification(1_250_000, 30 features, random_state=0)",
    "generated", _synthetic_1m, positive=1, notes="issue 22's >= 1M-row table")

# lever ablations: boosttune with one lever switched off
VARIANTS = {"boosttune": {}, "boosttune_noportfolio": {"portfolio": False},
            "boosttune_serial": {"parallel_trials": False},
            "boosttune_ensemble": {"model": ["lightgbm", "xgboost"]}}
for name, options in VARIANTS.items():
    peers.METHODS[name] = partial(boosttune, method=name, **options)
    peers.PRELOAD[name] = ["lightgbm", "xgboost", "optuna"]
peers.__file__ = str(Path(__file__).resolve())  # worker subprocesses start this file

if __name__ == "__main__":
    sys.exit(peers.main())
