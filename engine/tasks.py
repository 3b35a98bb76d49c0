"""Tasks by name. The engine imports a task only when it is asked for."""

from __future__ import annotations

from typing import Any, Callable

from interfaces import ConfigError, Task

__all__ = ["TASKS", "load_task"]


def _gpt(*, noise_repeats: int = 0, **options: Any) -> Task:
    # ``noise_repeats`` is the runner's (it measures the floor through the executor), not the task's.
    from benchmarks.gpt import GptTask

    return GptTask(**options)


def _script(*, path: str, metric: str, minimize: bool = True, metric_file: str | None = None,
            space_file: str | None = None, budget_s: float = 60.0, noise_repeats: int = 0, **extra: Any) -> Task:
    """The generic task for any script; every bad input is an error before a trial runs."""
    from benchmarks.script_task import script_task

    if extra:
        raise ConfigError(f"unknown script-task options: {', '.join(sorted(extra))}")
    return script_task(path, metric=metric, minimize=minimize, metric_file=metric_file, space_file=space_file,
                       budget_s=budget_s, noise_repeats=noise_repeats)


def _surrogate(**options: Any) -> Task:
    from benchmarks.surrogate import load_surrogate_task

    return load_surrogate_task(**options)


TASKS: dict[str, Callable[..., Task]] = {"gpt": _gpt, "script": _script, "surrogate": _surrogate}


def load_task(name: str, **options: Any) -> Task:
    try:
        factory = TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None
    return factory(**{k: v for k, v in options.items() if v is not None})
