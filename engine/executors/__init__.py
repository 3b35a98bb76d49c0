"""Trial executors: every trial in its own subprocess, with limits, classified from evidence.

``run_trial`` is the one code path; ``LocalExecutor`` runs it in a thread pool
on this machine and ``RayExecutor`` inside Ray tasks (optional extra).
``parse_metrics``, ``match_metric`` and ``classify`` read a finished run's output.
"""

from ._classify import OOM_MARKERS, classify, log_tail, match_metric, parse_metrics
from ._confine import CONFINEMENTS, check_confinement
from ._environment import ALLOWED_PARENT_VARS, secret_names, trial_environment
from ._local import LocalExecutor, trial_workdirs
from ._ray import RayExecutor
from ._run_trial import STDERR_FILE, STDOUT_FILE, limited_argv, run_trial, stop_trials
from ._supervisor import become_subreaper

__all__ = [
    "ALLOWED_PARENT_VARS",
    "CONFINEMENTS",
    "LocalExecutor",
    "OOM_MARKERS",
    "RayExecutor",
    "become_subreaper",
    "check_confinement",
    "STDERR_FILE",
    "STDOUT_FILE",
    "classify",
    "limited_argv",
    "log_tail",
    "match_metric",
    "parse_metrics",
    "run_trial",
    "secret_names",
    "stop_trials",
    "trial_environment",
    "trial_workdirs",
]
