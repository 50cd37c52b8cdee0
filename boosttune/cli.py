"""boosttune command line: run competitions, compare runs, print presets and params.

Exit codes: 0 done, 2 usage or config error (with the message), 1 the run failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import numpy as np
import pandas as pd

from boosttune._version import __version__
from boosttune.backends import backend_names, backend_spec, preset, tiers
from boosttune.backends.device import REQUESTS
from boosttune.competition import (
    Competition,
    check_model_names,
    check_submission,
    data_dir,
    inverse_transform,
    load_competition,
    load_frames,
    runs_dir,
    transform_target,
)
from boosttune.config import DEFAULT_N_TRIALS, RunConfig, build_config, default
from boosttune.core.diagnosis import fidelity_text, shift_text
from boosttune.core.errors import BoostTuneError, OptionError
from boosttune.core.machine import Threads, process_age
from boosttune.core.metrics import Direction, get_metric
from boosttune.core.predictions import pred_matrix
from boosttune.core.schedules import SCHEDULES
from boosttune.io.atomic import to_json, write_csv, write_text
from boosttune.io.rundir import MANIFEST, RUN_OPTIONS, read_manifest
from boosttune.pipeline import run as pipeline
from boosttune.pipeline.ensemble import combine, model_config
from boosttune.pipeline.prepare import check
from boosttune.result import TuneResult
from boosttune.search.storage import open_storage

FORMATS = ("table", "csv", "json", "markdown")
# The flags a resumed run must keep (the budget flags may change, and are said), and what the
# CLI calls an option when it refuses a value: by its flag, or by its key in the config file.
RESUME_FLAGS = ("preset", "trials", "timeout", "seeds", "device", "strict_device", "threads",
                "lr_schedule", "lr_finder", "study")
BUDGET_FLAGS = ("trials", "timeout")
FLAGS = {"n_trials": "--trials", "timeout": "--timeout", "seeds": "--seeds",
         "n_jobs": "--threads", "space": "--preset", "lr_schedule": "--lr-schedule",
         "model": "--models", "device": "--device"}
FILE_KEYS = {"task": "[task] type", "metric": "[task] metric", "cv": "[cv] n_splits",
             "scheme": "[cv] scheme", "seed": "[cv] seed", "space": "[search] preset",
             "n_trials": "[search] n_trials",
             "timeout": "[search] timeout", "sampler": "[search] sampler",
             "pruner": "[search] pruner", "lr_schedule": "[search] lr_schedule",
             "seeds": "seeds", "model": "[search] models"}
Engine = TypeVar("Engine")  # what pipeline.run or pipeline.work returns
Frames: TypeAlias = tuple[pd.DataFrame, pd.DataFrame | None]  # training (target transformed), test


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "command"):
        parser.print_help()
        return 2
    try:
        return int(args.command(args))
    except BoostTuneError as exc:
        print(f"boosttune: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("boosttune: interrupted", file=sys.stderr)
        return 1
    except Exception as exc:  # the run failed: say what failed, exit 1
        print(f"boosttune: run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="boosttune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"boosttune {__version__}")
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser("run", help="tune the models of a competition config",
                              description="Tune each model of a competition config; write one "
                              "run directory per model with params, predictions and "
                              "submission.csv. A flag that is not given takes the config "
                              "file's value (the key in brackets), else boosttune's default. "
                              "Rerunning resumes the newest unfinished run of the same "
                              "config and flags (the budget flags may change).")
    run.add_argument("config", type=Path, help="competitions/NAME.toml")
    run.add_argument("--models", help=f"comma-separated, of {','.join(backend_names())} "
                     "([search] models, else lightgbm)")
    run.add_argument("--preset", choices=tiers(), help="search space tier ([search] preset, "
                     "else default)")
    run.add_argument("--trials", type=int, help="number of trials per model "
                     f"([search] n_trials, else {DEFAULT_N_TRIALS} without a timeout)")
    run.add_argument("--timeout", type=float, help="seconds per model, finalize included "
                     "([search] timeout, else none)")
    run.add_argument("--seeds", type=int, help="seeds to re-run the best params over "
                     "(seeds, else 1)")
    run.add_argument("--device", choices=REQUESTS, default=default("device"),
                     help="gpu falls back to the CPU with a warning where no GPU works")
    run.add_argument("--strict-device", action="store_true",
                     help="fail instead of falling back to the CPU")
    run.add_argument("--data-dir", help="folder the config's data paths are relative to "
                     "(default: $BOOSTTUNE_DATA_DIR, else the config's folder, else on "
                     "Kaggle the folder under /kaggle/input that holds the training file)")
    run.add_argument("--out", type=Path, help="runs folder (default: runs/, on Kaggle "
                     "/kaggle/working/runs/)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _study_arguments(run)
    run.add_argument("--workers", type=int, default=1,
                     help="processes searching the study together (each with --threads)")
    run.add_argument("--fresh", action="store_true",
                     help="start a new run instead of resuming the newest unfinished one")
    run.add_argument("--warm-start", action="append", type=Path, metavar="RUN",
                     help="enqueue this earlier run's best params first (repeatable)")
    run.add_argument("--lr-schedule", choices=("search", *SCHEDULES),
                     help="learning-rate schedule, or 'search' to search it (default constant)")
    run.add_argument("--lr-finder", action="store_true",
                     help="centre the learning-rate range on a rate a quick sweep picks for "
                     "the budget (not with --workers)")
    run.set_defaults(command=cmd_run)

    worker = commands.add_parser(
        "worker", help="search a shared study without finalizing",
        description="Run trials of the study that `boosttune run CONFIG --storage URL` "
        "finalizes; start one per process or machine with the same config and flags.")
    worker.add_argument("config", type=Path, help="competitions/NAME.toml")
    for flag in ("--models", "--preset", "--trials", "--timeout", "--device", "--data-dir"):
        worker._add_action(next(a for a in run._actions if flag in a.option_strings))
    worker.add_argument("--quiet", action="store_true", help="no progress bar")
    _study_arguments(worker, storage_required=True)
    worker.add_argument("--lr-schedule", choices=("search", *SCHEDULES))
    worker.set_defaults(command=cmd_worker, strict_device=False, seeds=None, warm_start=None,
                        lr_finder=False)

    board = commands.add_parser("leaderboard", help="compare the runs in a runs folder",
                                description="One row per run, best first per competition.")
    board.add_argument("runs_dir", nargs="?", type=Path,
                       help="runs folder (default: runs/, on Kaggle /kaggle/working/runs/)")
    board.add_argument("--competition", help="only this competition")
    board.add_argument("--format", choices=FORMATS, default="table")
    board.set_defaults(command=cmd_leaderboard)

    presets = commands.add_parser("presets", help="print the preset search spaces",
                                  description="Print the preset search spaces.")
    presets.add_argument("--model", choices=backend_names())
    presets.set_defaults(command=cmd_presets)

    show = commands.add_parser("show", help="print a run's params and scores",
                               description="Print a run's params and scores.")
    show.add_argument("run", type=Path)
    show.set_defaults(command=cmd_show)

    report = commands.add_parser("report", help="write a run's HTML report and PNG plots",
                                 description="Write RUN/report/report.html (self-contained, "
                                 "opens offline) and one PNG per plot.")
    report.add_argument("run", type=Path)
    report.add_argument("--out", type=Path, help="folder (default: RUN/report)")
    report.set_defaults(command=cmd_report)

    export = commands.add_parser("export", help="print a run's params ready to paste",
                                 description="Print a run's params ready to paste.")
    export.add_argument("run", type=Path)
    export.add_argument("--format", choices=("json", *backend_names()), default="json")
    export.set_defaults(command=cmd_export)
    return parser


def _study_arguments(parser: argparse.ArgumentParser, storage_required: bool = False) -> None:
    parser.add_argument("--storage", required=storage_required,
                        help="Optuna RDB URL shared by the workers, e.g. "
                        "postgresql+psycopg2://user:pass@host/db (default: a SQLite file "
                        "study.db in the run directory)")
    parser.add_argument("--study", help="study name prefix (default: the competition name); "
                        "the study of a model is PREFIX-MODEL")
    parser.add_argument("--threads", type=int, help="CPU threads per model (default: the CPUs "
                        "this process may use, less those other processes keep busy)")


def cmd_run(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise BoostTuneError(f"--workers must be at least 1; got {args.workers}.")
    if args.lr_finder and (args.workers > 1 or args.storage):
        raise BoostTuneError("--lr-finder times a sweep on this machine, so workers would "
                             "search different ranges; drop it with --workers or --storage.")
    began = time.perf_counter() - process_age()  # --timeout counts the imports and loading
    comp = load_competition(args.config)
    train, test = load_frames(comp, data_dir(args.data_dir, comp))
    args.out = runs_dir(args.out)
    frames = _engine_frames(comp, train, test)
    configs = _checked_configs(comp, frames, test, args)  # every model, before any training
    options = _options(comp, args)
    results: dict[str, TuneResult] = {}
    started = time.perf_counter()
    for i, (model, config) in enumerate(configs.items()):
        path = _run_dir(args.out, comp.name, model, args.fresh, options)
        new_run = not path.exists()
        storage = args.storage or str(path / "study.db")
        config = build_config(_on_time(config, began, i), storage=storage)
        helpers: list[subprocess.Popen] = []
        try:
            _write_options(path, options)
            if args.workers > 1:
                open_storage(storage)  # the schema exists before the workers connect
                helpers = [_start_worker(args, model, storage)
                           for _ in range(args.workers - 1)]
            result = _call_engine(pipeline.run, comp, frames, config)
            holdout = _label(comp, result, test)
        except BoostTuneError:
            if new_run:  # refused input: leave no run directory behind
                shutil.rmtree(path, ignore_errors=True)
            raise
        finally:
            for helper in helpers:
                helper.wait()
        _save(comp, result, holdout, test, path)
        results[model] = result
    if len(results) > 1:
        _save_ensemble(comp, frames, test, configs, results, started, args.out)
    return 0


def _on_time(config: RunConfig, began: float, i: int) -> RunConfig:
    """The ``i``-th model's config with its timeout counted from ``began`` (the command's
    start): model i ends by ``began + (i + 1) * timeout``, with at least a second."""
    if config.timeout is None:
        return config
    left = began + (i + 1) * config.timeout - time.perf_counter()
    return replace(config, timeout=max(1.0, left))


def _save(comp: Competition, result: TuneResult, holdout: float | None,
          test: pd.DataFrame | None, path: Path) -> None:
    result.save(path)
    if test is not None:
        _write_submission(comp, result, test, path / "submission.csv")
    _print_summary(comp, result, holdout, path)


def _save_ensemble(comp: Competition, frames: Frames, test: pd.DataFrame | None,
                   configs: dict[str, RunConfig], results: dict[str, TuneResult],
                   started: float, runs: Path) -> None:
    """The ensemble of the models' runs: one more run directory, leaderboard row and
    submission."""
    config = replace(next(iter(configs.values())), model=tuple(configs))
    ensemble = _call_engine(lambda train, target, test_frame, cfg: combine(
        train, target, test_frame, cfg, results, started), comp, frames, config)
    holdout = _label(comp, ensemble, test)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    _save(comp, ensemble, holdout, test, runs / f"{comp.name}-ensemble-{stamp}")


def cmd_worker(args: argparse.Namespace) -> int:
    comp = load_competition(args.config)
    train, test = load_frames(comp, data_dir(args.data_dir, comp))
    frames = _engine_frames(comp, train, test)
    configs = _checked_configs(comp, frames, test, args)
    for model, config in configs.items():
        ran = _call_engine(pipeline.work, comp, frames, build_config(config, storage=args.storage))
        print(f"{comp.name} · {model}: this worker ran {ran} trials of study "
              f"{_study_name(args, comp, model)}")
    return 0


def _models(comp: Competition, args: argparse.Namespace) -> list[str]:
    """The models to tune: --models, else the config's [search] models; each a backend."""
    if not args.models:
        return comp.models  # checked when the config was loaded
    models = [m.strip() for m in args.models.split(",")]
    check_model_names(models, "--models")
    return models


