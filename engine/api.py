"""The engine from Python: :func:`optimize` starts a run, :func:`resume` continues one, :func:`load`
reads one; each returns a :class:`Study`.

    import engine

    study = engine.optimize("train.py", metric="val_loss", n=20, levels="1")
    study.best_config, study.best_metric, study.baseline_metric
    study.optuna_study().trials_dataframe()       # the same trials through Optuna
    study = engine.resume(study, n=40)            # 20 more iterations

The settings are the command line's, by the long option names written with underscores
(``max_tokens=5000``, ``outer_every=3``; see :mod:`engine.flags`), and a run made here is the run
the command would make: same store, run directory, report, ``config.toml`` and Optuna study.

Who owns what: the run directory (``run_dir/<run id>``) and everything in it belongs to the run;
the engine takes its lock for the duration of the call. Trials run in child processes that the
engine supervises and stops; the calling process becomes their child subreaper (Linux), so a
trial's orphans are found and stopped. The caller keeps its signal handlers: Ctrl-C
(``KeyboardInterrupt``) stops the trial in flight, marks the run interrupted and propagates;
:func:`resume` continues it. Every other failure is an :class:`interfaces.AutoresearchError` with a
stable ``code`` (never ``SystemExit``); a run that failed after it started stays on disk, resumable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interfaces import AutoresearchError, ConfigError, TraceView, Trial

from .settings import RunSettings

__all__ = ["Study", "load", "optimize", "resume"]

_log = logging.getLogger("engine")

#: Names :func:`optimize` takes as its own arguments, not as ``**settings``.
_OWN = {"iterations": "n"}


@dataclass(frozen=True)
class Study:
    """One run as stored: its settings, its trials (records, in index order) and what came of them.

    ``best_trial`` is the run's incumbent: the configuration it kept last, the one written to
    ``best_<script>.py`` (with ``keep-if-better`` acceptance also the best metric; with
    ``noise-aware`` a trial within the noise of it is not taken). ``baseline_metric`` is the
    unmodified configuration's metric (trial 0). ``status`` is ``finished``, ``stopped`` (by its
    budget), ``interrupted``, ``failed`` or ``running`` (another engine has it now).
    """

    run_id: str
    run_dir: Path
    status: str
    task: str
    metric: str
    minimize: bool
    settings: RunSettings
    trials: tuple[Trial, ...]
    baseline_metric: float | None
    best_trial: Trial | None
    report: Path | None
    note: str = ""

    @property
    def best_config(self) -> Mapping[str, Any] | None:
        return self.best_trial.config if self.best_trial is not None else None

    @property
    def best_metric(self) -> float | None:
        return self.best_trial.metric if self.best_trial is not None else None

    @property
    def direction(self) -> str:
        return "minimize" if self.minimize else "maximize"

    @property
    def optuna_storage(self) -> str:
        """The URL of the run's Optuna storage; the study in it is named :attr:`run_id`."""
        from .export import optuna_storage_url

        return optuna_storage_url(self.run_dir)

    def optuna_study(self) -> Any:
        """The run's trials as an ``optuna.Study`` (loaded from :attr:`optuna_storage`)."""
        import optuna

        return optuna.load_study(study_name=self.run_id, storage=self.optuna_storage)

    def plots(self, out_dir: str | os.PathLike[str] | None = None) -> tuple[Any, ...]:
        """Write Optuna's plots of the run (see :func:`engine.export.write_plots`)."""
        from .export import write_plots

        return write_plots(self.run_dir, out_dir=out_dir)


def load(run: str | os.PathLike[str] | Study, *, run_dir: str | os.PathLike[str] = "runs") -> Study:
    """The :class:`Study` of a stored run, read without running anything.

    Args:
        run: a run id under ``run_dir``, a run directory, or a :class:`Study`.
        run_dir: the directory that holds run directories (as ``--run-dir``).

    Raises:
        ConfigError: ``no-run`` when there is no run there.
        StoreError: when its store cannot be read (``store-corrupt``...).
    """
    from .report import REPORT_NAME
    from .runner import resolve_run_dir
    from .store import RunPaths, RunStore

    folder = _run_folder(run, run_dir, resolve_run_dir)
    with RunStore.open(RunPaths(folder).store) as store:
        runs = store.runs()
        if len(runs) != 1:
            raise ConfigError(f"{folder} holds {len(runs)} runs; expected exactly one", code="no-run")
        info = runs[0]
        settings = RunSettings.from_dict(info.settings)
        minimize = bool(settings.task_options.get("minimize", True)) if settings.task == "script" else None
        trials = store.trials(info.run_id)
    metric, minimize = _objective(settings, minimize)
    trace = TraceView(trials, minimize=minimize)
    baseline = trace.baseline()
    report = folder / REPORT_NAME
    return Study(info.run_id, folder, info.status, info.task, metric, minimize, settings, trace.trials,
                 baseline.metric if baseline is not None else None, trace.incumbent(),
                 report if report.exists() else None, info.note)


