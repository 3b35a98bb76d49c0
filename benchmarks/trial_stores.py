"""Trials read back from run stores, and the surrogate fitted on them.

The surrogate task itself never reads a store (a task depends on
:mod:`interfaces` alone); reading the engine's run stores is the harness's
part, here, through :mod:`engine.store`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.surrogate import SurrogateModel, SurrogateTask, estimate_noise, fit_surrogate
from engine.store import RunPaths, RunStore
from interfaces import ConfigError, SearchSpace, Trial

__all__ = ["trials_from_stores", "fit_from_stores", "surrogate_from_stores"]


def trials_from_stores(paths: Iterable[str | Path]) -> dict[str, tuple[Trial, ...]]:
    """Every run's trials, keyed ``<store path>::<run id>``.

    ``paths`` are ``run.sqlite`` files or run directories holding one.
    """
    by_run: dict[str, tuple[Trial, ...]] = {}
    for path in paths:
        path = Path(path)
        database = RunPaths(path).store if path.is_dir() else path
        if not database.exists():
            raise ConfigError(f"no run store at {database}", code="missing-store")
        store = RunStore.open(database)
        try:
            for info in store.runs():
                by_run[f"{database}::{info.run_id}"] = tuple(store.trials(info.run_id))
        finally:
            store.close()
    return by_run


def fit_from_stores(paths: Iterable[str | Path], space: SearchSpace, *, noise: float | None = None,
                    **options: Any) -> SurrogateModel:
    by_run = trials_from_stores(paths)
    everything: Sequence[Trial] = [t for trials in by_run.values() for t in trials]
    measured = estimate_noise(everything) if noise is None else noise
    return fit_surrogate(everything, space, measured, source=f"{len(by_run)} runs", **options)


def surrogate_from_stores(paths: Any, space: SearchSpace, **options: Any) -> SurrogateTask:
    """A surrogate task fitted on the runs in the given stores (see :func:`trials_from_stores`)."""
    fit_keys = {"noise", "metric", "minimize", "crash_radius"}
    model = fit_from_stores(paths, space, **{k: v for k, v in options.items() if k in fit_keys})
    return SurrogateTask(model, space=space, **{k: v for k, v in options.items() if k not in fit_keys})
