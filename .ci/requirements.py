"""Print pyproject.toml's hard dependencies, one per argument, for pip (no install of the
project itself: CI's Kaggle environment tests the source tree against them)."""

import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
print(" ".join(project["dependencies"]))