def _checked_configs(comp: Competition, frames: Frames, test: pd.DataFrame | None,
                     args: argparse.Namespace) -> dict[str, RunConfig]:
    """Each model's RunConfig, with the data checked against it and the submission's columns
    against the task, so that no mistake waits until a model has trained."""
    configs = {model: _run_config(comp, model, args) for model in _models(comp, args)}
    if len(configs) > 1:  # each keeps its best trials for the ensemble
        configs = {model: model_config(config, model) for model, config in configs.items()}
    for earlier in getattr(args, "warm_start", None) or []:
        try:
            read_manifest(earlier)
        except BoostTuneError as exc:
            raise BoostTuneError(f"--warm-start {earlier}: {exc}") from None
    task, _ = _call_engine(check, comp, frames, next(iter(configs.values())))
    if test is not None:
        check_submission(comp, task.n_classes)
    return configs


def _study_name(args: argparse.Namespace, comp: Competition, model: str) -> str:
    return f"{args.study or comp.name}-{model}"


def _run_dir(runs: Path, name: str, model: str, fresh: bool, options: dict[str, Any]
             ) -> Path:
    """The newest unfinished run of this competition and model (resumed, if it was started
    with the same config and flags), else a new one."""
    unfinished = [p for p in sorted(runs.glob(f"{name}-{model}-*"))
                  if (p / "study.db").exists() and not (p / MANIFEST).exists()]
    if unfinished and not fresh:
        path = unfinished[-1]
        before = _read_options(path)
        differ = _differences(before, options, lambda key: key not in BUDGET_FLAGS)
        if differ:
            raise BoostTuneError(f"{path} is an unfinished run started with other options "
                                 f"({'; '.join(differ)}); rerun with its options to resume "
                                 "it, or pass --fresh to start a new run.")
        budget = _differences(before, options, lambda key: key in BUDGET_FLAGS)
        print(f"resuming {path}" + (f" with a new budget ({'; '.join(budget)})" if budget
                                     else "") + " (--fresh starts a new run)", file=sys.stderr)
        return path
    return runs / f"{name}-{model}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _options(comp: Competition, args: argparse.Namespace) -> dict[str, Any]:
    """What makes a run: the config file's text (by digest) and the flags that change it."""
    flags = {flag: getattr(args, flag) for flag in RESUME_FLAGS}
    flags["warm_start"] = [str(p) for p in args.warm_start or []]
    digest = hashlib.sha256(comp.source.read_bytes()).hexdigest()
    return {"config": digest, **{k: v for k, v in flags.items() if v not in (None, [])}}


