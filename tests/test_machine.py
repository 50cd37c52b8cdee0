"""The threads a run chooses: the CPUs it may use (affinity, cgroup quota) less those other
processes keep busy, measured against real CPU-bound processes this test starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import boosttune as bt
from boosttune.core import machine
from tests.conftest import FAST

BURN = "while True: pass"


@pytest.fixture
def every_cpu_busy() -> Iterator[int]:
    """One CPU-bound process per usable CPU, running for the test's length."""
    usable = machine.usable_cpus()
    if usable < 2:
        pytest.skip("one usable CPU: there are no threads to leave out")
    if not Path("/proc/stat").exists():
        pytest.skip("no /proc/stat (not Linux): busy CPUs are not measured here")
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(usable)]
    time.sleep(0.5)  # started and spinning
    try:
        yield usable
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def test_cpus_kept_busy_by_other_processes_are_left_out(every_cpu_busy):
    chosen = machine.choose_threads(None, seconds=0.3)
    assert chosen.usable == every_cpu_busy
    assert chosen.busy is not None and chosen.busy > every_cpu_busy - 1
    assert chosen.count == 1 and chosen.reduced
    assert "kept busy by other processes" in chosen.describe()


def test_n_jobs_is_used_as_given_without_watching_the_machine(every_cpu_busy):
    chosen = machine.choose_threads(every_cpu_busy)
    assert chosen.count == every_cpu_busy and chosen.busy is None and not chosen.reduced
    assert chosen.describe() == f"{every_cpu_busy} threads per model (n_jobs)"


def test_a_run_on_a_busy_machine_trains_with_fewer_threads_and_says_so(breast_cancer,
                                                                       every_cpu_busy):
    options = {**FAST, "n_trials": 2, "fit": bt.Fit(max_rounds=300, early_stopping_rounds=20)}
    with pytest.warns(bt.BusyMachineWarning, match="kept busy by other processes"):
        result = bt.tune(breast_cancer, "target", **options)
    threads = result.manifest.resolved["threads"]
    assert threads["threads"] == 1 and threads["usable_cpus"] == every_cpu_busy
    assert threads["busy_cpus"] > every_cpu_busy - 1 and threads["n_jobs"] is None
    assert result.manifest.resolved["n_jobs"] == 1
    assert result.manifest.config["fit"]["n_jobs"] is None  # what the user asked for
    with warnings.catch_warnings():
        warnings.simplefilter("error", bt.BusyMachineWarning)  # n_jobs given: no warning
        # two threads on two busy CPUs spin against each other (what issue 22 measured):
        # one trial of a few rounds keeps that part of the test short
        given = bt.tune(breast_cancer, "target", **{**options, "n_trials": 1, "fit": bt.Fit(
            n_jobs=2, max_rounds=20, early_stopping_rounds=5)})
    assert given.manifest.resolved["threads"] == {
        "threads": 2, "usable_cpus": every_cpu_busy, "busy_cpus": None, "n_jobs": 2}


@pytest.mark.parametrize(("files", "quota"), [
    ({"cpu.max": "150000 100000\n"}, 1.5),                            # cgroup v2, at the root
    ({"job/cpu.max": "200000 100000\n", "cpu.max": "max 100000\n"}, 2.0),  # its own cgroup
    ({"cpu.max": "max 100000\n"}, None),                              # v2, unlimited
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3.0),  # v1
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({}, None),                                                       # no cgroup files
])
def test_the_cgroup_quota_is_read_from_v1_or_v2_files(tmp_path, files, quota):
    root, proc = tmp_path / "cgroup", tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text("0::/job\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert machine.cgroup_quota(root, proc) == quota


def test_the_usable_cpus_are_those_of_the_affinity_mask():
    allowed = machine.allowed_cpus()
    if not allowed:
        pytest.skip("this OS has no CPU affinity mask")
    assert 1 <= machine.usable_cpus() <= len(allowed)


def test_process_age_reads_the_start_time_from_proc(tmp_path):
    (tmp_path / "self").mkdir()
    ticks = os.sysconf("SC_CLK_TCK")
    # the command name may hold spaces and parentheses; starttime is field 22
    fields = ["S"] + ["0"] * 18 + [str(100 * ticks)] + ["0"] * 10
    (tmp_path / "self" / "stat").write_text(f"123 (a (b) c) {' '.join(fields)}\n")
    (tmp_path / "uptime").write_text("107.5 200.0\n")
    assert machine.process_age(tmp_path) == pytest.approx(7.5)
    assert machine.process_age(tmp_path / "absent") == 0.0
    assert 0 < machine.process_age() < 24 * 3600  # this test process, on Linux


def test_a_cli_timeout_counts_from_the_commands_start():
    from dataclasses import replace

    from boosttune.cli import _on_time
    from boosttune.config import build_config

    config = build_config(timeout=60)
    now = time.perf_counter()
    assert _on_time(config, now - 10, 0).timeout == pytest.approx(50, abs=1)
    assert _on_time(config, now - 10, 1).timeout == pytest.approx(110, abs=1)  # 2nd model
    assert _on_time(config, now - 600, 0).timeout == 1.0
    untimed = replace(config, timeout=None)
    assert _on_time(untimed, now, 0) is untimed
