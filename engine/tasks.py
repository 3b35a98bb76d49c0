"""Tasks by name. The engine imports a task only when it is asked for."""

from __future__ import annotations

from typing import Any, Callable

from interfaces import ConfigError, Task

__all__ = ["TASKS", "load_task"]


def _gpt(**options: Any) -> Task:
    from benchmarks.gpt import GptTask

    return GptTask(**options)


def _script(**options: Any) -> Task:
    from benchmarks.script_task import ScriptTask

    return ScriptTask(**options)


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
