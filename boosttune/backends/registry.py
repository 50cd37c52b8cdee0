"""Backend registration: one ``BackendSpec`` per library says everything the engine needs of it.

A backend is one module plus one ``register_backend(spec)`` call, from inside the package or
outside it (a test registers one built on sklearn's HistGradientBoosting).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from boosttune.backends.base import Backend, FitSettings
from boosttune.backends.device import Device, Probe
from boosttune.core.errors import BoostTuneError
from boosttune.core.folds import Folds
from boosttune.core.metrics import Metric
from boosttune.core.results import Predict
from boosttune.core.space import SearchSpace
from boosttune.core.task import Task

REFITS = ("folds", "full", "blend")  # what predicts the test rows (see tune's docstring)


def _no_gpu() -> Probe:
    return Probe(False, reason="this backend has no GPU support.")


@dataclass(frozen=True)
class BackendSpec:
    """What the engine knows of one library.

    ``trainer`` fits folds; ``predict`` averages (model, rounds) members on an encoded matrix;
    ``probe`` says whether (and with which native params) it trains on a GPU; ``presets``
    maps a tier name to its search space; ``portfolio`` holds known-good first trials;
    ``native_metrics`` maps boosttune metric names to the native early-stopping metric, with
    ``fallback_metrics`` per task kind for the rest; ``native_errors`` are the exceptions the
    library raises for params it rejects; ``default_refit`` is 'folds', 'full' or 'blend';
    ``estimators`` name the library's sklearn classes ('classifier', 'regressor') that
    params.json loads into; ``adjust_space`` fits a space to the device.
    """

    name: str
    trainer: type[Backend]
    predict: Predict
    presets: Mapping[str, SearchSpace]
    fallback_metrics: Mapping[str, str]
    native_metrics: Mapping[str, str] = field(default_factory=dict)
    probe: Callable[[], Probe] = _no_gpu
    portfolio: Sequence[Mapping[str, Any]] = ()
    native_errors: tuple[type[BaseException], ...] = ()
    default_refit: str = "folds"
    estimators: Mapping[str, str] = field(default_factory=dict)
    adjust_space: Callable[[SearchSpace, Device], SearchSpace] | None = None
    advice: Mapping[str, str] = field(default_factory=dict)  # param names for the diagnosis

    def __post_init__(self) -> None:
        if self.default_refit not in REFITS:
            raise BoostTuneError(f"Backend {self.name!r}: default_refit must be one of "
                                 f"{list(REFITS)}; got {self.default_refit!r}.")
        if "default" not in self.presets:
            raise BoostTuneError(f"Backend {self.name!r} needs a 'default' preset space.")

    def native_metric(self, metric: Metric, kind: str) -> str:
        """The native metric to early-stop on: the metric's own choice for this backend, the
        backend's name for a built-in metric (for this task kind: ``"auc/multiclass"``, else
        any), else the task's log loss or RMSE."""
        return (metric.native.get(self.name) or self.native_metrics.get(f"{metric.name}/{kind}")
                or self.native_metrics.get(metric.name) or self.fallback_metrics[kind])

    def build(self, task: Task, folds: Folds, settings: FitSettings,
              dataset_params: dict[str, Any]) -> Backend:
        """A trainer on the run's task and folds."""
        return self.trainer(task, folds, settings, dataset_params,
                            native_metric=self.native_metric(task.metric, task.kind))

    def for_device(self, space: SearchSpace, device: Device) -> SearchSpace:
        return space if self.adjust_space is None else self.adjust_space(space, device)

    def preset(self, tier: str) -> SearchSpace:
        if tier not in self.presets:
            raise BoostTuneError(
                f"No preset {tier!r} for model {self.name!r}; its presets are "
                f"{list(self.presets)}.")
        return self.presets[tier]


_REGISTRY: dict[str, BackendSpec] = {}


NOT_INSTALLED: dict[str, str] = {}  # a known backend whose package is missing → how to install


def register_backend(spec: BackendSpec, *, replace: bool = False) -> BackendSpec:
    """Make ``spec.name`` a model that ``tune(model=...)`` and the CLI accept."""
    if not isinstance(spec, BackendSpec):
        raise BoostTuneError(f"register_backend takes a BackendSpec; got {type(spec).__name__}.")
    if spec.name in _REGISTRY and not replace:
        raise BoostTuneError(f"A backend named {spec.name!r} is registered already; pass "
                             "replace=True to replace it.")
    _REGISTRY[spec.name] = spec
    return spec


def unregister_backend(name: str) -> None:
    _REGISTRY.pop(name, None)


def backend_names() -> list[str]:
    return list(_REGISTRY)


def backend_spec(model: str) -> BackendSpec:
    if model not in _REGISTRY:
        raise BoostTuneError(
            f"The 'model' parameter must be one of {backend_names()}; got {model!r} instead."
        )
    return _REGISTRY[model]


def preset(model: str, tier: str = "default") -> SearchSpace:
    """The preset space of ``model`` at ``tier`` ('fast', 'default' or 'wide' for LightGBM
    and XGBoost).

    >>> print(preset("lightgbm", "fast"))  # doctest: +ELLIPSIS
    search space 'lightgbm/fast'
      learning_rate ...
    """
    return backend_spec(model).preset(tier)


def tiers() -> list[str]:
    """Every preset tier some registered backend has, in registration order."""
    return list(dict.fromkeys(t for spec in _REGISTRY.values() for t in spec.presets))