def _write_options(path: Path, options: dict[str, Any]) -> None:
    if not (path / RUN_OPTIONS).exists():
        write_text(path / RUN_OPTIONS, to_json(options))


def _read_options(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((path / RUN_OPTIONS).read_text()))
    except (OSError, ValueError):
        return None  # started before options were recorded: nothing to compare


def _differences(before: dict[str, Any] | None, now: dict[str, Any],
                 counted: Callable[[str], bool]) -> list[str]:
    """The options that changed since the run started, of those ``counted``, in words."""
    if before is None:
        return []
    said = []
    for key in sorted(set(before) | set(now)):
        if counted(key) and before.get(key) != now.get(key):
            label = "the config file changed" if key == "config" else (
                f"--{key.replace('_', '-')} {_shown(before.get(key))} → {_shown(now.get(key))}")
            said.append(label)
    return said


def _shown(value: Any) -> str:
    return "unset" if value is None else str(value)


def _start_worker(args: argparse.Namespace, model: str, storage: str) -> subprocess.Popen:
    """A `boosttune worker` process on the same config, flags and study."""
    command = [sys.executable, "-m", "boosttune", "worker", str(args.config), "--models", model,
               "--storage", storage, "--quiet"]
    for flag in ("preset", "trials", "timeout", "device", "data_dir", "study", "threads",
                 "lr_schedule"):
        value = getattr(args, flag)
        if value is not None:
            command += [f"--{flag.replace('_', '-')}", str(value)]
    return subprocess.Popen(command)


