"""What a Kaggle user installs: every hard dependency one Kaggle's image ships, at the floors CI
tests (.ci/kaggle-constraints.txt), and the offline recipe: boosttune's wheel alone in a folder,
installed with --no-index into a fresh environment on top of what the image (this one) has."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / ".ci" / "kaggle-constraints.txt"


def _pins() -> dict[str, str]:
    lines = [line.split("#")[0].strip() for line in CONSTRAINTS.read_text().splitlines()]
    return dict(line.split("==") for line in lines if line)


def _dependencies() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def test_every_hard_dependency_is_in_kaggles_image_at_the_floor_ci_tests():
    pins = _pins()
    for requirement in _dependencies():
        assert requirement.name in pins, f"{requirement.name}: not in Kaggle's image"
        (floor,) = [s.version for s in requirement.specifier if s.operator == ">="]
        assert floor == pins[requirement.name], requirement.name
    assert "cmaes" not in pins  # the image lacks it: an extra, boosttune[cmaes]


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_wheel_installs_offline_from_a_folder_holding_only_itself(tmp_path):
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, ROOT,
         cwd=tmp_path)
    assert [p.name.split("-")[0] for p in wheels.iterdir()] == ["boosttune"]
    # the fresh environment sees what the image has (this environment's packages, as plain
    # paths: their .pth files, an editable boosttune's among them, are not run) and nothing
    # else: no index, no network, only the folder
    _run(sys.executable, "-m", "venv", tmp_path / "env", cwd=tmp_path)
    python = tmp_path / "env" / "bin" / "python"
    fresh_site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])", cwd=tmp_path).strip())
    (fresh_site / "image.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PIP_INDEX_URL", "PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL")}
    _run(python, "-m", "pip", "install", "-q", "--no-index", "--find-links", wheels,
         "--no-deps", "--force-reinstall", "boosttune", cwd=tmp_path, env=env)
    # every requirement of the installed wheel is met by the image: pip check says so
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True,
                           env=env, timeout=300)
    assert not [line for line in check.stdout.splitlines() if line.startswith("boosttune ")]
    used = _run(python, "-c", "import boosttune as bt, sklearn.datasets as d; "
                "r = bt.tune(d.load_breast_cancer(as_frame=True).frame, 'target', n_trials=1, "
                "cv=3, progress=False); print(bt.__file__, r.manifest.n_complete)",
                cwd=tmp_path, env=env)
    where, complete = used.split()
    assert Path(where).is_relative_to(tmp_path / "env") and complete == "1"
