"""The run's trials as MLflow runs (``--mlflow-uri``; needs the ``mlflow`` extra).

One MLflow experiment per engine run, named after it; one MLflow run per trial, named
``trial-<index>``, with the trial's configuration as params, its metric (when it ran to one) and
``duration_s`` as metrics, and tags ``engine.run_id``, ``engine.trial_index``, ``engine.status``,
``engine.decision``, ``engine.source`` and ``engine.reason`` (and ``engine.remeasure_of`` for a trial that ran
another trial's configuration again); the rationale is the run's note.
A trial with a metric ends ``FINISHED``, every other one ``FAILED``.

Like the Optuna copy, :meth:`MlflowMirror.sync` adds the stored trials the experiment lacks and is
idempotent: an MLflow run a kill left unterminated is deleted and logged again. For a local
``sqlite:///`` URI the experiment's artifact location is a folder beside the database (nothing is
written into the working directory). MLflow 3 refuses a ``file:`` store unless
``MLFLOW_ALLOW_FILE_STORE=true``; a local ``sqlite:///path/mlflow.db`` needs nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from interfaces import Trial

from ._mirror import Mirror
from ._optuna import optuna_value

__all__ = ["MlflowMirror"]

_TAG_CHARS = 5000


class MlflowMirror(Mirror):
    """The MLflow experiment of one run, kept equal to the run's stored trials by :meth:`sync`."""

    target = "mlflow"

    def __init__(self, uri: str, run_id: str, *, metric: str, minimize: bool, task: str = "") -> None:
        self.uri = uri
        self.run_id = run_id
        self.metric = metric
        self.minimize = minimize
        self.task = task
        self._client: Any = None
        self._experiment_id = ""
        super().__init__()

    def _artifact_location(self) -> str | None:
        if self.uri.startswith("sqlite:///"):
            return (Path(self.uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
        return None

    def _open(self) -> Any:
        if self._client is not None:
            return self._client
        from mlflow.entities import ViewType
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.uri)
        experiment = client.get_experiment_by_name(self.run_id)
        if experiment is None:
            tags = {"engine.task": self.task, "engine.metric": self.metric,
                    "engine.direction": "minimize" if self.minimize else "maximize"}
            experiment_id = client.create_experiment(self.run_id, artifact_location=self._artifact_location(),
                                                     tags=tags)
        else:
            experiment_id = experiment.experiment_id
        synced: set[int] = set()
        token = None
        while True:
            page = client.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY, max_results=1000,
                                      page_token=token)
            for run in page:
                index = run.data.tags.get("engine.trial_index")
                if index is None:
                    continue
                if run.info.status in ("FINISHED", "FAILED"):
                    synced.add(int(index))
                else:  # cut by a kill between its creation and its end: logged again below
                    client.delete_run(run.info.run_id)
            token = page.token
            if not token:
                break
        self._client, self._experiment_id, self._synced = client, experiment_id, synced
        return client

    def _add(self, client: Any, trial: Trial) -> None:
        from mlflow.entities import Metric, Param, RunTag

        tags = {"engine.run_id": self.run_id, "engine.trial_index": str(trial.index),
                "engine.status": trial.status.value, "engine.decision": trial.decision.value,
                "engine.source": trial.source, "engine.reason": trial.reason[:_TAG_CHARS],
                "mlflow.note.content": trial.rationale[:_TAG_CHARS]}
        if trial.remeasure_of is not None:
            tags["engine.remeasure_of"] = str(trial.remeasure_of)
        run = client.create_run(self._experiment_id, run_name=f"trial-{trial.index}", tags=tags)
        stamp = int(time.time() * 1000)
        metrics = [Metric("duration_s", float(trial.duration_s), stamp, trial.index)]
        if trial.ok:
            metrics.append(Metric(self.metric, float(trial.metric), stamp, trial.index))  # type: ignore[arg-type]
        params = [Param(name, str(optuna_value(value))) for name, value in trial.config.items()]
        client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=[RunTag("engine.kind", "trial")])
        client.set_terminated(run.info.run_id, "FINISHED" if trial.ok else "FAILED")

    def close(self) -> None:
        self._client = None
