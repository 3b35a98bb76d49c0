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

Under a time budget a flagged trial is then measured again (:meth:`ThroughputCheck.measures_again`):
its configuration runs once more (``remeasure`` times at most, 0: never) as a trial of its own whose
``remeasure_of`` names the first, and that measurement decides when it ran at normal speed. One that
is slow again is not kept, and its reason and console line give every ratio (:class:`Remeasured`).
A flagged measurement that is to run again ends its reason with :data:`MEASURED_AGAIN`, stored with
the trial, so a run killed before the next measurement finds it again (:func:`awaiting_remeasure`).

When the rule cannot apply, the run says so once, after its baseline (:func:`baseline_notice`): a task
without a throughput metric, or a baseline that did not report the one named.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from interfaces import Task, Trial

__all__ = ["MEASURED_AGAIN", "SLOW_FRACTION", "SLOW_MACHINE", "THROUGHPUT_METRIC_MISSING", "Remeasured",
           "SlowTrial", "ThroughputCheck", "awaiting_remeasure", "baseline_notice", "is_measured_again",
           "machine_load"]

SLOW_FRACTION = 0.7
SLOW_MACHINE = "slow-machine"
THROUGHPUT_METRIC_MISSING = "throughput-metric-missing"
#: The end of the reason of a flagged measurement whose configuration runs again.
MEASURED_AGAIN = "; it is measured again"

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


def _share(ratio: float | None) -> str:
    return "an unknown share" if ratio is None else f"{ratio:.0%}"


def _times(count: int) -> str:
    return "twice" if count == 2 else f"{count} times"


@dataclass(frozen=True)
class Remeasured:
    """One measurement of a configuration that a slow-machine flag made run again.

    ``earlier`` holds ``(index, ratio)`` of the configuration's earlier measurements, the first first
    (empty for the first one, the flagged trial itself); ``slow`` is this measurement's flag (None: it
    ran at normal speed); ``again`` whether the configuration runs once more after it.
    """

    index: int
    earlier: tuple[tuple[int, float | None], ...]
    slow: SlowTrial | None
    again: bool

    def reason(self) -> str:
        """The text stored as the trial's reason."""
        end = MEASURED_AGAIN if self.again else ""
        ratios = ", ".join(f"trial {index} at {_share(ratio)}" for index, ratio in self.earlier)
        if self.slow is None:
            return (f"measured again after a slow machine ({ratios} of the baseline's throughput); this "
                    "measurement ran at normal speed and decides")
        if not self.earlier:
            return self.slow.reason() + end
        return (f"{SLOW_MACHINE} {_times(len(self.earlier) + 1)}: {ratios} and trial {self.index} at "
                f"{self.slow.ratio:.0%} of the baseline's throughput (load {self.slow.load:.1f}); its metric is "
                f"not comparable{end}")

    def line(self) -> str:
        """The console line."""
        if self.slow is None:
            return (f"trial {self.index} measured trial {self.earlier[0][0]}'s configuration again at normal "
                    "speed: its metric decides")
        if not self.earlier:
            return self.slow.line() + ("; measuring it again" if self.again else "")
        before = ", ".join(_share(ratio) for _index, ratio in self.earlier)
        return (f"trial {self.index} (trial {self.earlier[0][0]}'s configuration again) ran at "
                f"{self.slow.ratio:.0%} of the baseline's throughput (load {self.slow.load:.1f}), after {before}: "
                f"{SLOW_MACHINE} {_times(len(self.earlier) + 1)}, "
                + ("measuring it again" if self.again else "not kept"))


def awaiting_remeasure(trials: Iterable[Trial]) -> list[Trial]:
    """The flagged measurements whose next measurement is not stored, in index order.

    The measurements of one configuration are its first trial and the trials whose ``remeasure_of``
    names it; only the latest of them can be awaiting. Outside a run cut by a kill there is none.
    """
    latest: dict[int, Trial] = {}
    for trial in sorted(trials, key=lambda t: t.index):
        latest[trial.index if trial.remeasure_of is None else trial.remeasure_of] = trial
    return sorted((t for t in latest.values() if is_measured_again(t)), key=lambda t: t.index)


def is_measured_again(trial: Trial) -> bool:
    """Whether ``trial`` is a flagged measurement whose configuration is to run once more."""
    return trial.reason.endswith(MEASURED_AGAIN)


@dataclass(frozen=True)
class ThroughputCheck:
    """The slow-machine rule for one task (see the module's docstring).

    ``metric`` is the throughput key of the trials' metrics; ``fixed_work`` whether the task's
    metric is independent of speed; ``remeasure`` how many more times a flagged configuration runs
    under a time budget (0: never); ``load`` reports ``(load average, CPUs)`` (None: :func:`machine_load`).
    """

    metric: str
    fixed_work: bool = False
    fraction: float = SLOW_FRACTION
    remeasure: int = 0
    load: Callable[[], tuple[float, int]] | None = field(default=None, compare=False)

    @classmethod
    def for_task(cls, task: Task, *, remeasure: int = 0) -> ThroughputCheck | None:
        """The check for ``task``, or None when it names no throughput metric."""
        metric = getattr(task, "throughput_metric", None)
        if not metric:
            return None
        return cls(str(metric), fixed_work=bool(getattr(task, "fixed_work", False)), remeasure=int(remeasure))

    def ratio(self, metrics: Mapping[str, float], baseline: Mapping[str, float]) -> float | None:
        """The trial's throughput over the baseline's; None when either reported no usable throughput."""
        value, reference = metrics.get(self.metric), baseline.get(self.metric)
        if value is None or reference is None or reference <= 0 or value < 0:
            return None
        return value / reference

    def slow(self, index: int, metrics: Mapping[str, float], baseline: Mapping[str, float]) -> SlowTrial | None:
        """The flag for trial ``index`` with ``metrics``, against the baseline's; None when not slow.

        Not flagged: a trial or baseline that reported no positive throughput (nothing to compare),
        one at or above ``fraction`` of the baseline's, or one that ran while the machine had a core
        for every runnable process.
        """
        ratio = self.ratio(metrics, baseline)
        if ratio is None or ratio >= self.fraction:
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

    def measures_again(self, slow: SlowTrial | None, measurements: int) -> bool:
        """Whether a configuration measured ``measurements`` times, the latest flagged ``slow``, runs again.

        Only under a time budget (with fixed work the metric stands, flag or not), and at most
        ``remeasure`` times after the first.
        """
        return slow is not None and not self.fixed_work and measurements <= self.remeasure


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
