"""The CPUs a run may use: those its affinity mask and its cgroup quota allow (not the host's
core count), fewer where other processes keep some of them busy. OpenMP threads on cores
another process is using spin against it: LightGBM ran 200 rounds in 77 s instead of 0.09 s
with as many threads as cores while one CPU-bound process ran (issue 22)."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.1  # how long the machine is watched at the start of a run
CGROUP = Path("/sys/fs/cgroup")
PROC = Path("/proc")


@dataclass(frozen=True)
class Threads:
    """The threads per model a run chose: ``requested`` (``n_jobs``, None for the default),
    ``usable`` CPUs and ``busy`` ones (kept busy by other processes at the start; None where
    not measured)."""

    count: int
    usable: int
    busy: float | None = None
    requested: int | None = None

    @property
    def reduced(self) -> bool:
        """Fewer threads than usable CPUs because other processes keep some busy."""
        return self.requested is None and self.count < self.usable

    def record(self) -> dict[str, int | float | None]:
        busy = None if self.busy is None else round(self.busy, 2)
        return {"threads": self.count, "usable_cpus": self.usable, "busy_cpus": busy,
                "n_jobs": self.requested}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Threads:
        return cls(record["threads"], record["usable_cpus"], record["busy_cpus"],
                   record["n_jobs"])

    def describe(self) -> str:
        """One line for a warning and the CLI summary."""
        if self.requested is not None:
            return f"{self.count} threads per model (n_jobs)"
        line = f"{self.count} threads per model ({self.usable} usable CPUs"
        if self.reduced:
            line += (f", {self.busy:.1f} of them kept busy by other processes: training with "
                     f"fewer threads; set n_jobs to override")
        return line + ")"


def choose_threads(n_jobs: int | None, seconds: float = SAMPLE_SECONDS) -> Threads:
    """``n_jobs`` where given; else the usable CPUs less those other processes keep busy
    (rounded, at least one), watched for ``seconds``."""
    usable = usable_cpus()
    if n_jobs is not None:
        return Threads(n_jobs, usable, requested=n_jobs)
    busy = busy_cpus(seconds) if usable > 1 else None
    if busy is None:
        return Threads(usable, usable)
    return Threads(max(1, min(usable, math.floor(usable - busy + 0.5))), usable, busy)


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, capped by its cgroup's quota."""
    cpus = len(allowed_cpus()) or os.cpu_count() or 1
    quota = cgroup_quota()
    return cpus if quota is None else max(1, min(cpus, math.floor(quota)))


def allowed_cpus() -> set[int]:
    """The CPU numbers of this process's affinity mask (empty where the OS has none)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set()


def cgroup_quota(root: Path = CGROUP, proc: Path = PROC) -> float | None:
    """CPUs' worth of time the cgroup allows (cgroup v2 ``cpu.max``, v1 ``cfs_quota_us``);
    None when unlimited or unknown."""
    relative = _cgroup_path(proc)
    for directory in dict.fromkeys([root / relative, root]):
        try:
            quota, period = (directory / "cpu.max").read_text().split()[:2]
        except (OSError, ValueError):
            continue
        return None if quota == "max" else int(quota) / int(period)
    try:
        v1_quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        v1_period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if v1_quota <= 0 or v1_period <= 0 else v1_quota / v1_period


def _cgroup_path(proc: Path) -> str:
    """This process's cgroup v2 path, relative to the hierarchy's root ('' if unknown)."""
    try:
        lines = (proc / "self" / "cgroup").read_text().splitlines()
    except OSError:
        return ""
    return next((line.split(":", 2)[2].lstrip("/") for line in lines
                 if line.startswith("0::")), "")


def busy_cpus(seconds: float, proc: Path = PROC) -> float | None:
    """How many of this process's CPUs other processes kept busy over ``seconds``: the busy
    share of their time in ``/proc/stat``, less this process's own CPU time; None where
    ``/proc/stat`` cannot be read (outside Linux)."""
    cpus = allowed_cpus()
    before, own_before, started = _cpu_times(proc, cpus), time.process_time(), time.monotonic()
    if before is None:
        return None
    time.sleep(seconds)
    after = _cpu_times(proc, cpus)
    if after is None:
        return None
    total, idle = after[0] - before[0], after[1] - before[1]
    if total <= 0:
        return None
    n_cpus = len(cpus) or os.cpu_count() or 1
    own = (time.process_time() - own_before) / max(time.monotonic() - started, 1e-9)
    return max(0.0, n_cpus * (total - idle) / total - own)


def _cpu_times(proc: Path, cpus: set[int]) -> tuple[int, int] | None:
    """(all, idle) clock ticks so far of ``cpus`` (all CPUs when empty), from /proc/stat."""
    try:
        lines = (proc / "stat").read_text().splitlines()
    except OSError:
        return None
    total = idle = 0
    for line in lines:
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu" or (
                cpus and int(name[3:]) not in cpus):
            continue
        ticks = [int(v) for v in values[:8]]  # user nice system idle iowait irq softirq steal
        total, idle = total + sum(ticks), idle + ticks[3] + ticks[4]
    return (total, idle) if total else None


def process_age(proc: Path = PROC) -> float:
    """Seconds since this process started (its imports and data loading included), from
    ``/proc/self/stat`` and ``/proc/uptime``; 0 where they cannot be read (outside Linux)."""
    try:
        stat = (proc / "self" / "stat").read_text()
        uptime = float((proc / "uptime").read_text().split()[0])
        fields = stat.rsplit(")", 1)[-1].split()  # after the command name (it may hold spaces)
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime, in ticks
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, uptime - started)