def optimize(
    target: str | os.PathLike[str],
    *,
    metric: str | None = None,
    n: int = 30,
    provider: str | None = "heuristic",
    levels: str | Sequence[str] = "1,1.5,2",
    run_dir: str | os.PathLike[str] = "runs",
    seed: int = 0,
    task_options: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    on_trial: Callable[[Trial], None] | None = None,
    **settings: Any,
) -> Study:
    """Search ``target``'s hyperparameters: one run, start to finish, in this process.

    Args:
        target: a script (a path: a ``.py`` file or any existing file), searched as
            ``python -m engine.run script`` does, with its module-level UPPERCASE literals as the
            parameters; or the name of a registered task (``"gpt"``, ``"surrogate"``, or any
            ``autoresearch.tasks`` entry point).
        metric: the name of the ``name: value`` line (or JSON key) to optimise; required for a
            script, and for a named task only a check (it must be the task's metric).
        n: iterations of the inner loop (training trials after the baseline).
        provider: who proposes: ``"heuristic"`` (the rule-based stand-in, no model), ``"local"``,
            ``"openai"``, ``"compatible"``... as ``--provider``; None picks the command line's
            default (the local model when installed).
        levels: the levels to run, ``"1,1.5,2"`` or a sequence such as ``("1", "1.5")``.
        run_dir: the directory that holds run directories; the run is ``run_dir/<run id>``.
        seed: the seed of the provider and the mechanisms.
        task_options: options passed to the task's factory as they are, over those the settings
            give (for a task other than ``script`` and ``gpt``, all of its options).
        run_id: the run's id (default: ``<task>-<date>-<time>-s<seed>``).
        on_trial: called in this thread with each finished :class:`interfaces.Trial`.
        **settings: any other flag of the command, by its long name with underscores: for a script
            ``maximize``, ``budget``, ``space``, ``metric_file``, ``throughput_metric``,
            ``steps_metric``, ``noise_repeats``; for ``gpt`` ``preset``, ``budget``, ``max_steps``, ``data``,
            ``compile``; for every task ``max_tokens``, ``max_usd``, ``workers``, ``acceptance``, ``outer_every``,
            ``research_every``, ``research_style``, ``samples``, ``model``, ``base_url``, ``mlflow_uri``...

    Returns:
        The finished (or budget-``stopped``) run as a :class:`Study`.

    Raises:
        ConfigError: a bad target or setting, before any run is created: ``unknown-target``,
            ``unknown-setting`` (naming it, with the nearest name), ``metric-required``,
            ``metric-mismatch``, ``bad-task-options``, and the task's own codes
            (``script-not-found``, ``no-parameters``...).
        AutoresearchError: a run that failed once started (the provider, the store...); the run
            is on disk, marked failed, and :func:`resume` continues it.
    """
    from .runner import Run

    for name, own in _OWN.items():
        if name in settings:
            raise ConfigError(f"give {own}=..., not {name}=...", code="duplicate-setting")
    task, flags = _target(target, metric, settings)
    flags.update(iterations=n, levels=levels, seed=seed, provider=provider)
    run_settings = _settings(task, flags, task_options)
    if metric is not None and task != "script":
        expected, _ = _objective(run_settings, None)
        if metric != expected:
            raise ConfigError(f"task {task!r} optimises {expected!r}, not {metric!r}", code="metric-mismatch")
    run = Run.create(run_settings, Path(run_dir), run_id=run_id, events=_events(on_trial))
    return _execute(run)


