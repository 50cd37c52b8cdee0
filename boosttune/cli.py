"""``boosttune`` command line: run competitions, compare runs, print presets and params.

Exit codes: 0 done, 2 usage or config error (with the message), 1 the run failed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from boosttune.backends import backend_names, backend_spec, preset, tiers
from boosttune.backends.device import REQUESTS
from boosttune.competition import (
    Competition,
    data_dir,
    inverse_transform,
    load_competition,
    load_frames,
    transform_target,
)
from boosttune.config import RunConfig, build_config, default
from boosttune.core.errors import BoostTuneError
from boosttune.core.metrics import Direction, get_metric
from boosttune.core.predictions import pred_matrix
from boosttune.core.schedules import SCHEDULES
from boosttune.io.atomic import to_json, write_csv
from boosttune.io.rundir import MANIFEST, read_manifest
from boosttune.pipeline import run as pipeline
from boosttune.result import TuneResult
from boosttune.search.storage import open_storage

FORMATS = ("table", "csv", "json", "markdown")
Engine = TypeVar("Engine")  # what pipeline.run or pipeline.work returns


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
    parser = argparse.ArgumentParser(prog="boosttune", description=__doc__)
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser("run", help="tune the models of a competition config",
                              description="Tune each model of a competition config; write one "
                              "run directory per model with params, predictions and "
                              "submission.csv.")
    run.add_argument("config", type=Path, help="competitions/NAME.toml")
    run.add_argument("--models", help=f"comma-separated, of {','.join(backend_names())}")
    run.add_argument("--preset", choices=tiers())
    run.add_argument("--trials", type=int, help="number of trials per model")
    run.add_argument("--timeout", type=float, help="seconds per model, finalize included")
    run.add_argument("--seeds", type=int, help="seeds to re-run the best params over")
    run.add_argument("--device", choices=REQUESTS, default=default("device"),
                     help="gpu falls back to the CPU with a warning where no GPU works")
    run.add_argument("--strict-device", action="store_true",
                     help="fail instead of falling back to the CPU")
    run.add_argument("--data-dir", help="folder the config's data paths are relative to "
                     "(default: $BOOSTTUNE_DATA_DIR, else the config's folder)")
    run.add_argument("--out", type=Path, default=Path("runs"), help="runs folder (runs/)")
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
    board.add_argument("runs_dir", nargs="?", type=Path, default=Path("runs"))
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
    parser.add_argument("--threads", type=int, help="CPU threads per model (default: all)")


def cmd_run(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise BoostTuneError(f"--workers must be at least 1; got {args.workers}.")
    if args.lr_finder and (args.workers > 1 or args.storage):
        raise BoostTuneError("--lr-finder times a sweep on this machine, so workers would "
                             "search different ranges; drop it with --workers or --storage.")
    comp = load_competition(args.config)
    train, test = load_frames(comp, data_dir(args.data_dir, comp))
    for model in _models(comp, args):
        path = _run_dir(args.out, comp.name, model, args.fresh)
        new_run = not path.exists()
        storage = args.storage or str(path / "study.db")
        helpers: list[subprocess.Popen] = []
        try:
            if args.workers > 1:
                open_storage(storage)  # the schema exists before the workers connect
                helpers = [_start_worker(args, model, storage)
                           for _ in range(args.workers - 1)]
            result, holdout = _run_model(comp, train, test, model, args, storage)
        except BoostTuneError:
            if new_run:  # refused input: leave no run directory behind
                shutil.rmtree(path, ignore_errors=True)
            raise
        finally:
            for helper in helpers:
                helper.wait()
        result.save(path)
        if test is not None:
            _write_submission(comp, result, test, path / "submission.csv")
        _print_summary(comp, result, holdout, path)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    comp = load_competition(args.config)
    train, test = load_frames(comp, data_dir(args.data_dir, comp))
    for model in _models(comp, args):
        ran = _call_engine(pipeline.work, comp, train, test, model, args, args.storage)
        print(f"{comp.name} · {model}: this worker ran {ran} trials of study "
              f"{_study_name(args, comp, model)}")
    return 0


def _models(comp: Competition, args: argparse.Namespace) -> list[str]:
    return args.models.split(",") if args.models else comp.models


def _study_name(args: argparse.Namespace, comp: Competition, model: str) -> str:
    return f"{args.study or comp.name}-{model}"


def _run_dir(runs: Path, name: str, model: str, fresh: bool) -> Path:
    """The newest unfinished run of this competition and model (resumed), else a new one."""
    unfinished = [p for p in sorted(runs.glob(f"{name}-{model}-*"))
                  if (p / "study.db").exists() and not (p / "manifest.json").exists()]
    if unfinished and not fresh:
        print(f"resuming {unfinished[-1]} (--fresh starts a new run)", file=sys.stderr)
        return unfinished[-1]
    return runs / f"{name}-{model}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


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


def _run_model(comp: Competition, train: pd.DataFrame, test: pd.DataFrame | None, model: str,
               args: argparse.Namespace, storage: str) -> tuple[TuneResult, float | None]:
    result = _call_engine(pipeline.run, comp, train, test, model, args, storage)
    holdout = _holdout_score(comp, result, test)
    result.manifest.competition = comp.name
    result.manifest.config_file = str(comp.source)
    result.manifest.holdout_score = holdout
    return result, holdout


def _call_engine(engine: Callable[..., Engine], comp: Competition, train: pd.DataFrame,
                 test: pd.DataFrame | None, model: str, args: argparse.Namespace,
                 storage: str) -> Engine:
    """The pipeline's run or work on the competition's data (target transformed); a value
    the engine refuses names the config file."""
    train = train.assign(**{comp.target: transform_target(comp, train[comp.target])})
    frame_test = None if test is None else test.drop(columns=[comp.target], errors="ignore")
    try:
        return engine(train, comp.target, frame_test, _run_config(comp, model, args, storage))
    except BoostTuneError as exc:
        raise BoostTuneError(f"{comp.source}: {exc}") from None


def _run_config(comp: Competition, model: str, args: argparse.Namespace, storage: str
                ) -> RunConfig:
    """The config file's options, then the flags given; the rest keep the table's defaults
    (boosttune.config)."""
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
    given = {k: v for k, v in {**from_file, **from_flags}.items() if v is not None}
    return build_config(**given, model=model, device=args.device,
                        strict_device=args.strict_device, lr_finder=args.lr_finder,
                        progress=not args.quiet, storage=storage,
                        study_name=_study_name(args, comp, model))


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
    ids = test[id_name].to_numpy() if id_name in test.columns else np.arange(len(test))
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
    if holdout is not None:
        lines.append(f"  held-out {result.score.metric}: {holdout:.5f}")
    if result.diagnosis:
        lines.append(f"  fit: {result.diagnosis}")
    lines.append(f"  saved to {path}")
    print("\n".join(lines))


def leaderboard_rows(runs_dir: Path, competition: str | None = None) -> pd.DataFrame:
    rows = []
    for manifest_path in sorted(runs_dir.glob(f"*/{MANIFEST}")):
        manifest = read_manifest(manifest_path.parent)
        name = manifest.competition
        if name is None or (competition and name != competition):
            continue
        score = manifest.score
        rows.append({
            "competition": name, "model": manifest.model,
            "preset": manifest.preset, "metric": score["metric"],
            "cv_mean": score["mean"], "cv_std": score["std"],
            "seeds": len(score["per_seed"]), "holdout": manifest.holdout_score,
            "trials": manifest.search["n_trials"],
            "wall_s": round(manifest.wall_seconds, 1),
            "device": manifest.device, "run": manifest_path.parent.name,
            "_key": Direction.of(score["direction"]).sort_key(score["mean"]),
        })
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.sort_values(["competition", "_key"]).drop(columns=["_key"])
    return frame.reset_index(drop=True)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    if not args.runs_dir.is_dir():
        raise BoostTuneError(f"runs folder {args.runs_dir} does not exist.")
    frame = leaderboard_rows(args.runs_dir, args.competition)
    if frame.empty:
        print(f"no runs in {args.runs_dir}" + (f" for {args.competition}"
                                                if args.competition else ""))
        return 0
    print(FORMATTERS[args.format](frame))
    return 0


def _table(frame: pd.DataFrame) -> str:
    shown = frame.assign(cv=[f"{m:.5f} ± {s:.5f}" for m, s in zip(frame.cv_mean, frame.cv_std,
                                                                 strict=True)])
    shown = shown.drop(columns=["cv_mean", "cv_std"])
    columns = ["competition", "model", "preset", "metric", "cv", "seeds", "holdout", "trials",
               "wall_s", "device", "run"]
    return shown[columns].to_string(index=False, na_rep="", float_format=lambda v: f"{v:.5f}")


def _markdown(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(
        index=False)]
    return "\n".join([header, rule, *body])


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
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
