"""The run report: ``report.md`` and the ``progress.png`` chart of a run."""

from ._mechanisms import MechanismSummary, summarise_mechanisms
from ._plot import plot_progress, running_best
from ._report import PROGRESS_NAME, REPORT_NAME, write_report
from ._time import MIN_IMPORTANCE_TRIALS, TrialTime, trial_times

__all__ = [
    "MIN_IMPORTANCE_TRIALS",
    "PROGRESS_NAME",
    "REPORT_NAME",
    "MechanismSummary",
    "TrialTime",
    "plot_progress",
    "running_best",
    "summarise_mechanisms",
    "trial_times",
    "write_report",
]
