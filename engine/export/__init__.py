"""Copies of a run's trials for the ecosystem's tools: an Optuna study beside every run, its plots,
and MLflow runs with ``--mlflow-uri``. The run store stays the source of truth; each copy is brought
up to date from it (idempotently) and never stops a run when it fails."""

from ._mirror import MirrorSync
from ._mlflow import MlflowMirror
from ._optuna import (
    OptunaMirror,
    distributions_of,
    optuna_storage_url,
    optuna_value,
    to_frozen_trial,
)
from ._plots import MIN_CONTOUR_TRIALS, PLOT_KINDS, PlotFile, contour_params, sync_run, write_plots
from ._trial_details import StoredTrialDetails, TrialDetails

__all__ = [
    "MIN_CONTOUR_TRIALS",
    "PLOT_KINDS",
    "MirrorSync",
    "MlflowMirror",
    "OptunaMirror",
    "PlotFile",
    "StoredTrialDetails",
    "TrialDetails",
    "contour_params",
    "distributions_of",
    "optuna_storage_url",
    "optuna_value",
    "sync_run",
    "to_frozen_trial",
    "write_plots",
]
