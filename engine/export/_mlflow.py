"""The run's trials as MLflow runs (``--mlflow-uri``; needs the ``mlflow`` extra).

One MLflow experiment per engine run, named after it, holding one parent run named after it
(tag ``engine.kind`` ``run``) and, nested under it, one MLflow run per trial, named ``trial-<index>``.
A trial's run has the trial's configuration as params; as metrics its metric (when it ran to one),
``duration_s``, every other number it reported (the GPT task's ``tokens_per_second``, ``num_steps``...)
and the model work counted with it (``model_calls``, ``model_tokens``, ``model_seconds``); tags
``engine.run_id``, ``engine.trial_index``, ``engine.status``, ``engine.decision``, ``engine.source`` and
``engine.reason`` (and ``engine.remeasure_of`` for a trial that ran
another trial's configuration again), the rationale as the run's note; and as artefacts ``trial.json`` (the stored record:
config, changes, rationale, output tail) and, when the run still has the trial's directory, the
scripts it ran and ``stdout_tail.txt`` / ``stderr_tail.txt``. A trial with a metric ends ``FINISHED``,
every other one ``FAILED``. When the engine run ends, its parent run gets ``report.md``,
``progress.png`` and the best trial's script (``best_<script>.py``) and ends ``FINISHED`` (finished
or stopped at a budget), ``KILLED`` (interrupted) or ``FAILED``; a resume sets it running again.

Like the Optuna copy, :meth:`MlflowMirror.sync` adds the stored trials the experiment lacks and is
idempotent: an MLflow run a kill left unterminated is deleted and logged again, and so is one whose
logging failed part way. For a local ``sqlite:///`` URI the experiment's artifact location is a folder
beside the database (nothing is written into the working directory). MLflow 3 refuses a ``file:``
store unless ``MLFLOW_ALLOW_FILE_STORE=true``; a local ``sqlite:///path/mlflow.db`` needs nothing.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from interfaces import Trial

from ..store import RunPaths
from ._mirror import Mirror
from ._optuna import optuna_value
from ._trial_details import TrialDetails

__all__ = ["MlflowMirror"]

_TAG_CHARS = 5000
#: What MLflow accepts as a metric name (on POSIX); a metric file's key may be anything.
_METRIC_NAME = re.compile(r"[\w.\- :/]+")
#: The MLflow status of the parent run for each way an engine run ends (any other: ``FAILED``).
_PARENT_STATUS = {"finished": "FINISHED", "stopped": "FINISHED", "interrupted": "KILLED"}


def _loggable_metric_name(name: str) -> bool:
    return bool(_METRIC_NAME.fullmatch(name)) and posixpath.normpath(name) == name and not name.startswith("/")


class MlflowMirror(Mirror):
    """The MLflow experiment of one run, kept equal to the run's stored trials by :meth:`sync`.

    ``details`` gives each trial's numbers and files beyond its record (None: the record only);
    ``run_dir`` is where :meth:`finish` finds the report, the plot and the best script (None: nothing).
    """

    target = "mlflow"

    def __init__(self, uri: str, run_id: str, *, metric: str, minimize: bool, task: str = "",
                 details: Callable[[Trial], TrialDetails] | None = None, run_dir: Path | None = None) -> None:
        self.uri = uri
        self.run_id = run_id
        self.metric = metric
        self.minimize = minimize
        self.task = task
        self.details = details
        self.run_dir = run_dir
        self._client: Any = None
        self._experiment_id = ""
        self._parent = ""
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
        parent = None
        token = None
        while True:
            page = client.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY, max_results=1000,
                                      page_token=token)
            for run in page:
                if run.data.tags.get("engine.kind") == "run":
                    parent = run
                    continue
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
        if parent is None:
            parent = client.create_run(experiment_id, run_name=self.run_id,
                                       tags={"engine.kind": "run", "engine.run_id": self.run_id})
        elif parent.info.status != "RUNNING":  # a resume: the run goes on
            client.update_run(parent.info.run_id, status="RUNNING")
        self._client, self._experiment_id, self._synced = client, experiment_id, synced
        self._parent = parent.info.run_id
        return client

    def _add(self, client: Any, trial: Trial) -> None:
        from mlflow.entities import Metric, Param, RunTag

        details = self.details(trial) if self.details is not None else TrialDetails()
        values = {name: float(value) for name, value in details.metrics.items()}
        values["duration_s"] = float(trial.duration_s)
        if trial.ok:
            values[self.metric] = float(trial.metric)  # type: ignore[arg-type]
        else:  # a number printed before the trial failed is not its result
            values.pop(self.metric, None)
        unloggable = sorted(name for name in values if not _loggable_metric_name(name))
        tags = {"engine.run_id": self.run_id, "engine.trial_index": str(trial.index),
                "engine.status": trial.status.value, "engine.decision": trial.decision.value,
                "engine.source": trial.source, "engine.reason": trial.reason[:_TAG_CHARS],
                "mlflow.note.content": trial.rationale[:_TAG_CHARS], "mlflow.parentRunId": self._parent}
        if unloggable:
            tags["engine.metrics_not_logged"] = ", ".join(unloggable)[:_TAG_CHARS]
        if trial.remeasure_of is not None:
            tags["engine.remeasure_of"] = str(trial.remeasure_of)
        run = client.create_run(self._experiment_id, run_name=f"trial-{trial.index}", tags=tags)
        run_id = run.info.run_id
        stamp = int(time.time() * 1000)
        metrics = [Metric(name, value, stamp, trial.index) for name, value in sorted(values.items())
                   if name not in unloggable]
        params = [Param(name, str(optuna_value(value))) for name, value in trial.config.items()]
        try:
            client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag("engine.kind", "trial")])
            client.log_dict(run_id, trial.to_dict(), "trial.json")
            for name, text in details.files.items():
                client.log_text(run_id, text, name)
            client.set_terminated(run_id, "FINISHED" if trial.ok else "FAILED")
        except Exception:
            # Not left half logged: the next sync logs the trial again, from its creation.
            client.delete_run(run_id)
            raise

    def finish(self, status: str) -> str:
        """Log the run's report, plot and best script to the parent run, and end it as ``status`` says."""
        # Broad on purpose, as in sync: the run has ended whole; the caller reports the error.
        try:
            client = self._open()
            try:
                for path in self._summary_files():
                    client.log_artifact(self._parent, str(path))
            finally:  # the parent says how the run ended even when its files could not be logged
                client.set_tag(self._parent, "engine.status", status)
                client.set_terminated(self._parent, _PARENT_STATUS.get(status, "FAILED"))
        except Exception as exc:  # noqa: BLE001 - a copy for other tools; the run directory is the record
            return f"{type(exc).__name__}: {exc}"[:500]
        return ""

    def _summary_files(self) -> list[Path]:
        if self.run_dir is None:
            return []
        paths = RunPaths(self.run_dir)
        found = [paths.report, paths.progress, *sorted(self.run_dir.glob("best_*.py"))]
        return [path for path in found if path.is_file()]

    def close(self) -> None:
        self._client = None