def _label(comp: Competition, result: TuneResult, test: pd.DataFrame | None) -> float | None:
    """Record the competition and the held-out score in the run's manifest; the score."""
    holdout = _holdout_score(comp, result, test)
    result.manifest.competition = comp.name
    result.manifest.config_file = str(comp.source)
    result.manifest.holdout_score = holdout
    return holdout


def _engine_frames(comp: Competition, train: pd.DataFrame, test: pd.DataFrame | None
                   ) -> Frames:
    """The frames the engine gets: the target transformed, the test rows without it."""
    train = train.assign(**{comp.target: transform_target(comp, train[comp.target])})
    frame_test = None if test is None else test.drop(columns=[comp.target], errors="ignore")
    return train, frame_test


def _call_engine(engine: Callable[..., Engine], comp: Competition, frames: Frames,
                 config: RunConfig) -> Engine:
    """An engine step (run, work, the data check, the ensemble) on the competition's frames;
    a value it refuses names the config file."""
    frame, frame_test = frames
    try:
        return engine(frame, comp.target, frame_test, config)
    except BoostTuneError as exc:
        raise BoostTuneError(f"{comp.source}: {exc}") from None


def _run_config(comp: Competition, model: str, args: argparse.Namespace) -> RunConfig:
    """The config file's options, then the flags given; the rest keep the table's defaults
    (boosttune.config). A refused value is named by its key in the file or by its flag."""
    from_file = {
        "task": comp.task.get("type"), "metric": comp.task.get("metric"),
        "cv": comp.cv.get("n_splits"), "cv_scheme": comp.cv.get("scheme"),
        "groups": comp.cv.get("column"), "seed": comp.cv.get("seed"),
        "id_column": comp.data.get("id"), "drop": comp.data.get("drop"),
        "preset": comp.search.get("preset"), "n_trials": comp.search.get("n_trials"),
        "timeout": comp.search.get("timeout"), "sampler": comp.search.get("sampler"),
        "pruner": comp.search.get("pruner"), "lr_schedule": comp.search.get("lr_schedule"),
        "seeds": comp.seeds,
    }
    from_flags = {
        "preset": args.preset, "n_trials": args.trials, "timeout": args.timeout,
        "seeds": args.seeds, "n_jobs": args.threads, "lr_schedule": args.lr_schedule,
        "warm_start": args.warm_start,
    }
    try:
        config = build_config(model=model, **_given(from_file))
    except OptionError as exc:
        raise BoostTuneError(f"{comp.source}: {exc.named(FILE_KEYS.get(exc.option, exc.option))}"
                             ) from None
    try:
        return build_config(config, **_given(from_flags), device=args.device,
                            strict_device=args.strict_device, lr_finder=args.lr_finder,
                            progress=not args.quiet, study_name=_study_name(args, comp, model))
    except OptionError as exc:
        raise BoostTuneError(exc.named(FLAGS.get(exc.option, f"--{exc.option}"))) from None


