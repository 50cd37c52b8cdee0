"""The manifest of a run: what ran, on what, with which settings, and what it scored.

``Manifest`` is the one reader and writer of manifest.json's keys: code reads its fields,
never the JSON. Sections whose content varies by run (evaluation, head starts, versions) stay
dictionaries; the ones code reads have a property here.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from boosttune.core.errors import BoostTuneError

OPTIONAL = ("competition", "config_file", "holdout_score")  # written only when set


@dataclass
class Manifest:
    boosttune: str
    created: str
    versions: dict[str, str]
    model: str
    task: str
    target: str
    classes: list[Any] | None
    data: dict[str, Any]  # rows, features, sha256, test_rows
    features: list[str]
    categories: dict[str, list[Any]]
    cv: dict[str, Any]  # scheme, n_splits, seed
    search: dict[str, Any]  # n_trials, n_complete, n_pruned, best_trial, interrupted, ...
    best_params: dict[str, Any]
    params_used: dict[str, Any]
    score: dict[str, Any]  # the CVScore summary and its definition
    timing: dict[str, Any]  # wall_seconds, stages {prepare, search, finalize, export}, ...
    config: dict[str, Any]  # the option groups as given (RunConfig.to_dict())
    resolved: dict[str, Any]  # what the run decided: seeds, refit used, threads, storage, ...
    device: str
    device_detail: dict[str, Any]
    evaluation: dict[str, Any] = field(default_factory=dict)
    headstart: dict[str, Any] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    competition: str | None = None
    config_file: str | None = None
    holdout_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if not (f.name in OPTIONAL and getattr(self, f.name) is None)}

    @classmethod
    def from_dict(cls, raw: Any, source: str = "manifest") -> Manifest:
        if not isinstance(raw, dict):
            raise BoostTuneError(f"{source}: a manifest must be a JSON object; got "
                                 f"{type(raw).__name__}.")
        names = {f.name for f in fields(cls)}
        missing = [f.name for f in fields(cls) if f.default is MISSING
                   and f.default_factory is MISSING and f.name not in raw]
        if missing:
            raise BoostTuneError(f"{source}: the manifest lacks {missing}; was it written by "
                                 "another version of boosttune?")
        return cls(**{k: v for k, v in raw.items() if k in names})

    @property
    def n_complete(self) -> int:
        return int(self.search["n_complete"])

    @property
    def n_pruned(self) -> int:
        return int(self.search["n_pruned"])

    @property
    def wall_seconds(self) -> float:
        return float(self.timing["wall_seconds"])

    @property
    def stage_seconds(self) -> dict[str, float]:
        return dict(self.timing.get("stages", {}))

    def record_stage(self, stage: str, seconds: float) -> None:
        self.timing.setdefault("stages", {})[stage] = seconds

    @property
    def device_name(self) -> str:
        return str(self.device_detail["name"])

    @property
    def preset(self) -> str:
        """The search space's name: the preset tier, or the custom space's name."""
        return str(self.config.get("space"))

    @property
    def study_name(self) -> str | None:
        return self.resolved.get("study_name")

    @property
    def diagnosis_text(self) -> str | None:
        found = self.diagnosis
        return None if found is None else f"{found['verdict']}: {found['reason']}"
