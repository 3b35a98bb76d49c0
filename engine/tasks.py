"""Tasks by name, from the ``autoresearch.tasks`` entry points of the installed distributions.

A task is registered by the distribution that ships it, in its pyproject::

    [project.entry-points."autoresearch.tasks"]
    mytask = "mypackage.tasks:load_my_task"

The entry point names a factory that takes a run's ``task_options`` as
keywords and returns an :class:`interfaces.Task`. This project's own tasks
(``gpt``, ``script``, ``surrogate``) are registered the same way in its
pyproject.toml, so the engine never imports a task package by name, and a
task package of one's own needs no change here. The registry is the installed
metadata: after editing the entry points, reinstall (``pip install -e .``).

A task's module is imported only when that task is asked for.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from interfaces import ConfigError, Task

__all__ = ["TASK_GROUP", "load_task", "task_entry_points"]

TASK_GROUP = "autoresearch.tasks"


def _origin(point: EntryPoint) -> str:
    dist = getattr(point, "dist", None)
    return f"{point.name} = {point.value!r}" + (f" (from {dist.name})" if dist is not None else "")


def task_entry_points() -> dict[str, EntryPoint]:
    """Every registered task by name, sorted; nothing is imported.

    Raises ConfigError ``duplicate-task`` when two distributions register one
    name for different factories: choosing either would be a guess.
    """
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=TASK_GROUP):
        known = found.get(point.name)
        if known is not None and known.value != point.value:
            raise ConfigError(f"task {point.name!r} is registered twice: {_origin(known)} and "
                              f"{_origin(point)}; uninstall one of them", code="duplicate-task")
        found.setdefault(point.name, point)
    return dict(sorted(found.items()))


def load_task(name: str, **options: Any) -> Task:
    """The task ``name`` built from ``options`` (those that are None are left out).

    Raises ConfigError ``unknown-task`` (listing the known tasks) for a name
    no distribution registers, ``task-import-failed`` when the registered
    factory cannot be imported, and ``bad-task-factory`` when it is not
    callable or does not return a Task; the task's own errors pass through.
    """
    points = task_entry_points()
    point = points.get(name)
    if point is None:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(points) or '(none)'} (the "
                          f"{TASK_GROUP!r} entry points of the installed distributions; after changing them, "
                          "reinstall: pip install -e .)", code="unknown-task")
    try:
        factory = point.load()
    except Exception as exc:  # any error while importing someone's module; it is named, not skipped
        raise ConfigError(f"task {name!r} could not be loaded from its entry point {_origin(point)}: "
                          f"{type(exc).__name__}: {exc}", code="task-import-failed") from exc
    if not callable(factory):
        raise ConfigError(f"task {name!r}: the entry point {_origin(point)} names a "
                          f"{type(factory).__name__}, not a factory", code="bad-task-factory")
    task = factory(**{k: v for k, v in options.items() if v is not None})
    if not isinstance(task, Task):
        raise ConfigError(f"task {name!r}: the factory of {_origin(point)} returned a {type(task).__name__}, "
                          "not a Task", code="bad-task-factory")
    return task