def resume(
    run: str | os.PathLike[str] | Study,
    *,
    n: int | None = None,
    run_dir: str | os.PathLike[str] = "runs",
    on_trial: Callable[[Trial], None] | None = None,
    **changes: Any,
) -> Study:
    """Continue a run (interrupted, killed, stopped by its budget, failed, or finished) from its store.

    Args:
        run: a run id under ``run_dir``, a run directory, or a :class:`Study`.
        n: iterations in all; more than the run has done runs that many more (None: as stored).
        run_dir: the directory that holds run directories (as ``--run-dir``).
        on_trial: called in this thread with each trial finished from now on.
        **changes: settings by flag name, as for :func:`optimize`. ``max_tokens``, ``max_usd``,
            ``request_timeout`` and ``mlflow_uri`` may change; any other one may be given only with
            its stored value.

    Returns:
        The run, continued, as a :class:`Study`.

    Raises:
        ConfigError: ``resume-setting-changed`` naming each changed setting a resume cannot
            take, ``resume-iterations-below-done`` for ``n`` below the iterations already run,
            ``unknown-setting``, ``no-run``.
        AutoresearchError: as for :func:`optimize`; ``run-locked`` when another engine has it.
    """
    from .flags import COMMON_FLAGS, TASK_FLAGS, flags_from_settings, normalise_key, unknown_setting
    from .runner import Run, resolve_run_dir

    folder = _run_folder(run, run_dir, resolve_run_dir)
    stored = load(folder).settings
    given = {normalise_key(key): value for key, value in changes.items()}
    for name, own in _OWN.items():
        if name in given:
            raise ConfigError(f"give {own}=..., not {name}=...", code="duplicate-setting")
    own_flags = TASK_FLAGS.get(stored.task, {})
    unknown = sorted(set(given) - set(COMMON_FLAGS) - set(own_flags))
    if unknown:
        raise unknown_setting(unknown, [*COMMON_FLAGS, *own_flags])
    # The stored settings as flags, with the ones given: built as optimize builds them, the runner then
    # compares them with the stored ones and refuses, by name, a change a resume cannot take.
    flags = flags_from_settings(stored)
    options = flags.pop("task_options", None)
    flags.update(given)
    if n is not None:
        flags["iterations"] = n
    wanted = _settings(stored.task, flags, options)
    overrides = {name: value for name, value in wanted.to_dict().items() if name != "task"}
    return _execute(Run.reopen(folder, overrides=overrides, events=_events(on_trial)))


# -- helpers -------------------------------------------------------------------------------------------

def _run_folder(run: Any, run_dir: Any, resolve: Callable[[str, Path], Path]) -> Path:
    if isinstance(run, Study):
        return run.run_dir
    try:
        return resolve(os.fspath(run), Path(run_dir))
    except ConfigError as exc:
        raise ConfigError(exc.message, code="no-run") from None


def _target(target: Any, metric: str | None, settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The task and the flags that ``target`` and the settings make."""
    from .tasks import task_entry_points

    flags = dict(settings)
    text = os.fspath(target)
    names = task_entry_points()
    if isinstance(target, str) and text in names and not Path(text).is_file():
        return text, flags
    if isinstance(target, os.PathLike) or text.endswith(".py") or os.sep in text or Path(text).is_file():
        if metric is None:
            raise ConfigError(f"searching the script {text} needs metric=NAME: the name of the `name: value` "
                              "line (or JSON key) it prints", code="metric-required")
        flags.update(path=text, metric=metric)
        return "script", flags
    raise ConfigError(f"{text!r} is neither a script (a path) nor a registered task ({', '.join(names)})",
                      code="unknown-target")


def _settings(task: str, flags: Mapping[str, Any], task_options: Mapping[str, Any] | None) -> RunSettings:
    """RunSettings from flags, and the task built once from them, so a bad option fails now."""
    from .flags import settings_from_flags
    from .tasks import load_task

    built = settings_from_flags(task, flags, task_options=task_options)
    try:
        load_task(built.task, **built.task_options)
    except TypeError as exc:  # a factory's own signature refusing an option
        raise ConfigError(f"task {task!r} does not take these options: {exc}", code="bad-task-options") from None
    return built


def _objective(settings: RunSettings, minimize: bool | None) -> tuple[str, bool]:
    """The task's metric and direction (the task is built to ask it, unless a script's options say)."""
    if minimize is not None and settings.task == "script":
        return str(settings.task_options["metric"]), minimize
    from .tasks import load_task

    task = load_task(settings.task, **settings.task_options)
    return task.metric, task.minimize


def _events(on_trial: Callable[[Trial], None] | None) -> Any:
    from .levels.inner import LoopEvents

    events = LoopEvents(message=_log.info)
    if on_trial is not None:
        events.trial_finished = on_trial
    return events


def _execute(run: Any) -> Study:
    try:
        run.execute()
    except (AutoresearchError, KeyboardInterrupt):
        raise
    except Exception as exc:  # an OS or SQLite error, or a bug: typed, as on the command line
        from .run import typed_failure

        raise typed_failure(exc, run.run_dir) from exc
    return load(run.run_dir)
