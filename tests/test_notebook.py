"""The Kaggle quick-start notebook, executed in a real Jupyter kernel, and its outputs checked:
a progress display, the result and the report as inline HTML, the submission file."""

from __future__ import annotations

import os
from pathlib import Path

import nbclient
import nbformat
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "kaggle_quickstart.ipynb"
WIDGET = "application/vnd.jupyter.widget-view+json"


def test_the_kaggle_quickstart_notebook_runs_and_shows_its_results(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH",
                                                                                  "")]))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    _, tuned, _, report, _ = [cell.outputs for cell in notebook.cells
                              if cell.cell_type == "code"]
    streams = "".join(o.get("text", "") for o in tuned if o.output_type == "stream")
    assert any(WIDGET in o.get("data", {}) for o in tuned), "no progress widget"
    assert "IProgress" not in streams and "A new study created" not in streams
    shown = next(o for o in tuned if o.output_type == "execute_result")["data"]["text/html"]
    assert "delivered predictor est." in shown and "result.report()" in shown
    page = next(o for o in report if o.output_type == "execute_result")["data"]["text/html"]
    assert "boosttune report" in page and page.count("data:image/png;base64,") >= 3
    submission = pd.read_csv(tmp_path / "submission.csv")
    assert list(submission.columns) == ["id", "target"]
    assert list(submission["id"]) == list(range(450, 569))
    assert submission["target"].between(0, 1).all()
