"""The ablation harness: groups of levels and proposers against random search and Optuna's samplers,
paired seeds, small-sample statistics, anytime curves and a Markdown report.

Run it with ``python -m benchmarks.ablation --help``; see docs/ablation.md.
"""

from ._data import RunData, TrialRow
from .baselines import (
    BASELINES,
    CmaEsSearcher,
    GpSearcher,
    OptunaSearcher,
    RandomSearcher,
    TpeSearcher,
    run_baseline,
    run_baselines,
)
from .checkpoints import Checkpoint
from .curves import AnytimeBand, SecondsBand, anytime_band, anytime_matrix, seconds_band
from .groups import GROUP_SETTINGS, GROUPS, WARM_START, group_settings, parse_groups, run_groups
from .report import Analysis, analyse, read_runs, write_csv, write_report
from .stats import Comparison, GroupSummary, bootstrap_ci, compare_all, compare_paired, holm, summarise

__all__ = [
    "Analysis",
    "AnytimeBand",
    "BASELINES",
    "Checkpoint",
    "CmaEsSearcher",
    "Comparison",
    "GROUPS",
    "GpSearcher",
    "GroupSummary",
    "OptunaSearcher",
    "GROUP_SETTINGS",
    "RandomSearcher",
    "RunData",
    "SecondsBand",
    "TpeSearcher",
    "TrialRow",
    "WARM_START",
    "analyse",
    "anytime_band",
    "anytime_matrix",
    "bootstrap_ci",
    "compare_all",
    "compare_paired",
    "group_settings",
    "holm",
    "parse_groups",
    "read_runs",
    "run_baseline",
    "run_baselines",
    "run_groups",
    "seconds_band",
    "summarise",
    "write_csv",
    "write_report",
]
