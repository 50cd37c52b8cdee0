"""The run report: one self-contained HTML page (PNG plots embedded) plus the PNGs.

Plots: optimization history, parameter importance (fANOVA and PED-ANOVA), slices of the top
params, train-vs-valid learning curves of the final folds, scores over seeds and folds, and
OOF diagnostics (calibration for binary, confusion for multiclass, residuals for regression).
In a notebook, ``result.report()`` displays the same page inline.
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import optuna
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import confusion_matrix

from boosttune.core.diagnosis import shift_text
from boosttune.core.manifest import Manifest
from boosttune.core.metrics import Direction
from boosttune.core.predictions import class_of_column, is_pred_column
from boosttune.core.results import CVScore
from boosttune.io.atomic import to_json, write_bytes, write_text


class RunView(Protocol):
    """What the report reads of a run (a TuneResult)."""

    model: str
    params: dict[str, Any]
    score: CVScore
    oof: pd.DataFrame
    trials: pd.DataFrame
    manifest: Manifest
    study: optuna.Study | None
    curves: pd.DataFrame | None
    members: list[dict[str, Any]]  # an ensemble's: model, trial, weight, cv_score, params

    @property
    def diagnosis(self) -> str | None: ...

TOP_PARAMS = 4


@dataclass
class Report:
    """Figures by name, and the page that holds them."""

    title: str
    summary: list[tuple[str, str]]
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # why a plot is missing
    _pngs: dict[str, bytes] = field(default_factory=dict, repr=False)

    def pngs(self) -> dict[str, bytes]:
        """Each figure as PNG bytes, rendered once for the page and the files alike."""
        for name, fig in self.figures.items():
            if name not in self._pngs:
                self._pngs[name] = _png(fig)
        return self._pngs

    def html(self) -> str:
        rows = _rows(self.summary)
        sections = [f"<section><h2>{html.escape(name.replace('_', ' '))}</h2>"
                    f'<img alt="{html.escape(name)}" src="data:image/png;base64,'
                    f'{base64.b64encode(png).decode()}"></section>'
                    for name, png in self.pngs().items()]
        missing = "".join(f"<li>{html.escape(name.replace('_', ' '))}: {html.escape(why)}</li>"
                          for name, why in self.notes.items())
        return (
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1><table>{rows}</table>{''.join(sections)}"
            + (f"<h2>not shown</h2><ul>{missing}</ul>" if missing else "")
            + "</body></html>"
        )

    def _repr_html_(self) -> str:
        return self.html()

    def save(self, folder: Path) -> Path:
        """Write report.html and one PNG per plot into ``folder``; returns the page's path."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, png in self.pngs().items():
            write_bytes(folder / f"{name}.png", png)
        write_text(folder / "report.html", self.html())
        return folder / "report.html"


STYLE = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
         "img{max-width:100%}th{text-align:left;padding-right:1em;vertical-align:top}"
         "td{font-family:monospace;white-space:pre-wrap}")


def summary_rows(result: RunView) -> list[tuple[str, str]]:
    """The run in words: model, task, scores, diagnosis, trials, params, shift check."""
    manifest = result.manifest
    return [("model", result.model), ("task", manifest.task),
            ("score", str(result.score)),
            ("diagnosis", result.diagnosis or "no curves in this run"),
            ("trials", f"{manifest.n_complete} complete, {manifest.n_pruned} pruned"),
            ("params", to_json(result.params).strip()), *_ensemble_rows(result),
            *[("shift check", shift_text(found))
              for found in [manifest.evaluation.get("shift")] if found]]


def summary_html(result: RunView) -> str:
    """The run's summary as an HTML table, for a notebook's view of a result."""
    return (f"<div><strong>boosttune {html.escape(result.model)}</strong><table>"
            f"{_rows(summary_rows(result))}"
            "</table><p><code>result.report()</code>: the plots; <code>result.save(path)"
            "</code>: the run directory.</p></div>")


