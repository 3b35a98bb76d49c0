"""Tasks and executors: what a trial is and who runs it.

A *task* knows its search space and how to turn a configuration into a
:class:`TrialRequest` (a command, the files it needs, limits). An *executor*
runs requests in isolated subprocesses and returns an :class:`Outcome`. The
engine owns both and never runs task code in its own process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ._frozen import FrozenDict
from .errors import ConfigError
from .records import Outcome
from .space import SearchSpace

__all__ = ["TrialRequest", "Task", "Executor", "metric_pattern"]


def metric_pattern(text: str) -> tuple[re.Pattern[str], int | str]:
    """The compiled ``metric_regex`` of a request and the group that holds the number.

    The group is the one named ``value`` when there is one, else the only
    group. Raises ConfigError ``bad-metric-regex`` for a pattern that does not
    compile, has no group, or has several groups and none named ``value``.
    The pattern is searched with ``re.MULTILINE``, so ``^`` and ``$`` are a
    line's start and end.
    """
    try:
        pattern = re.compile(text, re.MULTILINE)
    except (re.error, TypeError) as exc:
        raise ConfigError(f"--metric-regex {text!r} is not a regular expression: {exc}",
                          code="bad-metric-regex") from None
    if "value" in pattern.groupindex:
        return pattern, "value"
    if pattern.groups == 1:
        return pattern, 1
    found = "no group" if pattern.groups == 0 else f"{pattern.groups} groups and none named 'value'"
    raise ConfigError(f"--metric-regex {text!r} has {found}; capture the number in one group, e.g. "
                      r"'MSE\) on test set: (\S+)', or name it (?P<value>...)", code="bad-metric-regex")


@dataclass(frozen=True)
class TrialRequest:
    """Everything needed to run one trial anywhere (locally or on a Ray node).

    ``files`` maps a relative path to its text; the executor writes them into a
    fresh working directory before running ``argv`` there. ``env`` is added to
    a scrubbed environment (no secrets from the parent). ``budget_s`` is the
    training budget; the hard wall-clock limit is ``budget_s + grace_s``.
    ``metric`` is the ``key`` whose ``key: value`` stdout line is the
    objective; ``metric_file``, when set, is a JSON file in the working
    directory to read it from instead; ``metric_regex``, when set, is a
    pattern (:func:`metric_pattern`) whose last match in stdout gives the
    value of ``metric``, for output that has no ``key: value`` line.
    """

    index: int
    argv: tuple[str, ...]
    files: Mapping[str, str] = field(default_factory=FrozenDict)
    env: Mapping[str, str] = field(default_factory=FrozenDict)
    budget_s: float = 60.0
    grace_s: float = 60.0
    memory_limit_mb: int | None = 4096
    metric: str = "val_bpb"
    metric_file: str | None = None
    minimize: bool = True
    metric_regex: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "argv", tuple(self.argv))
        object.__setattr__(self, "files", FrozenDict(self.files))
        object.__setattr__(self, "env", FrozenDict(self.env))

    @property
    def time_limit_s(self) -> float:
        return self.budget_s + self.grace_s


@runtime_checkable
class Task(Protocol):
    """A searchable objective. Found by the engine by ``name``.

    Three optional attributes, read with ``getattr`` (a task without them is checked as before):
    ``throughput_metric`` (``str | None``, default None) names the ``key`` of the output line that
    says how fast a trial ran (the GPT task's ``tokens_per_second``), so a trial slowed by a busy
    machine is flagged (:mod:`engine.levels.throughput`); ``fixed_work`` (``bool``, default False)
    says every trial does the same work (fixed steps), so its metric does not depend on that speed;
    ``steps_metric`` (``str | None``, default None) names the ``key`` that counts the training steps a
    trial took (the GPT task's ``num_steps``), recorded with each trial in the report and the Optuna copy.
    """

    name: str
    metric: str
    minimize: bool

    def space(self) -> SearchSpace:
        """The search space; its defaults are the baseline configuration."""
        ...

    def noise_floor(self) -> float | None:
        """Std of the metric across repeats of one config, if measured."""
        ...

    def build_trial(self, index: int, config: Mapping[str, Any]) -> TrialRequest:
        """Turn a full, validated configuration into a runnable request.

        Called once per proposal, when the loop screens it (a cross-parameter rule the task keeps is a
        typed error here); that request is the one that runs, with ``index`` set to the trial's own.
        ``index`` is only recorded on the request: what the request holds depends on ``config`` alone.
        """
        ...


@runtime_checkable
class Executor(Protocol):
    """Runs trial requests in isolated subprocesses.

    ``workers`` is how many trials may run at once. ``submit`` never raises
    for a failing trial: the failure is classified in the returned Outcome.
    """

    workers: int

    def submit(self, request: TrialRequest) -> Future[Outcome]:
        ...

    def close(self) -> None:
        ...
