"""A timed run on a quiet machine and on one kept busy by other processes; kept apart from the
test run.

    python tests/benchmarks/bench_busy.py [--competition diamonds] [--timeout 60]
        [--loads 0,1,2] [--threads default,all] [--data-dir DIR]

For each load (0, 1 or 2 CPU-bound processes, started by this script before the run and
killed after it), runs ``boosttune run competitions/<competition>.toml --models lightgbm``
with the threads boosttune chooses (``default``) and, side by side, with every usable CPU
(``all``: ``--threads N``, what the default was before it watched the machine). Prints wall
time, threads, trials and the held-out score per row; a run is killed at 4x the timeout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from boosttune.core.machine import usable_cpus  # noqa: E402

BURN = "while True: pass"


def run_once(competition: str, timeout: float, threads: str, data_dir: Path) -> dict:
    flags = [] if threads == "default" else ["--threads", str(usable_cpus())]
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "boosttune", "run",
                   str(ROOT / "competitions" / f"{competition}.toml"), "--models", "lightgbm",
                   "--timeout", str(timeout), "--quiet", "--out", out,
                   "--data-dir", str(data_dir), *flags]
        started = time.perf_counter()
        try:
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT,
                           timeout=4 * timeout)
        except subprocess.TimeoutExpired:
            return {"wall_s": round(time.perf_counter() - started, 1), "killed": True}
        wall = time.perf_counter() - started
        manifest = json.loads(next(Path(out).glob("*/manifest.json")).read_text())
    chosen = manifest["resolved"]["threads"]
    return {"wall_s": round(wall, 1), "killed": False, "threads": chosen["threads"],
            "busy_cpus": chosen["busy_cpus"], "complete": manifest["search"]["n_complete"],
            "pruned": manifest["search"]["n_pruned"], "holdout": manifest["holdout_score"]}


def with_load(n_busy: int, step: Callable[[], dict]) -> dict:
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(n_busy)]
    try:
        time.sleep(1.0 if n_busy else 0.0)
        return step()
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--competition", default="diamonds")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--loads", default="0,1,2")
    parser.add_argument("--threads", default="default,all")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--out", type=Path, help="also append the rows to this .jsonl")
    args = parser.parse_args()
    print(f"{args.competition}, --timeout {args.timeout:g}, {usable_cpus()} usable CPUs")
    print(f"{'busy procs':>10} {'threads':>8} {'chosen':>6} {'busy':>5} {'wall s':>7} "
          f"{'/budget':>7} {'complete':>8} {'pruned':>6} {'held-out':>10}")
    for n_busy in [int(n) for n in args.loads.split(",")]:
        for threads in args.threads.split(","):
            row = with_load(n_busy, partial(run_once, args.competition, args.timeout,
                                            threads, args.data_dir))
            row |= {"busy_procs": n_busy, "setting": threads, "timeout": args.timeout,
                    "competition": args.competition}
            if args.out:
                with args.out.open("a") as sink:
                    sink.write(json.dumps(row) + "\n")
            if row["killed"]:
                print(f"{n_busy:>10} {threads:>8} killed at {row['wall_s']:.0f} s")
                continue
            print(f"{n_busy:>10} {threads:>8} {row['threads']:>6} "
                  f"{row['busy_cpus'] if row['busy_cpus'] is not None else '-':>5} "
                  f"{row['wall_s']:>7.1f} {row['wall_s'] / args.timeout:>7.2f} "
                  f"{row['complete']:>8} {row['pruned']:>6} {row['holdout']:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
