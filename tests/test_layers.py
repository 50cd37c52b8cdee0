"""The package's layers: imports flow one way only (the import-linter contract in
pyproject.toml, also run by .ci/run), and no module imports itself through others."""

from __future__ import annotations

import shutil
import subprocess
import sys

import grimp
import pytest

from tests.conftest import ROOT


def test_the_import_layers_contract_is_kept() -> None:
    command = shutil.which("lint-imports")
    if command is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    done = subprocess.run([command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_no_import_cycles() -> None:
    graph = grimp.build_graph("boosttune", exclude_type_checking_imports=True)
    cycles = _cycles({m: set(graph.find_modules_directly_imported_by(m))
                      for m in graph.modules})
    assert cycles == []


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path) -> None:
    # the contract must be able to fail: a copy of the package where core imports the API
    command = shutil.which("lint-imports")
    if command is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    copy = tmp_path / "boosttune"
    shutil.copytree(ROOT / "boosttune", copy)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    errors = copy / "core" / "errors.py"
    errors.write_text(errors.read_text() + "\n\ndef _late():\n    from boosttune import api\n"
                      "    return api\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": str(ROOT)}
    script = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**env, "HOME": str(tmp_path)})
    assert done.returncode != 0
    assert "boosttune.core.errors -> boosttune.api" in done.stdout


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found
