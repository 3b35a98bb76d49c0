"""Build a :class:`ScriptTask` from what a user types on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interfaces import ConfigError, SpaceError, metric_pattern

from ._discover import find_assignments
from ._space_file import SpaceFile, load_space_file
from ._task import ScriptTask

__all__ = ["load_script_task", "script_task"]


def script_task(path: str | Path, *, metric: str, minimize: bool = True, metric_file: str | None = None,
                space_file: str | Path | None = None, budget_s: float = 60.0, noise_repeats: int = 0,
                metric_regex: str | None = None, throughput_metric: str | None = None,
                steps_metric: str | None = None) -> ScriptTask:
    """A :class:`ScriptTask` for the script at ``path``; every bad input is an error before a trial runs.

    ``metric`` names the objective: the ``metric: value`` line of the output,
    the key of ``metric_file``'s JSON, or the number ``metric_regex`` captures
    (one group, or a group named ``value``: ``bad-metric-regex`` otherwise;
    not together with ``metric_file``: ``conflicting-metric-sources``).
    ``throughput_metric`` names a line (or JSON key) read the same way as
    ``metric``'s, measuring work per second, so that trials slowed by a busy
    machine are flagged (:mod:`engine.levels.throughput`); it must not be the
    objective itself: ``throughput-metric-is-objective``. ``steps_metric`` names,
    the same way, the line that counts the training steps a trial took (recorded,
    never compared); it too must not be the objective: ``steps-metric-is-objective``.
    """
    script = Path(path)
    if not script.is_file():
        raise ConfigError(f"no script at {script}", code="script-not-found")
    if not _plain_name(metric):
        raise ConfigError(f"--metric must be a plain name such as val_loss, got {metric!r}", code="bad-metric-name")
    if throughput_metric is not None:
        if not _plain_name(throughput_metric):
            raise ConfigError("--throughput-metric must be a plain name such as samples_per_second, "
                              f"got {throughput_metric!r}", code="bad-metric-name")
        if throughput_metric == metric:
            raise ConfigError(f"--throughput-metric {throughput_metric} is the metric being optimised; name the "
                              "line that measures work per second, such as samples_per_second",
                              code="throughput-metric-is-objective")
    if steps_metric is not None:
        if not _plain_name(steps_metric):
            raise ConfigError(f"--steps-metric must be a plain name such as num_steps, got {steps_metric!r}",
                              code="bad-metric-name")
        if steps_metric == metric:
            raise ConfigError(f"--steps-metric {steps_metric} is the metric being optimised; name the line that "
                              "counts training steps, such as num_steps", code="steps-metric-is-objective")
    if metric_regex is not None:
        metric_pattern(metric_regex)  # raises ConfigError bad-metric-regex
        if metric_file is not None:
            raise ConfigError("give --metric-file or --metric-regex, not both: the metric has one source",
                              code="conflicting-metric-sources")
    if budget_s <= 0:
        raise ConfigError(f"--budget must be positive, got {budget_s}", code="bad-budget")
    if noise_repeats < 0:
        raise ConfigError(f"--noise-repeats must be 0 or more, got {noise_repeats}", code="bad-noise-repeats")
    values = {a.name: a.value for a in find_assignments(script.read_text(encoding="utf-8"))}
    if not values:
        raise SpaceError(
            f"{script} has no discoverable parameters: give it module-level UPPERCASE assignments of literals, "
            "e.g. LEARNING_RATE = 0.01, or a dict literal such as params = {\"learning_rate\": 0.01} "
            "(docs/space-toml.md)", code="no-parameters")
    overrides = load_space_file(space_file, values) if space_file else SpaceFile((), (), ())
    only = [name for name in values if name not in overrides.exclude]
    if not only:
        raise SpaceError("every parameter is excluded; nothing is left to search", code="no-parameters")
    task = ScriptTask(script, name=script.stem, metric=metric, minimize=minimize, overrides=overrides.overrides,
                      locked=overrides.locked, only=only, budget_s=budget_s, grace_s=max(30.0, budget_s),
                      metric_file=metric_file, metric_regex=metric_regex, throughput_metric=throughput_metric,
                      steps_metric=steps_metric)
    if all(spec.locked for spec in task.space()):
        raise SpaceError("every parameter is locked; nothing is left to search (give choices or bounds in --space)",
                         code="no-parameters")
    return task


def load_script_task(*, path: str, metric: str, minimize: bool = True, metric_file: str | None = None,
                     space_file: str | None = None, budget_s: float = 60.0, noise_repeats: int = 0,
                     metric_regex: str | None = None, throughput_metric: str | None = None,
                     steps_metric: str | None = None, **extra: Any) -> ScriptTask:
    """The ``script`` task's factory (an ``autoresearch.tasks`` entry point); every bad input is an error
    before a trial runs."""
    if extra:
        raise ConfigError(f"unknown script-task options: {', '.join(sorted(extra))}")
    return script_task(path, metric=metric, minimize=minimize, metric_file=metric_file, space_file=space_file,
                       budget_s=budget_s, noise_repeats=noise_repeats, metric_regex=metric_regex,
                       throughput_metric=throughput_metric, steps_metric=steps_metric)


def _plain_name(name: str) -> bool:
    return bool(name) and name.replace("_", "").replace(".", "").replace("-", "").isalnum()
