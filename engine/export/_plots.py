"""Optuna's plots of a run: optimisation history, parameter importances, parallel coordinates, and the
contour of the metric over the two most important parameters.

``write_plots(run_dir)`` brings the run's Optuna study up to date from the store (:func:`sync_run`),
then writes each plot as HTML (``optuna.visualization``, which needs plotly) and as PNG
(``optuna.visualization.matplotlib``, matplotlib being one of the engine's dependencies). A plot
that cannot be drawn (plotly missing, too few finished trials for importances, fewer than two
parameters that varied for the contour) is a :class:`PlotFile` with no path and the reason, never an
exception.

The importances are fANOVA's with a fixed seed (as the report's), so the importance plot and the
choice of the contour's two parameters agree with each other and from one call to the next.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interfaces import StoreError, Trial

from ..report import MIN_IMPORTANCE_TRIALS
from ..store import RunPaths, RunStore
from ._mirror import MirrorSync
from ._optuna import OptunaMirror, optuna_storage_url

__all__ = ["MIN_CONTOUR_TRIALS", "PLOT_KINDS", "PlotFile", "contour_params", "sync_run", "write_plots"]

#: Plot name -> the function of that name in ``optuna.visualization`` and its ``matplotlib`` module.
PLOT_KINDS = {
    "history": "plot_optimization_history",
    "importances": "plot_param_importances",
    "parallel": "plot_parallel_coordinate",
    "contour": "plot_contour",
}
FORMATS = ("html", "png")

#: Completed trials the contour needs: its two parameters are the most important ones, and an importance
#: estimate from fewer trials is its own noise (the report's threshold, :data:`MIN_IMPORTANCE_TRIALS`).
MIN_CONTOUR_TRIALS = MIN_IMPORTANCE_TRIALS


@dataclass(frozen=True)
class PlotFile:
    """One plot in one format: ``path`` when it was written, else None and ``reason`` says why."""

    name: str
    format: str
    path: Path | None
    reason: str = ""


def _single_run(store: RunStore, run_dir: Path) -> Any:
    runs = store.runs()
    if len(runs) != 1:
        raise StoreError(f"{run_dir} holds {len(runs)} runs; expected exactly one", code="not-one-run")
    return runs[0]


def sync_run(run_dir: str | Path) -> MirrorSync:
    """Add to the run's Optuna study every stored trial it lacks (the task is loaded for its space).

    Raises StoreError for a directory without a readable run store and the task's own errors when
    its script or options are gone; the sync's own failure is in the result.
    """
    from ..tasks import load_task

    run_dir = Path(run_dir)
    paths = RunPaths(run_dir)
    if not paths.store.exists():
        raise StoreError(f"no run at {run_dir} (no {paths.store.name} there)", code="unknown-run")
    with RunStore.open(paths.store) as store:
        info = _single_run(store, run_dir)
        trials = store.trials(info.run_id)
        outcomes = {t.index: store.outcome(info.run_id, t.index) for t in trials}
    task = load_task(info.task, **dict(info.settings.get("task_options") or {}))

    def reported(trial: Trial) -> Mapping[str, float]:
        outcome = outcomes.get(trial.index)
        return outcome.metrics if outcome is not None else {}

    mirror = OptunaMirror(run_dir, info.run_id, space=task.space(), minimize=task.minimize,
                          metric=task.metric, task=info.task,
                          throughput_metric=getattr(task, "throughput_metric", None),
                          steps_metric=getattr(task, "steps_metric", None), reported=reported)
    try:
        return mirror.sync(trials)
    finally:
        mirror.close()


def write_plots(run_dir: str | os.PathLike[str], *, out_dir: str | os.PathLike[str] | None = None,
                formats: tuple[str, ...] = FORMATS) -> tuple[PlotFile, ...]:
    """Write ``optuna-<plot>.<format>`` for each plot of :data:`PLOT_KINDS` into ``out_dir`` (default:
    the run directory) and say, for each, where it is or why it is not there.

    Raises StoreError (from :func:`sync_run`) when the run cannot be read, and ConfigError
    ``optuna-sync-failed`` when its study cannot be brought up to date: a plot of part of a run
    would pass for the whole.
    """
    import optuna

    from interfaces import ConfigError

    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ConfigError(f"plot formats are {', '.join(FORMATS)}; got {', '.join(unknown)}",
                          code="bad-plot-format")
    run_dir = Path(run_dir)
    synced = sync_run(run_dir)
    if not synced.ok:
        raise ConfigError(f"the Optuna study of {run_dir} could not be brought up to date: {synced.error}",
                          code="optuna-sync-failed")
    folder = Path(out_dir) if out_dir is not None else run_dir
    folder.mkdir(parents=True, exist_ok=True)
    with RunStore.open(RunPaths(run_dir).store) as store:
        run_id = _single_run(store, run_dir).run_id
    storage = optuna.storages.RDBStorage(optuna_storage_url(run_dir))
    try:
        study = optuna.load_study(study_name=run_id, storage=storage)
        pair, why_not = contour_params(study)
        written = [_write(study, name, fmt, folder, pair) if name != "contour" or pair else
                   PlotFile(name, fmt, None, why_not) for name in PLOT_KINDS for fmt in formats]
    finally:
        storage.remove_session()
        storage.engine.dispose()
    return tuple(written)


def _evaluator() -> Any:
    from optuna.importance import FanovaImportanceEvaluator

    return FanovaImportanceEvaluator(seed=0)


def contour_params(study: Any) -> tuple[tuple[str, str] | None, str]:
    """The two most important parameters of ``study`` among those that varied across its completed
    trials, most important first, and ""; or None and why there is no contour to draw."""
    import optuna
    from optuna.importance import get_param_importances

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < MIN_CONTOUR_TRIALS:
        return None, (f"{len(complete)} trials completed with a metric; the contour over the two most "
                      f"important parameters needs at least {MIN_CONTOUR_TRIALS}")
    values: dict[str, set[str]] = {}
    for trial in complete:
        for name, value in trial.params.items():
            values.setdefault(name, set()).add(repr(value))
    varied = sorted(name for name, seen in values.items() if len(seen) > 1)
    if len(varied) < 2:
        return None, (f"{len(varied)} parameter{'' if len(varied) == 1 else 's'} varied across the completed "
                      f"trials ({', '.join(varied) or 'none'}); a contour needs two")
    try:
        importances = get_param_importances(study, evaluator=_evaluator(), params=varied)
    except (ValueError, RuntimeError) as exc:  # e.g. a varied parameter missing from some completed trial
        return None, f"no importances to choose the contour's parameters: {type(exc).__name__}: {exc}"[:300]
    ranked = list(importances)
    if len(ranked) < 2:
        return None, "fewer than two parameters have an importance; a contour needs two"
    return (ranked[0], ranked[1]), ""


def _write(study: Any, name: str, fmt: str, folder: Path, pair: tuple[str, str] | None = None) -> PlotFile:
    import optuna

    path = folder / f"optuna-{name}.{fmt}"
    function = PLOT_KINDS[name]
    options: dict[str, Any] = {}
    if name == "importances":
        options["evaluator"] = _evaluator()
    elif name == "contour":
        options["params"] = list(pair or ())
    try:
        if fmt == "html":
            import optuna.visualization as plots

            if not plots.is_available():
                return PlotFile(name, fmt, None, "plotly is not installed (pip install plotly)")
            # "directory": one plotly.min.js beside the pages, so they open offline without a copy each.
            getattr(plots, function)(study, **options).write_html(str(path), include_plotlyjs="directory")
            return PlotFile(name, fmt, path)
        import matplotlib.pyplot as plt
        import optuna.visualization.matplotlib as mpl_plots

        with warnings.catch_warnings():
            # The matplotlib plots are marked experimental in Optuna, which is no news at each call, and
            # a parameter that kept one value (a locked one) draws a flat axis, which is what it is.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.filterwarnings("ignore", message="Attempting to set identical low and high")
            if not mpl_plots.is_available():
                return PlotFile(name, fmt, None, "matplotlib is not installed")
            axes = getattr(mpl_plots, function)(study, **options)
        first = axes.flat[0] if hasattr(axes, "flat") else axes
        if name == "history":
            from matplotlib.ticker import MaxNLocator

            # Trials are whole numbers, and the objective has a name: the study's metric.
            first.xaxis.set_major_locator(MaxNLocator(integer=True))
            metric = study.user_attrs.get("metric")
            if metric:
                first.set_ylabel(str(metric))
        figure = first.figure
        if name == "contour" and study.user_attrs.get("metric") and len(figure.axes) == 2:
            # The colour bar (the figure's second axes) is the objective: the study's metric by its name.
            figure.axes[1].set_ylabel(str(study.user_attrs["metric"]))
        try:
            figure.savefig(path, dpi=100, bbox_inches="tight")
        finally:
            plt.close(figure)
        return PlotFile(name, fmt, path)
    except (ValueError, RuntimeError, ImportError) as exc:
        # Optuna refuses a plot it cannot draw (importances of fewer than two finished trials) with
        # these; the plot is reported as not written, the others are still drawn.
        return PlotFile(name, fmt, None, f"{type(exc).__name__}: {exc}"[:300])

