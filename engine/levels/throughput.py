"""Trials that ran on a busy machine: throughput against the baseline's, and what that means for a keep.

A task may name its throughput metric (``throughput_metric``: a ``key: value`` line of its output, such
as the GPT task's ``tokens_per_second``) and say whether its metric depends on speed
(``fixed_work``: True when every trial does the same amount of work, as the GPT task's fixed-steps
mode does; False when a trial trains for a time budget). Both are optional attributes of a task, read
with ``getattr``: a task without ``throughput_metric`` is never checked.

The rule, the same for every task: a trial whose throughput fell below ``fraction`` (0.7) of the
baseline's *while the machine was oversubscribed* (its one-minute load average above its CPU count)
is flagged ``slow-machine``. A trial that is slower on a quiet machine is slow because of its own
configuration (a deeper model), and its metric stands. The flag is stored with the trial, as the
first part of its ``reason``, and said on the console and in the report.

What the flag does to the decision (:meth:`ThroughputCheck.keep`): a flagged trial that would be
discarded stays discarded; one that would be kept is kept only when the task does fixed work, where
speed changes the wall-clock time but not the metric. Under a time budget a slow machine means fewer
steps, so a metric measured then is not comparable with the incumbent's and is not kept.

When the rule cannot apply, the run says so once, after its baseline (:func:`baseline_notice`): a task
without a throughput metric, or a baseline that did not report the one named.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from interfaces import Task

__all__ = ["SLOW_FRACTION", "SLOW_MACHINE", "THROUGHPUT_METRIC_MISSING", "SlowTrial", "ThroughputCheck",
           "baseline_notice", "machine_load"]

SLOW_FRACTION = 0.7
SLOW_MACHINE = "slow-machine"
THROUGHPUT_METRIC_MISSING = "throughput-metric-missing"

# Names that read as work per second, offered when a task names no throughput metric.
_RATE_NAME = re.compile(r"(per_?s|per_?sec|per_?second|throughput)$", re.IGNORECASE)


def machine_load() -> tuple[float, int]:
    """The one-minute load average and the number of CPUs this process may use."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return os.getloadavg()[0], cpus


@dataclass(frozen=True)
class SlowTrial:
    """A trial that ran at ``ratio`` of the baseline's throughput while the load was ``load``."""

    index: int
    ratio: float
    load: float

    def reason(self) -> str:
        """The text stored as the start of the trial's reason."""
        return (f"{SLOW_MACHINE}: ran at {self.ratio:.0%} of the baseline's throughput "
                f"(load {self.load:.1f}); its metric is not comparable")

    def line(self) -> str:
        """The console line."""
        return (f"trial {self.index} ran at {self.ratio:.0%} of the baseline's throughput "
                f"(load {self.load:.1f}): its metric is not comparable")


@dataclass(frozen=True)
class ThroughputCheck:
    """The slow-machine rule for one task (see the module's docstring).

    ``metric`` is the throughput key of the trials' metrics; ``fixed_work`` whether the task's
    metric is independent of speed; ``load`` reports ``(load average, CPUs)`` (None: :func:`machine_load`).
    """

    metric: str
    fixed_work: bool = False
    fraction: float = SLOW_FRACTION
    load: Callable[[], tuple[float, int]] | None = field(default=None, compare=False)

    @classmethod
    def for_task(cls, task: Task) -> ThroughputCheck | None:
        """The check for ``task``, or None when it names no throughput metric."""
        metric = getattr(task, "throughput_metric", None)
        if not metric:
            return None
        return cls(str(metric), fixed_work=bool(getattr(task, "fixed_work", False)))

    def slow(self, index: int, metrics: Mapping[str, float], baseline: Mapping[str, float]) -> SlowTrial | None:
        """The flag for trial ``index`` with ``metrics``, against the baseline's; None when not slow.

        Not flagged: a trial or baseline that reported no positive throughput (nothing to compare),
        one at or above ``fraction`` of the baseline's, or one that ran while the machine had a core
        for every runnable process.
        """
        value, reference = metrics.get(self.metric), baseline.get(self.metric)
        if value is None or reference is None or reference <= 0 or value < 0:
            return None
        ratio = value / reference
        if ratio >= self.fraction:
            return None
        load, cpus = (self.load or machine_load)()
        if load <= cpus:
            return None
        return SlowTrial(index, ratio, load)

    def keep(self, would_keep: bool, slow: SlowTrial | None) -> bool:
        """Whether a trial the acceptance rule would (not) keep is kept, given its flag."""
        if slow is None or not would_keep:
            return would_keep
        return self.fixed_work


def baseline_notice(check: ThroughputCheck | None, baseline: Mapping[str, float]) -> str | None:
    """The one line to say once the baseline reported ``baseline``, when slow trials cannot be flagged.

    None when they can: the task names a throughput metric and the baseline reported a positive
    value of it. Otherwise the line says why; for a task that names none, it offers the baseline's
    own metrics whose names read as a rate (``samples_per_second``) for ``--throughput-metric``.
    """
    if check is None:
        rates = sorted(name for name in baseline if _RATE_NAME.search(name))
        hint = f", e.g. --throughput-metric {rates[0]} (the baseline printed it)" if rates else ""
        return ("slow trials cannot be flagged: the task names no throughput metric; for a script, "
                f"--throughput-metric NAME names a printed work-per-second line{hint}")
    if baseline.get(check.metric, 0.0) > 0:
        return None
    reported = ", ".join(sorted(baseline)) or "nothing"
    return (f"{THROUGHPUT_METRIC_MISSING}: the baseline reported no positive {check.metric} "
            f"(a '{check.metric}: <number>' line or metric-file key), so slow trials cannot be flagged; "
            f"it reported {reported}")