def _given(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


def _holdout_score(comp: Competition, result: TuneResult,
                   test: pd.DataFrame | None) -> float | None:
    if test is None or comp.target not in test.columns or result.test_pred is None:
        return None
    metric = get_metric(result.score.metric, result.manifest.task)
    pred = pred_matrix(result.test_pred)
    y = test[comp.target]
    if result.classes is not None:
        codes = result.class_codes(y)
        return None if (codes < 0).any() else metric(codes, pred)  # unseen class: no score
    return metric(transform_target(comp, y).to_numpy(dtype=np.float64), pred)


def _write_submission(comp: Competition, result: TuneResult, test: pd.DataFrame,
                      path: Path) -> None:
    assert result.test_pred is not None
    pred = pred_matrix(result.test_pred)
    output = comp.submission.get("output", "probability" if result.classes else "value")
    id_name = comp.data.get("id")
    columns = comp.submission.get("columns") or [id_name or "id", comp.target]
    ids = test[id_name].to_numpy() if id_name else test.index.to_numpy()  # rows of the file
    frame = pd.DataFrame({columns[0]: ids})
    if result.classes is None:
        frame[columns[1]] = inverse_transform(comp, pred)
    elif output == "label":
        chosen = (pred >= 0.5).astype(int) if pred.ndim == 1 else pred.argmax(axis=1)
        frame[columns[1]] = np.asarray(result.classes, dtype=object)[chosen]
    elif pred.ndim == 1:
        frame[columns[1]] = pred
    else:
        names = columns[1:] if len(columns) == pred.shape[1] + 1 else [str(c) for c in
                                                                        result.classes]
        for j, name in enumerate(names):
            frame[name] = pred[:, j]
    write_csv(path, frame)


def _print_summary(comp: Competition, result: TuneResult, holdout: float | None,
                   path: Path) -> None:
    manifest = result.manifest
    stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in
                       manifest.stage_seconds.items())
    lines = [f"{comp.name} · {result.model}: {result.score}",
             f"  trials: {manifest.n_complete} complete, {manifest.n_pruned} pruned; "
             f"wall {manifest.wall_seconds:.1f} s; device {manifest.device_name}",
             f"  stages: {stages}"]
    if "ensemble" in manifest.evaluation:
        found = manifest.evaluation["ensemble"]
        lines.append(f"  ensemble: {found['members']} members of {found['candidates']} kept "
                     f"trials; honest CV {found['honest_score']:.5f} (selected on the same "
                     f"OOF: {found['oof_score']:.5f}); best single "
                     f"{found['best_single']['model']} {found['best_single']['score']:.5f}")
    if (climb := manifest.headstart.get("fidelity")) and climb["used"]:
        text = fidelity_text(climb, manifest.search["fidelity"],
                             manifest.search.get("full_fold"))
        lines.append(f"  fidelity: {text}")
    if manifest.search.get("shortened"):
        lines.append("  shortened: the budget held no trial trained to its best round; the "
                     "model's fold models stopped where their time ran out")
    if threads := manifest.resolved.get("threads"):
        lines.append(f"  threads: {Threads.from_record(threads).describe()}")
    if "shift" in manifest.evaluation:
        lines.append(f"  shift check: {shift_text(manifest.evaluation['shift'])}")
    if holdout is not None:
        lines.append(f"  held-out {result.score.metric}: {holdout:.5f}")
    if result.diagnosis:
        lines.append(f"  fit: {result.diagnosis}")
    lines.append(f"  saved to {path}")
    print("\n".join(lines))


