"""Which device trains: a tiny probe fit per backend, cached per process.

XGBoost trains on the GPU with ``device="cuda"``. LightGBM uses ``device_type="cuda"`` where the
installed build has it, else OpenCL (``device_type="gpu"``) on the NVIDIA platform, found by the
vendor name LightGBM reports, never by index 0: another platform (PoCL) runs on the CPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from boosttune.errors import BoostTuneError

REQUESTS = ("cpu", "gpu", "auto")
ICD_DIR = Path("/etc/OpenCL/vendors")
ICD_ADVICE = (
    "Register NVIDIA's OpenCL driver with the ICD loader: "
    "`mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 > "
    "/etc/OpenCL/vendors/nvidia.icd` (or point OCL_ICD_VENDORS at a folder holding that file)."
)
_DEVICE_LINE = re.compile(r"Using GPU Device: (?P<name>.*), Vendor: (?P<vendor>.*)")


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


def resolve_device(model: str, requested: str, strict: bool = False) -> Device:
    """The device for ``model``: 'cpu', 'gpu' (falls back with a warning) or 'auto'.

    ``strict`` raises instead of falling back to the CPU.
    """
    if requested not in REQUESTS:
        raise BoostTuneError(
            f"The 'device' parameter must be one of {list(REQUESTS)}; got {requested!r} instead.")
    if requested == "cpu":
        return CPU
    probe = PROBES[model]()
    if probe.ok:
        return Device(requested, probe.kind, probe.params, probe.name)
    if requested == "gpu" or nvidia_gpu_present():
        message = f"{model} cannot train on the GPU: {probe.reason}"
        if strict:
            raise BoostTuneError(f"{message} (strict_device=True, so no CPU fallback).")
        warnings.warn(f"{message} Training on the CPU instead; pass strict_device=True to "
                      "make this an error.", UserWarning, stacklevel=3)
    return Device(requested, reason=probe.reason)


def nvidia_gpu_present() -> bool:
    """Whether the NVIDIA driver exposes a GPU on this machine (device files or nvidia-smi)."""
    return Path("/dev/nvidiactl").exists() or Path("/proc/driver/nvidia/version").exists() \
        or shutil.which("nvidia-smi") is not None


@contextlib.contextmanager
def one_at_a_time(device: Device) -> Iterator[None]:
    """Hold the GPU for one trial at a time across every process of this user on this machine."""
    if not device.is_gpu:
        yield
        return
    gpu = str(device.params.get("gpu_device_id", 0))
    path = Path(tempfile.gettempdir()) / f"boosttune-gpu{gpu}-{os.getuid()}.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@cache
def probe_xgboost() -> Probe:
    """Train 2 rounds with device='cuda'; XGBoost silently moves to the CPU without a GPU."""
    import xgboost as xgb

    if not xgb.build_info().get("USE_CUDA", False):
        return Probe(False, reason="the installed XGBoost was built without CUDA; install the "
                                   "PyPI wheel `xgboost` (not `xgboost-cpu`).")
    X, y = _probe_data()
    try:
        with _silenced():
            booster = xgb.train({"device": "cuda", "tree_method": "hist", "verbosity": 0},
                                xgb.DMatrix(X, label=y), num_boost_round=2)
    except xgb.core.XGBoostError as exc:
        return Probe(False, reason=f"a probe fit failed: {_first_line(exc)}")
    used = json.loads(booster.save_config())["learner"]["generic_param"]["device"]
    if not used.startswith("cuda"):
        return Probe(False, reason="XGBoost found no visible CUDA GPU (check nvidia-smi and "
                                   "CUDA_VISIBLE_DEVICES).")
    return Probe(True, "cuda", {"device": "cuda"}, "CUDA GPU 0")


@cache
def probe_lightgbm() -> Probe:
    """CUDA where the build has it, else OpenCL on the NVIDIA platform, else why neither."""
    ok, log = _lightgbm_fit({"device_type": "cuda"})
    if ok:
        return Probe(True, "cuda", {"device_type": "cuda"}, "CUDA GPU 0")
    cuda_reason = _first_line(log)
    seen: list[str] = []
    for platform in range(max(1, len(opencl_vendor_files()))):
        params = {"device_type": "gpu", "gpu_platform_id": platform, "gpu_device_id": 0,
                  "max_bin": 63}
        ok, log = _lightgbm_fit(params)
        found = _DEVICE_LINE.search(log)
        if not ok or found is None:
            continue
        name, vendor = found["name"].strip(), found["vendor"].strip()
        if "nvidia" in vendor.lower():
            del params["max_bin"]
            return Probe(True, "opencl", params, f"{name} (OpenCL platform {platform})")
        seen.append(f"{name} ({vendor})")
    return Probe(False, reason=_lightgbm_reason(cuda_reason, seen))


PROBES = {"lightgbm": probe_lightgbm, "xgboost": probe_xgboost}


def opencl_vendor_files() -> list[Path]:
    """The OpenCL ICD files the loader reads: one per installed platform."""
    override = os.environ.get("OCL_ICD_VENDORS")
    folder = Path(override) if override else ICD_DIR
    if folder.is_file():
        return [folder]
    return sorted(folder.glob("*.icd")) if folder.is_dir() else []


def _lightgbm_reason(cuda_reason: str, other_platforms: list[str]) -> str:
    reason = f"device_type='cuda' is unavailable ({cuda_reason})"
    if other_platforms:
        reason += (f"; the OpenCL platforms found are not NVIDIA's ({', '.join(other_platforms)})"
                   ", and OpenCL there would run on the CPU, many times slower")
    else:
        reason += "; no OpenCL GPU platform was found"
    if nvidia_gpu_present():
        reason += f". An NVIDIA GPU is present: {ICD_ADVICE}"
    return reason


def _lightgbm_fit(params: dict[str, Any]) -> tuple[bool, str]:
    """A 2-round LightGBM fit; (whether it ran, what LightGBM logged)."""
    import lightgbm as lgb

    X, y = _probe_data()
    log = io.StringIO()
    try:
        with _silenced(log):
            lgb.train({**params, "objective": "binary", "verbosity": 1, "min_data_in_leaf": 1,
                       "num_leaves": 4}, lgb.Dataset(X, label=y), num_boost_round=2)
    except lgb.basic.LightGBMError as exc:
        return False, f"{exc}\n{log.getvalue()}"
    return True, log.getvalue()


def _probe_data() -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).random((256, 4))
    return X, (X[:, 0] > 0.5).astype(np.float64)


@contextlib.contextmanager
def _silenced(log: io.StringIO | None = None) -> Iterator[None]:
    """Catch Python-side output (LightGBM logs through print) and library warnings."""
    sink = log if log is not None else io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _first_line(text: object) -> str:
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[0].strip() if lines else "no reason given"