def _rows(summary: list[tuple[str, str]]) -> str:
    """The summary's (name, text) pairs as HTML table rows, laid out by the page's style or,
    in a notebook, by their own."""
    return "".join(f"<tr><th style='text-align:left;vertical-align:top'>{html.escape(k)}</th>"
                   f"<td style='text-align:left;white-space:pre-wrap;font-family:monospace'>"
                   f"{html.escape(v)}</td></tr>" for k, v in summary)


def build_report(result: RunView) -> Report:
    manifest = result.manifest
    report = Report(f"boosttune report: {manifest.competition or result.model}",
                    summary_rows(result))
    importances = cache(lambda: _importance_table(_require_study(result)))  # fANOVA fits once
    plots: dict[str, Callable[[], Figure]] = {
        "optimization_history": lambda: _history(result.trials, result.score.direction),
        "parameter_importance": lambda: _importance(importances()),
        "top_param_slices": lambda: _slices(_require_study(result), importances()),
        "learning_curves": lambda: _curves(_require(result.curves, "curves"), result),
        "scores_over_seeds": lambda: _seeds(result.score.table, result.score.metric),
        "oof_diagnostics": lambda: _oof(result.oof, manifest.task),
    }
    for name, plot in plots.items():
        try:
            report.figures[name] = plot()
        except _Unavailable as why:
            report.notes[name] = str(why)
    return report


def _ensemble_rows(result: RunView) -> list[tuple[str, str]]:
    """An ensemble's two CV scores, its best single model and its members with weights."""
    found = result.manifest.evaluation.get("ensemble")
    if not found or not result.members:
        return []
    best = found["best_single"]
    members = "\n".join(f"{m['weight']:.3f}  {m['model']} trial {m['trial']} (CV "
                        f"{m['cv_score']:.5f})" for m in result.members)
    return [("ensemble", f"honest CV {found['honest_score']:.5f} (weights chosen without the "
                         f"fold scored); on the OOF it was selected on "
                         f"{found['oof_score']:.5f}; best single model {best['model']} "
                         f"{best['score']:.5f}"),
            ("members (weight)", members)]


class _Unavailable(Exception):
    """A plot this run has no data for."""


def _require(value: Any, what: str) -> Any:
    if value is None:
        raise _Unavailable(f"this run has no {what}")
    return value


def _require_study(result: RunView) -> optuna.Study:
    study = _require(result.study, "study (study.db)")
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 3 or not study.best_params:
        raise _Unavailable("needs at least 3 complete trials with searched params")
    return study


def _history(trials: pd.DataFrame, direction: str) -> Figure:
    """CV score per trial in the order they ran (the low-fidelity rungs' first), one colour
    per fidelity; the best so far among the full-data trials."""
    frame = trials.reset_index(drop=True)
    if "fidelity" not in frame:
        frame = frame.assign(fidelity=1.0)
    done = frame[frame["state"] == "COMPLETE"]
    fig, ax = _figure(8, 4)
    for share, rows in done.groupby("fidelity", sort=True):
        label = "trial" if share == 1.0 else f"trial on {float(share):.1%} of the rows"
        ax.scatter(rows.index, rows["value"], s=14, label=label)
    full = done[done["fidelity"] == 1.0]
    best = full["value"].cummax() if Direction.of(direction).maximize else full["value"].cummin()
    ax.step(full.index, best, where="post", color="C3", label="best so far")
    ax.set(xlabel="trial (in the order run)", ylabel="CV score", title="Optimization history")
    ax.legend()
    return fig


def _importance_table(study: optuna.Study) -> pd.DataFrame:
    """Importance per param by fANOVA and PED-ANOVA, most important first by fANOVA."""
    evaluators = {"fANOVA": optuna.importance.FanovaImportanceEvaluator(seed=0),
                  "PED-ANOVA": optuna.importance.PedAnovaImportanceEvaluator()}
    frame = pd.DataFrame({name: _importances(study, evaluator)
                          for name, evaluator in evaluators.items()}).fillna(0.0)
    return frame.sort_values("fANOVA", ascending=False)


def _importance(table: pd.DataFrame) -> Figure:
    frame = table.iloc[::-1]  # barh draws the first row at the bottom
    fig, ax = _figure(8, 0.5 * len(frame) + 1.5)
    frame.plot.barh(ax=ax)
    ax.set(xlabel="importance (share)", title="Parameter importance")
    fig.tight_layout()
    return fig