def leaderboard_rows(runs_dir: Path, competition: str | None = None,
                     skipped: list[tuple[str, str]] | None = None) -> pd.DataFrame:
    """One row per finished run, best first per competition ('-' for a run saved from Python).
    A run whose manifest cannot be read is left out: with ``skipped``, appended there as
    (run, reason); without it, its error is raised."""
    rows = []
    for manifest_path in sorted(runs_dir.glob(f"*/{MANIFEST}")):
        try:
            manifest = read_manifest(manifest_path.parent)
            name = manifest.competition or "-"
            if competition and name != competition:
                continue
            score = manifest.score
            delivered = score.get("delivered") or {}
            rows.append({
                "competition": name, "model": manifest.model,
                "preset": manifest.preset, "metric": score["metric"],
                "cv_mean": score["mean"], "cv_std": score["std"],
                "seeds": len(score["per_seed"]),
                "delivered_est": delivered.get("delivered"),
                "prediction_interval": delivered.get("interval_95"),
                "holdout": manifest.holdout_score,
                "trials": manifest.search["n_trials"],
                "wall_s": round(manifest.wall_seconds, 1),
                "device": manifest.device, "run": manifest_path.parent.name,
                "_key": Direction.of(score["direction"]).sort_key(score["mean"]),
            })
        except (BoostTuneError, KeyError, TypeError, ValueError) as exc:
            reason = (str(exc) if isinstance(exc, BoostTuneError) else
                      f"{manifest_path} lacks a usable score ({type(exc).__name__}: {exc})")
            if skipped is None:
                raise BoostTuneError(reason) from None
            skipped.append((manifest_path.parent.name, reason))
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.sort_values(["competition", "_key"]).drop(columns=["_key"])
    return frame.reset_index(drop=True)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    args.runs_dir = runs_dir(args.runs_dir)
    if not args.runs_dir.is_dir():
        raise BoostTuneError(f"runs folder {args.runs_dir} does not exist.")
    skipped: list[tuple[str, str]] = []
    frame = leaderboard_rows(args.runs_dir, args.competition, skipped)
    for run, reason in skipped:
        print(f"boosttune: skipped {run}: {reason}", file=sys.stderr)
    if frame.empty:
        print(f"no runs in {args.runs_dir}" + (f" for {args.competition}"
                                                if args.competition else ""))
        return 0
    print(FORMATTERS[args.format](frame))
    return 0


