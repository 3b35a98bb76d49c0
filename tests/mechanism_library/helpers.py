"""Test helpers: load a mechanism source (trusted, tests only) and build traces by hand."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping
from typing import Any

from interfaces import Decision, SearchSpace, TraceView, Trial, TrialStatus
from mechanism_library import MECHANISMS_DIR

NAMES = tuple(sorted(p.stem for p in MECHANISMS_DIR.glob("*.py")))


@functools.cache
def load(name: str) -> Any:
    """Import ``mechanisms/<name>.py`` directly; the real engine goes through the sandbox."""
    spec = importlib.util.spec_from_file_location(f"library_under_test_{name}", MECHANISMS_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(name: str, seed: int = 0) -> Any:
    return load(name).build(seed)


class TraceBuilder:
    """Appends trials the way the engine would: changes apply to the current incumbent."""

    def __init__(self, space: SearchSpace, *, minimize: bool = True) -> None:
        self.space = space
        self.minimize = minimize
        self.trials: list[Trial] = []
        self.config: dict[str, Any] = dict(space.defaults())

    @property
    def incumbent(self) -> Trial | None:
        return self.view().incumbent()

    def baseline(self, metric: float) -> Trial:
        return self.add({}, metric, Decision.BASELINE)

    def run(self, changes: Mapping[str, Any], metric: float | None, decision: Decision | None = None,
            status: TrialStatus = TrialStatus.OK) -> Trial:
        """A trial that ran; kept when strictly better unless ``decision`` says otherwise."""
        if metric is None and status is TrialStatus.OK:
            status = TrialStatus.CRASHED
        if decision is None:
            current = self.incumbent
            better = metric is not None and self.view().is_better(metric, current.metric if current else None)
            decision = Decision.KEEP if better else Decision.DISCARD
        return self.add(changes, metric, decision, status)

    def reject(self, changes: Mapping[str, Any]) -> Trial:
        return self.add(changes, None, Decision.REJECTED, TrialStatus.REJECTED)

    def add(self, changes: Mapping[str, Any], metric: float | None, decision: Decision,
            status: TrialStatus = TrialStatus.OK) -> Trial:
        full = dict(self.config, **changes)
        trial = Trial(len(self.trials), full, dict(changes), status, metric, decision)
        self.trials.append(trial)
        if trial.kept:
            self.config = full
        return trial

    def view(self) -> TraceView:
        return TraceView(tuple(self.trials), minimize=self.minimize)
