"""Which device trains: each backend's probe (a tiny fit, cached per process) decides, and a
GPU that cannot be used falls back to the CPU with one warning. Shared here: the Device and
Probe types, the NVIDIA and OpenCL driver checks, and the one-trial-per-GPU lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from boosttune.core.errors import BoostTuneError

REQUESTS = ("cpu", "gpu", "auto")
ICD_DIR = Path("/etc/OpenCL/vendors")
ICD_ADVICE = (
    "Register NVIDIA's OpenCL driver with the ICD loader: "
    "`mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 > "
    "/etc/OpenCL/vendors/nvidia.icd` (or point OCL_ICD_VENDORS at a folder holding that file)."
)


@dataclass(frozen=True)
class Probe:
    """What a tiny fit on the GPU found: the native params that put a backend there, or why not."""

    ok: bool
    kind: str = "cpu"  # cpu | cuda | opencl
    params: dict[str, Any] = field(default_factory=dict)
    name: str = "CPU"
    reason: str = ""


@dataclass(frozen=True)
class Device:
    """The device a run trains on, with what was asked for and why it differs."""

    requested: str
    kind: str = "cpu"
    params: dict[str, Any] = field(default_factory=dict)
    name: str = "CPU"
    reason: str = ""

    @property
    def is_gpu(self) -> bool:
        return self.kind != "cpu"

    def record(self) -> dict[str, Any]:
        return {"requested": self.requested, "used": self.kind, "name": self.name,
                "params": dict(self.params), "fallback_reason": self.reason or None}


CPU = Device("cpu")


def resolve_device(model: str, probe: Callable[[], Probe], requested: str,
                   strict: bool = False) -> Device:
    """The device for ``model``, whose ``probe`` tries a GPU fit: 'cpu', 'gpu' (falls back
    with a warning) or 'auto'. ``strict`` raises instead of falling back to the CPU.
    """
    if requested not in REQUESTS:
        raise BoostTuneError(
            f"The 'device' parameter must be one of {list(REQUESTS)}; got {requested!r} instead.")
    if requested == "cpu":
        return CPU
    found = probe()
    if found.ok:
        return Device(requested, found.kind, found.params, found.name)
    if requested == "gpu" or nvidia_gpu_present():
        message = f"{model} cannot train on the GPU: {found.reason}"
        if strict:
            raise BoostTuneError(f"{message} (strict_device=True, so no CPU fallback).")
        warnings.warn(f"{message} Training on the CPU instead; pass strict_device=True to "
                      "make this an error.", UserWarning, stacklevel=3)
    return Device(requested, reason=found.reason)


def nvidia_gpu_present() -> bool:
    """Whether the NVIDIA driver exposes a GPU on this machine (device files or nvidia-smi)."""
    return Path("/dev/nvidiactl").exists() or Path("/proc/driver/nvidia/version").exists() \
        or shutil.which("nvidia-smi") is not None


def visible_gpus() -> int:
    """NVIDIA GPUs this process may use: CUDA_VISIBLE_DEVICES where set, else the driver's."""
    found = Path("/proc/driver/nvidia/gpus")
    present = len(list(found.iterdir())) if found.is_dir() else None
    listed = _listed_gpus()
    if listed is None:
        return present or 0
    return len(listed) if present is None else min(len(listed), present)


def _listed_gpus() -> list[str] | None:
    """CUDA_VISIBLE_DEVICES's GPUs in this process's order (None where it is not set); CUDA
    stops at the first entry that names no device ("-1" hides them all)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return None
    entries = [e.strip() for e in listed.split(",") if e.strip()]
    return entries[:next((i for i, e in enumerate(entries) if e.startswith("-")), len(entries))]


def on_gpu(device: Device, index: int) -> Device:
    """``device`` pinned to GPU ``index`` (in this process's numbering), in the words of the
    library its params are for: XGBoost's ``device="cuda:i"``, LightGBM's ``gpu_device_id``,
    CatBoost's ``devices``."""
    params = dict(device.params)
    if str(params.get("device", "")).startswith(("cuda", "gpu")):
        params["device"] = f"cuda:{index}"
    elif params.get("task_type") == "GPU":
        params["devices"] = str(index)
    else:
        params["gpu_device_id"] = index
    return replace(device, params=params, name=f"GPU {index}")


def gpu_index(device: Device) -> int:
    """The GPU ``device`` trains on (0 where its params do not say one GPU by number)."""
    params = device.params
    named = str(params.get("device", params.get("gpu_device_id", params.get("devices", 0))))
    number = named.rpartition(":")[2]
    return int(number) if number.isdigit() else 0


def physical_gpu(index: int) -> str:
    """The machine's name of this process's GPU ``index`` (CUDA_VISIBLE_DEVICES renumbers
    them), so that processes shown different GPUs lock the one they really use."""
    listed = _listed_gpus() or []
    return listed[index] if index < len(listed) else str(index)


def one_per_gpu(device: Device, n_gpus: int | None = None) -> list[Device]:
    """The devices trials run on at once: one per visible GPU, each pinned to its own (a
    booster trains on one GPU, so two Kaggle T4s run two trials); the CPU: one."""
    count = visible_gpus() if n_gpus is None else n_gpus
    devices = str(device.params.get("devices", ""))
    if not device.is_gpu or count < 2 or (not devices.isdigit() and devices):
        return [device]  # the CPU, one GPU, or CatBoost given several GPUs by the user
    return [on_gpu(device, i) for i in range(count)]


@contextlib.contextmanager
def one_at_a_time(device: Device) -> Iterator[None]:
    """Hold ``device``'s GPU for one trial at a time across every process of this user on
    this machine."""
    if not device.is_gpu:
        yield
        return
    gpu = physical_gpu(gpu_index(device))
    path = Path(tempfile.gettempdir()) / f"boosttune-gpu{gpu}-{os.getuid()}.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def opencl_vendor_files() -> list[Path]:
    """The OpenCL ICD files the loader reads: one per installed platform."""
    override = os.environ.get("OCL_ICD_VENDORS")
    folder = Path(override) if override else ICD_DIR
    if folder.is_file():
        return [folder]
    return sorted(folder.glob("*.icd")) if folder.is_dir() else []


def probe_data() -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).random((256, 4))
    return X, (X[:, 0] > 0.5).astype(np.float64)


@contextlib.contextmanager
def silenced(log: io.StringIO | None = None) -> Iterator[None]:
    """Catch Python-side output (LightGBM logs through print) and library warnings."""
    sink = log if log is not None else io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield

