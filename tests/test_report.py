"""Fit diagnosis on constructed curves, learning curves of real fits, and the HTML report:
it parses, holds every plot, and renders in headless Chromium without console errors."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import boosttune as bt
from boosttune.core.diagnosis import Diagnosis, diagnose, overall
from tests.conftest import FAST

PLOTS = {"optimization_history", "parameter_importance", "top_param_slices", "learning_curves",
         "scores_over_seeds", "oof_diagnostics"}
ROUNDS = np.arange(1, 401)


def _rising(rounds: np.ndarray, scale: float) -> np.ndarray:
    return 0.8 + 0.1 * (1 - np.exp(-rounds / scale))


def test_good_fit() -> None:
    valid = _rising(ROUNDS, 60)
    train = valid + 0.01
    verdict = diagnose(ROUNDS, valid, train, 400, 10_000, greater_is_better=True,
                       tail_decline=0.01)
    assert verdict.verdict == "good fit"


def test_overfitting_valid_worsens_while_train_improves_with_a_large_gap() -> None:
    rounds = ROUNDS[:150]
    valid = _rising(rounds, 30)
    train = 0.8 + 0.2 * (1 - np.exp(-rounds / 20))  # to a perfect fit
    verdict = diagnose(rounds, valid, train, 150, 10_000, greater_is_better=True,
                       tail_decline=0.2)  # then validation fell back a fifth
    assert verdict.verdict == "overfitting" and "regularise" in verdict.reason
    small_gap = diagnose(rounds, valid, valid + 0.01, 150, 10_000, True, tail_decline=0.2)
    assert small_gap.verdict == "good fit"


def test_underfitting_best_round_at_the_ceiling() -> None:
    valid = _rising(ROUNDS, 600)
    verdict = diagnose(ROUNDS, valid, valid + 0.001, 400, 400, greater_is_better=True)
    assert verdict.verdict == "underfitting" and "raise max_rounds or the learning rate" \
        in verdict.reason


def test_unstable_few_rounds_or_jumps() -> None:
    few = diagnose(ROUNDS[:60], _rising(ROUNDS[:60], 2), None, 8, 10_000, True)
    assert few.verdict == "unstable" and "learning rate" in few.reason
    loss = 1.0 - _rising(ROUNDS, 60)  # a loss: lower is better
    loss[100] += 0.05  # one round undoes half the improvement
    jumpy = diagnose(ROUNDS[:300], loss[:300], None, 300, 10_000, greater_is_better=False)
    assert jumpy.verdict == "unstable" and "jumps" in jumpy.reason


def test_overall_takes_the_most_common_verdict() -> None:
    folds = [Diagnosis("good fit", "a"), Diagnosis("overfitting", "b"),
             Diagnosis("overfitting", "c")]
    assert overall(folds).verdict == "overfitting" and overall(folds).reason.startswith("2 of 3")


@pytest.fixture(scope="module")
def binary_result() -> bt.TuneResult:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    return bt.tune(frame, "target", **{**FAST, "n_trials": 6}, seeds=2)


def test_real_fits_get_curves_and_a_diagnosis(binary_result: bt.TuneResult) -> None:
    curves = binary_result.curves
    assert curves is not None and set(curves["fold"]) == {0, 1, 2}
    assert (curves.groupby("fold")["round"].is_monotonic_increasing).all()
    for _, part in curves.groupby("fold"):
        assert part["round"].iloc[-1] == part["best_round"].iloc[0]
        assert 0 <= part["tail_decline"].iloc[0] < 1
    assert binary_result.manifest.diagnosis["verdict"] in {"good fit", "overfitting",
                                                              "underfitting", "unstable"}
    assert binary_result.diagnosis


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: dict[str, bytes] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img" and (found.get("src") or "").startswith("data:image/png;base64,"):
            data = (found["src"] or "").split(",", 1)[1]
            self.images[found.get("alt") or ""] = base64.b64decode(data)


def _report_checks(folder: Path) -> _Page:
    page = _Page()
    page.feed((folder / "report.html").read_text(encoding="utf-8"))
    assert set(page.images) == PLOTS
    for name, png in page.images.items():
        assert png.startswith(b"\x89PNG") and (folder / f"{name}.png").read_bytes() == png
    return page


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_report_holds_every_plot_for_each_task(kind: str, binary_result: bt.TuneResult,
                                               iris: pd.DataFrame, diabetes: pd.DataFrame,
                                               tmp_path: Path) -> None:
    result = {"binary": lambda: binary_result,
              "multiclass": lambda: bt.tune(iris, "target", **{**FAST, "n_trials": 5}),
              "regression": lambda: bt.tune(diabetes, "target", **{**FAST, "n_trials": 5}),
              }[kind]()
    report = result.report(tmp_path / "report")
    assert not report.notes, report.notes
    _report_checks(tmp_path / "report")
    assert "<img" in report._repr_html_()  # what a notebook displays inline


def test_cli_report_from_a_saved_run(binary_result: bt.TuneResult, tmp_path: Path) -> None:
    run = binary_result.save(tmp_path / "run")
    assert (run / "study.db").exists() and (run / "curves.parquet").exists()
    done = subprocess.run([sys.executable, "-m", "boosttune", "report", str(run)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "6 plots" in done.stdout and "fit:" in done.stdout
    _report_checks(run / "report")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium_without_console_errors(
        binary_result: bt.TuneResult, tmp_path: Path) -> None:
    page = binary_result.report(tmp_path / "report").save(tmp_path / "report")
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", "--window-size=1100,2400",
         f"--screenshot={shot}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert shot.exists(), done.stderr
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] >= 2000 and pixels.std() > 0.05  # plots drawn, not a blank page


def test_schedules_shape_the_rate_per_round() -> None:
    from boosttune.core.schedules import rate

    assert rate("constant", 0.1, 500, 100) == 0.1
    assert rate("step", 0.1, 250, 100) == pytest.approx(0.025)
    assert rate("exponential", 0.1, 100, 100) == pytest.approx(0.05)
    assert rate("cosine", 0.1, 0, 100) == pytest.approx(0.1)
    assert rate("cosine", 0.1, 100, 100) == pytest.approx(0.01)
    assert rate("warmup_cosine", 0.1, 0, 100) == pytest.approx(0.01)
    assert rate("warmup_cosine", 0.1, 10, 100) == pytest.approx(0.1)


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_a_searched_schedule_trains_and_stays_out_of_params_json(
        breast_cancer: pd.DataFrame, model: str) -> None:
    constant = bt.tune(breast_cancer, "target", model=model, **FAST,
                       fixed={"learning_rate": 0.3})
    cosine = bt.tune(breast_cancer, "target", model=model, **FAST, lr_schedule="cosine",
                     fixed={"learning_rate": 0.3, "lr_decay_rounds": 20})
    assert cosine.manifest.params_used["lr_schedule"] == "cosine"
    assert "lr_schedule" not in cosine.params and "lr_decay_rounds" not in cosine.params
    # the rate falling to a tenth in 20 rounds changes the models
    assert not np.allclose(cosine.oof["pred"], constant.oof["pred"])
    searched = bt.tune(breast_cancer, "target", model=model, **FAST, lr_schedule="search")
    assert "lr_schedule" in searched.trials.columns.str.removeprefix("params_").tolist()


def test_warm_start_enqueues_earlier_best_params_first(breast_cancer: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    earlier = bt.tune(breast_cancer, "target", **FAST).save(tmp_path / "earlier")
    warm = bt.tune(breast_cancer, "target", **FAST, warm_start=earlier, seed=7)
    used = json.loads((earlier / "manifest.json").read_text())["params_used"]
    first = warm.study.trials[0].params
    assert warm.manifest.headstart["warm_start"] == 1
    assert all(first[k] == pytest.approx(used[k]) for k in first)
    with pytest.raises(bt.BoostTuneError, match="not a finished run directory"):
        bt.tune(breast_cancer, "target", **FAST, warm_start=tmp_path / "nothing")
    with pytest.raises(bt.BoostTuneError, match="warm_start enqueues trials off the grid"):
        bt.tune(breast_cancer, "target", **FAST, warm_start=earlier, sampler="grid")


def test_lr_finder_centres_the_range_on_the_rate_the_budget_allows(
        breast_cancer: pd.DataFrame) -> None:
    result = bt.tune(breast_cancer, "target", **FAST, lr_finder=True)
    found = result.manifest.headstart["lr_finder"]
    assert found["chosen"] in (0.3, 0.1, 0.03) and len(found["sweep"]) >= 1
    space = result.manifest.resolved["space"]["dimensions"]["learning_rate"]
    assert space.startswith(f"float [{found['chosen'] / 2:g}, ")
    assert all(found["chosen"] / 2 <= v <= 2 * found["chosen"]
               for v in result.trials["params_learning_rate"])
