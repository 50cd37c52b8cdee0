"""Device choice: real probe fits, the CPU fallback with its warning, strict mode, GPU presets.

Where no GPU exists (CI) the probes fail for real and the fallback path is what runs. The tests
marked ``gpu`` need an NVIDIA GPU and skip, saying so, where there is none.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import boosttune as bt
from boosttune.backends import device as dev
from boosttune.backends import lightgbm as lgb_backend
from boosttune.backends import preset
from boosttune.backends import xgboost as xgb_backend
from boosttune.backends.lightgbm import for_device
from boosttune.core.errors import BoostTuneError
from tests.conftest import FAST

HAS_GPU = dev.nvidia_gpu_present()
needs_no_gpu = pytest.mark.skipif(HAS_GPU, reason="a GPU is present: these cover the fallback")
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="no NVIDIA GPU on this machine")


@needs_no_gpu
def test_xgboost_probe_fails_for_real_without_a_gpu_and_is_cached() -> None:
    probe = xgb_backend.probe_xgboost()
    assert not probe.ok and probe.kind == "cpu"
    assert "CUDA" in probe.reason
    hits = xgb_backend.probe_xgboost.cache_info().hits
    assert xgb_backend.probe_xgboost() is probe
    assert xgb_backend.probe_xgboost.cache_info().hits == hits + 1


@needs_no_gpu
def test_lightgbm_probe_names_why_neither_cuda_nor_opencl_works() -> None:
    probe = lgb_backend.probe_lightgbm()
    assert not probe.ok
    assert "device_type='cuda' is unavailable" in probe.reason
    assert "OpenCL" in probe.reason


@needs_no_gpu
@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_gpu_request_falls_back_to_cpu_with_one_warning_and_the_cpu_result(
        breast_cancer: pd.DataFrame, model: str) -> None:
    cpu = bt.tune(breast_cancer, "target", model=model, **FAST)
    with pytest.warns(UserWarning, match="cannot train on the GPU") as caught:
        gpu = bt.tune(breast_cancer, "target", model=model, device="gpu", **FAST)
    assert len([w for w in caught if "GPU" in str(w.message)]) == 1
    assert "Training on the CPU instead" in str(caught[0].message)
    assert gpu.manifest.device == "cpu"
    detail = gpu.manifest.device_detail
    assert detail["requested"] == "gpu" and detail["used"] == "cpu"
    assert detail["fallback_reason"]
    np.testing.assert_array_equal(gpu.oof["pred"], cpu.oof["pred"])
    assert "device" not in gpu.params and "device_type" not in gpu.params


@needs_no_gpu
def test_auto_picks_the_cpu_silently_where_no_gpu_exists(breast_cancer: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        result = bt.tune(breast_cancer, "target", model="xgboost", device="auto", **FAST)
    assert result.manifest.device == "cpu"
    assert result.manifest.device_detail["requested"] == "auto"


@needs_no_gpu
def test_strict_device_raises_before_training_and_names_the_fix(
        breast_cancer: pd.DataFrame) -> None:
    with pytest.raises(BoostTuneError, match="strict_device=True, so no CPU fallback"):
        bt.tune(breast_cancer, "target", model="lightgbm", device="gpu", strict_device=True,
                **FAST)


def test_bad_device_name_is_a_clear_error(breast_cancer: pd.DataFrame) -> None:
    with pytest.raises(BoostTuneError, match="'device' parameter must be one of"):
        bt.tune(breast_cancer, "target", device="cuda:0", **FAST)


def test_missing_nvidia_icd_gets_the_registration_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dev, "nvidia_gpu_present", lambda: True)
    reason = lgb_backend._lightgbm_reason("not enabled in this build",
                                  ["pthread-Intel(R) Xeon(R) (The pocl project)"])
    assert "not NVIDIA's" in reason and "pocl" in reason
    assert "/etc/OpenCL/vendors/nvidia.icd" in reason and "libnvidia-opencl.so.1" in reason


def test_icd_files_come_from_ocl_icd_vendors(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    (tmp_path / "pocl.icd").write_text("libpocl.so.2\n")
    (tmp_path / "nvidia.icd").write_text("libnvidia-opencl.so.1\n")
    (tmp_path / "readme.txt").write_text("not an icd\n")
    monkeypatch.setenv("OCL_ICD_VENDORS", str(tmp_path))
    assert [p.name for p in dev.opencl_vendor_files()] == ["nvidia.icd", "pocl.icd"]


def test_opencl_preset_bins_63_unless_the_user_fixed_max_bin() -> None:
    opencl = dev.Device("gpu", "opencl", {"device_type": "gpu", "gpu_platform_id": 1})
    space = preset("lightgbm", "fast")
    assert for_device(space, opencl).fixed["max_bin"] == 63
    assert for_device(space.fix(max_bin=127), opencl).fixed["max_bin"] == 127
    assert "max_bin" not in for_device(space, dev.CPU).fixed


def test_gpu_trials_hold_a_machine_wide_lock_one_at_a_time() -> None:
    gpu = dev.Device("gpu", "cuda", {"device": "cuda"})
    events: list[str] = []
    first_in = threading.Event()

    def trial(name: str, hold: float) -> None:
        with dev.one_at_a_time(gpu):
            events.append(f"{name} start")
            first_in.set()
            time.sleep(hold)
            events.append(f"{name} end")

    a = threading.Thread(target=trial, args=("a", 0.3))
    a.start()
    first_in.wait()
    b = threading.Thread(target=trial, args=("b", 0.0))
    b.start()
    a.join()
    b.join()
    assert events == ["a start", "a end", "b start", "b end"]


@needs_no_gpu
def test_cli_gpu_falls_back_and_strict_exits_2(tmp_path: Path) -> None:
    config = Path(__file__).resolve().parents[1] / "competitions" / "breast_cancer.toml"
    base = [sys.executable, "-m", "boosttune", "run", str(config), "--models", "xgboost",
            "--trials", "2", "--seeds", "1", "--out", str(tmp_path / "runs"), "--quiet"]
    ran = subprocess.run([*base, "--device", "gpu"], capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert "cannot train on the GPU" in ran.stderr and "device CPU" in ran.stdout
    strict = subprocess.run([*base, "--device", "gpu", "--strict-device", "--out",
                             str(tmp_path / "strict")], capture_output=True, text=True,
                            timeout=300)
    assert strict.returncode == 2
    assert "strict_device=True" in strict.stderr and "Traceback" not in strict.stderr
    assert not (tmp_path / "strict").exists() or not any((tmp_path / "strict").rglob("*.json"))


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_gpu_trains_on_the_gpu_and_agrees_with_the_cpu(breast_cancer: pd.DataFrame,
                                                       model: str) -> None:
    cpu = bt.tune(breast_cancer, "target", model=model, **FAST)
    gpu = bt.tune(breast_cancer, "target", model=model, device="gpu", strict_device=True,
                  **FAST)
    assert gpu.manifest.device in ("cuda", "opencl")
    assert abs(gpu.score.mean - cpu.score.mean) < 0.01


@pytest.mark.parametrize(("listed", "count"), [("0,1", 2), ("", 0), ("1,-1,2", 1),
                                               ("GPU-aa11, GPU-bb22", 2), ("3", 1)])
def test_visible_gpus_follow_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch, listed: str,
                                                  count: int) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", listed)
    assert dev.visible_gpus() == count


def test_trials_run_one_per_gpu_each_pinned_in_its_librarys_words() -> None:
    cases = {"xgboost": ({"device": "cuda"}, "device", ["cuda:0", "cuda:1"]),
             "lightgbm": ({"device_type": "gpu", "gpu_device_id": 0}, "gpu_device_id", [0, 1]),
             "catboost": ({"task_type": "GPU"}, "devices", ["0", "1"])}
    for model, (params, key, wanted) in cases.items():
        slots = dev.one_per_gpu(dev.Device("gpu", "cuda", params), n_gpus=2)
        assert [s.params[key] for s in slots] == wanted, model
        assert [dev.gpu_index(s) for s in slots] == [0, 1]
    assert dev.one_per_gpu(dev.CPU, n_gpus=2) == [dev.CPU]
    one = dev.Device("gpu", "cuda", {"device": "cuda"})
    assert dev.one_per_gpu(one, n_gpus=1) == [one]  # one GPU: the probe's device as it is


def test_the_lock_is_per_gpu_named_as_the_machine_numbers_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert dev.physical_gpu(1) == "3"
    first, second = dev.one_per_gpu(dev.Device("gpu", "cuda", {"device": "cuda"}))
    same = dev.Device("gpu", "cuda", {"device": "cuda:0"})  # another process on GPU 0

    def overlaps(other: dev.Device) -> bool:
        """Whether ``other`` gets its lock while ``first`` holds its own."""
        inside, releasing = threading.Event(), threading.Event()

        def hold_first() -> None:
            with dev.one_at_a_time(first):
                inside.set()
                time.sleep(0.5)
                releasing.set()  # still holding: set before the lock is let go

        holder = threading.Thread(target=hold_first)
        holder.start()
        assert inside.wait(timeout=30)
        with dev.one_at_a_time(other):
            got_it_while_held = not releasing.is_set()
        holder.join(timeout=30)
        return got_it_while_held

    assert overlaps(second)  # another GPU: it does not wait for the first
    assert not overlaps(same)  # the same GPU: it waits


def test_a_multi_gpu_search_gives_each_trial_at_once_a_backend_on_its_own_gpu(
        breast_cancer: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    from boosttune.config import build_config
    from boosttune.pipeline.prepare import prepare
    from boosttune.search.budget import Budget
    from boosttune.search.objective import Objective, parallel_trials

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    gpu = dev.Device("gpu", "cuda", {"device": "cuda"})
    prepared = prepare(breast_cancer, "target", None,
                       build_config(model="xgboost", device=gpu), 0.0)
    objective = Objective(prepared.backend, prepared.space, 0, Budget(None, 0.0), device=gpu)
    assert parallel_trials(objective, allowed=True) == 1  # the first trial runs alone
    objective.best_run = object()  # type: ignore[assignment]  (any finished trial)
    assert parallel_trials(objective, allowed=True) == 2
    assert parallel_trials(objective, allowed=False) == 1
    objective.spare_backends(2)
    taken = [objective._take_backend(), objective._take_backend()]
    assert [objective.device_of(b).params["device"] for b in taken] == ["cuda:0", "cuda:1"]
    assert taken[1].settings.device_params == {"device": "cuda:1"}
    assert taken[0].settings.device_params == {"device": "cuda:0"}  # pinned too
