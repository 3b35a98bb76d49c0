"""Trials grouped by run, read from run stores, and the measured noise."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

from interfaces import ConfigError, SearchSpace, Trial, thaw

from ._model import SurrogateModel, fit_surrogate

__all__ = ["trials_from_stores", "estimate_noise", "fit_from_stores"]


def trials_from_stores(paths: Iterable[str | Path]) -> dict[str, tuple[Trial, ...]]:
    """Every run's trials, keyed ``<store path>::<run id>``.

    ``paths`` are ``run.sqlite`` files or run directories holding one. This
    reads through :mod:`engine.store` (imported here only, so the task itself
    depends on :mod:`interfaces` alone).
    """
    from engine.store import RunStore

    by_run: dict[str, tuple[Trial, ...]] = {}
    for path in paths:
        path = Path(path)
        database = path / "run.sqlite" if path.is_dir() else path
        if not database.exists():
            raise ConfigError(f"no run store at {database}", code="missing-store")
        store = RunStore.open(database)
        try:
            for info in store.runs():
                by_run[f"{database}::{info.run_id}"] = tuple(store.trials(info.run_id))
        finally:
            store.close()
    return by_run


def estimate_noise(trials: Iterable[Trial]) -> float:
    """Pooled standard deviation of the metric over configurations measured
    more than once (the baseline of every run is one such configuration)."""
    groups: dict[str, list[float]] = defaultdict(list)
    for trial in trials:
        if trial.ok:
            groups[json.dumps(thaw(dict(trial.config)), sort_keys=True)].append(float(trial.metric))
    squares, dof = 0.0, 0
    for values in groups.values():
        if len(values) > 1:
            mean = sum(values) / len(values)
            squares += sum((v - mean) ** 2 for v in values)
            dof += len(values) - 1
    if dof == 0:
        raise ConfigError("no configuration was measured twice, so the noise is unknown; pass noise= explicitly",
                          code="noise-unknown")
    return math.sqrt(squares / dof)


def fit_from_stores(paths: Iterable[str | Path], space: SearchSpace, *, noise: float | None = None,
                    **options: Any) -> SurrogateModel:
    by_run = trials_from_stores(paths)
    everything: Sequence[Trial] = [t for trials in by_run.values() for t in trials]
    measured = estimate_noise(everything) if noise is None else noise
    return fit_surrogate(everything, space, measured, source=f"{len(by_run)} runs", **options)