def _table(frame: pd.DataFrame) -> str:
    shown = frame.assign(cv=[f"{m:.5f} ± {s:.5f}" for m, s in zip(frame.cv_mean, frame.cv_std,
                                                                 strict=True)])
    shown = shown.drop(columns=["cv_mean", "cv_std"]).assign(
        prediction_interval=[_pair(v) for v in frame.prediction_interval])
    columns = ["competition", "model", "preset", "metric", "cv", "seeds", "delivered_est",
               "prediction_interval", "holdout", "trials", "wall_s", "device", "run"]
    return shown[columns].to_string(index=False, na_rep="", float_format=lambda v: f"{v:.5f}")


def _pair(value: Any) -> str:
    """A prediction interval as text ('' where the run has none)."""
    if not isinstance(value, list) or len(value) != 2 or not all(
            isinstance(v, float) and np.isfinite(v) for v in value):
        return ""
    return f"[{value[0]:.5f}, {value[1]:.5f}]"


def _markdown(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(
        index=False)]
    return "\n".join([header, rule, *body])


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, list):
        return _pair(value)
    return f"{value:.5f}" if isinstance(value, float) else str(value)


FORMATTERS: dict[str, Callable[[pd.DataFrame], str]] = {
    "table": _table,
    "csv": lambda f: f.to_csv(index=False).rstrip("\n"),
    "json": lambda f: f.to_json(orient="records", indent=2),
    "markdown": _markdown,
}


def cmd_presets(args: argparse.Namespace) -> int:
    models = [args.model] if args.model else backend_names()
    print("\n\n".join(str(preset(m, t)) for m in models for t in backend_spec(m).presets))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    result = TuneResult.load(args.run)
    manifest = result.manifest
    print(f"run {args.run.name}: {manifest.competition or '-'} · {result.model} · "
          f"{manifest.task}")
    print(f"score: {result.score}")
    if manifest.holdout_score is not None:
        print(f"held-out: {manifest.holdout_score:.5f}")
    print(f"trials: {manifest.n_complete} complete, {manifest.n_pruned} pruned; wall "
          f"{manifest.wall_seconds:.1f} s")
    print("params:")
    print(to_json(result.params).rstrip())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    result = TuneResult.load(args.run)
    folder = args.out or args.run / "report"
    report = result.report(folder)
    print(f"{folder / 'report.html'}: {len(report.figures)} plots"
          + "".join(f"\n  not shown: {name}: {why}" for name, why in report.notes.items()))
    if result.diagnosis:
        print(f"fit: {result.diagnosis}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    result = TuneResult.load(args.run)
    if args.format == "json":
        print(to_json(result.params).rstrip())
        return 0
    if args.format != result.model:
        raise BoostTuneError(f"run {args.run.name} was tuned with {result.model}; use "
                             f"--format {result.model} or --format json.")
    kind = "regressor" if result.manifest.task == "regression" else "classifier"
    estimator = backend_spec(result.model).estimators.get(kind)
    if estimator is None:
        raise BoostTuneError(f"backend {result.model!r} names no sklearn {kind}; use "
                             "--format json.")
    module = estimator.rsplit(".", 1)[0]
    arguments = ",\n".join(f"    {k}={v!r}" for k, v in result.params.items())
    print(f"import {module}\n\nmodel = {estimator}(\n{arguments},\n)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