def _importances(study: optuna.Study, evaluator: Any) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PED-ANOVA is experimental in name
        return optuna.importance.get_param_importances(study, evaluator=evaluator)


def _slices(study: optuna.Study, importances: pd.DataFrame) -> Figure:
    top = list(importances.index[:TOP_PARAMS])
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    fig, axes = _figure(4 * len(top), 3.5, len(top), squeeze=False)
    for ax, name in zip(axes[0], top, strict=True):
        shown = [t for t in complete if name in t.params]
        values = [t.params[name] for t in shown]
        ax.scatter(values if not isinstance(values[0], str) else [str(v) for v in values],
                   [t.value for t in shown], c=[t.number for t in shown], cmap="viridis", s=14)
        distribution = shown[0].distributions[name]
        if getattr(distribution, "log", False):
            ax.set_xscale("log")
        ax.set(xlabel=name, ylabel="CV score")
    fig.suptitle("Top parameters (colour: trial number)")
    fig.tight_layout()
    return fig


def _curves(curves: pd.DataFrame, result: RunView) -> Figure:
    folds = sorted(curves["fold"].unique())
    fig, axes = _figure(4 * len(folds), 3.5, len(folds), squeeze=False, sharey=True)
    for ax, fold in zip(axes[0], folds, strict=True):
        part = curves[curves["fold"] == fold]
        ax.plot(part["round"], part["train"], label="train")
        ax.plot(part["round"], part["valid"], label="valid")
        ax.axvline(int(part["best_round"].iloc[0]), color="grey", linestyle=":")
        ax.set(title=f"fold {fold}", xlabel="round", ylabel=result.score.metric)
    axes[0][0].legend()
    fig.suptitle(f"Learning curves ({result.diagnosis})" if result.diagnosis else
                 "Learning curves", fontsize=9)
    fig.tight_layout()
    return fig


def _seeds(table: pd.DataFrame, metric: str) -> Figure:
    fig, ax = _figure(6, 3.5)
    for seed, part in table.groupby("seed"):
        ax.scatter(np.full(len(part), seed), part["score"], alpha=0.5, s=16)
        ax.scatter([seed], [part["score"].mean()], marker="_", s=600, color="black")
    ax.set(xlabel="seed", ylabel=metric, title="Fold scores per seed (bar: seed mean)")
    return fig


def _oof(oof: pd.DataFrame, task: str) -> Figure:
    fig, ax = _figure(5.5, 4.5)
    scored = oof.dropna(subset=[c for c in oof.columns if is_pred_column(str(c))])
    if task == "binary":
        positive = sorted(scored["target"].unique())[-1]
        truth, pred = (scored["target"] == positive).astype(int), scored["pred"]
        observed, predicted = calibration_curve(truth, pred, n_bins=10, strategy="quantile")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.plot(predicted, observed, marker="o")
        ax.set(xlabel="mean predicted probability", ylabel="observed frequency",
               title="OOF calibration")
    elif task == "multiclass":
        columns = [c for c in scored.columns if is_pred_column(str(c))]
        labels = [class_of_column(c) for c in columns]
        chosen = np.asarray(labels)[scored[columns].to_numpy().argmax(axis=1)]
        matrix = confusion_matrix(scored["target"].astype(str), chosen, labels=labels)
        ax.imshow(matrix, cmap="Blues")
        ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xlabel="predicted",
               ylabel="true", title="OOF confusion")
        ax.set_xticklabels(labels, rotation=90)
        ax.set_yticklabels(labels)
    else:
        ax.scatter(scored["pred"], scored["target"] - scored["pred"], s=4, alpha=0.3)
        ax.axhline(0, color="grey", linestyle=":")
        ax.set(xlabel="OOF prediction", ylabel="residual (target - prediction)",
               title="OOF residuals")
    fig.tight_layout()
    return fig


def _figure(width: float, height: float, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """A Figure outside pyplot: no global state, no backend switch in the user's notebook."""
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(1, ncols, **kwargs)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
