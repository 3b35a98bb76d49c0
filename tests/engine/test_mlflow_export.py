"""`--mlflow-uri` (the optional `mlflow` extra): one MLflow experiment per engine run, a parent run for the
engine run with its report, plot and best script, and nested under it one MLflow run per trial with the
trial's params, metric, reported numbers, record, script and output tails, logged once even across a
resume; an export that fails is said with its code and the run goes on; without MLflow the flag is
refused."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import engine
from engine.executors import trial_workdirs
from engine.store import RunPaths, RunStore
from interfaces import ConfigError

DATA = Path(__file__).parent / "data"
QUAD = DATA / "quad.py"
REPORTING = DATA / "quad_reporting.py"
HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None
needs_mlflow = pytest.mark.skipif(not HAS_MLFLOW,
                                  reason="mlflow is not installed (the optional extra: pip install -e '.[mlflow]')")


def experiment_runs(uri: str, experiment: str) -> tuple[object, list]:
    """The parent run of the experiment and its trial runs in index order (deleted runs left out)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([found.experiment_id], max_results=1000)
    parents = [run for run in runs if run.data.tags.get("engine.kind") == "run"]
    assert len(parents) == 1, f"{len(parents)} parent runs"
    trials = [run for run in runs if run.data.tags.get("engine.kind") != "run"]
    return parents[0], sorted(trials, key=lambda run: int(run.data.tags["engine.trial_index"]))


def artefacts(uri: str, run_id: str, into: Path) -> dict[str, bytes]:
    """Every artefact of one MLflow run, by name, as downloaded."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    names = [item.path for item in client.list_artifacts(run_id)]
    into.mkdir(parents=True)
    return {name: Path(client.download_artifacts(run_id, name, str(into))).read_bytes() for name in names}


def check_summary(uri: str, parent, run_dir: Path, into: Path, *, script: str) -> None:
    assert parent.info.status == "FINISHED" and parent.data.tags["engine.status"] == "finished"
    logged = artefacts(uri, parent.info.run_id, into)
    assert set(logged) == {"report.md", "progress.png", f"best_{script}"}
    for name, content in logged.items():
        assert content == (run_dir / name).read_bytes(), name


@needs_mlflow
def test_each_trial_is_one_nested_mlflow_run_with_its_numbers_record_script_and_output_and_a_resume_adds_only_new_ones(
        tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = engine.optimize(REPORTING, metric="loss", n=2, levels="1", run_dir=tmp_path / "runs", mlflow_uri=uri,
                            metric_file="metrics.json")
    parent, runs = experiment_runs(uri, study.run_id)
    assert parent.info.run_name == study.run_id
    assert [int(run.data.tags["engine.trial_index"]) for run in runs] == [t.index for t in study.trials]
    with RunStore.open(RunPaths(study.run_dir).store) as store:
        model_calls = len(store.llm_call_rows(study.run_id))
    assert model_calls >= 2  # a proposal for each of the two iterations
    for run, trial in zip(runs, study.trials, strict=True):
        assert run.info.run_name == f"trial-{trial.index}"
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.params == {name: str(value) for name, value in trial.config.items()}
        assert run.data.tags["engine.decision"] == trial.decision.value
        assert run.info.status == ("FINISHED" if trial.ok else "FAILED")
        assert trial.ok  # the objective never fails: every trial reports every number
        assert run.data.metrics["loss"] == pytest.approx(trial.metric)
        assert run.data.metrics["tokens_per_second"] == 1000.0 * trial.config["BATCH_SIZE"]
        assert run.data.metrics["num_steps"] == 10 * trial.config["DEPTH"]
        assert "top@1" not in run.data.metrics and run.data.tags["engine.metrics_not_logged"] == "top@1"
        logged = artefacts(uri, run.info.run_id, tmp_path / "got" / str(trial.index))
        assert set(logged) == {"trial.json", "quad_reporting.py", "stdout_tail.txt", "stderr_tail.txt"}
        assert json.loads(logged["trial.json"]) == json.loads(json.dumps(trial.to_dict()))
        ran = trial_workdirs(RunPaths(study.run_dir).trials, trial.index)[-1] / "quad_reporting.py"
        assert logged["quad_reporting.py"] == ran.read_bytes()
        assert f"BATCH_SIZE = {trial.config['BATCH_SIZE']}" in logged["quad_reporting.py"].decode()
        assert f"loss: {trial.metric:.6f}" in logged["stdout_tail.txt"].decode()
        assert logged["stderr_tail.txt"].decode().strip() == f"data ready, depth {trial.config['DEPTH']}"
    assert runs[0].data.metrics["model_calls"] == 0  # the baseline: nothing was asked before it
    assert sum(run.data.metrics["model_calls"] for run in runs) == model_calls
    check_summary(uri, parent, study.run_dir, tmp_path / "summary", script="quad_reporting.py")
    assert not (tmp_path / "mlruns").exists() and not Path("mlruns").exists()  # nothing in the working folder

    resumed = engine.resume(study, n=4)
    again, more = experiment_runs(uri, study.run_id)
    assert again.info.run_id == parent.info.run_id
    assert [int(run.data.tags["engine.trial_index"]) for run in more] == [t.index for t in resumed.trials]
    assert {run.data.tags["mlflow.parentRunId"] for run in more} == {parent.info.run_id}
    check_summary(uri, again, study.run_dir, tmp_path / "summary-again", script="quad_reporting.py")


@needs_mlflow
def test_an_export_that_fails_is_said_with_its_code_the_run_goes_on_and_a_resume_logs_what_was_missing(
        tmp_path, caplog):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    (tmp_path / "mlartifacts").write_text("a file where the artefact folder should be")
    with caplog.at_level("INFO", logger="engine"):
        study = engine.optimize(QUAD, metric="loss", n=1, levels="1", run_dir=tmp_path / "runs", mlflow_uri=uri)
    assert study.status == "finished" and len(study.trials) == 2
    said = [record.getMessage() for record in caplog.records]
    failed = [text for text in said if text.startswith("[mlflow-sync-failed] ")]
    assert len(failed) == 1 and "has 0 of" in failed[0] and "the store has them all" in failed[0]
    assert [text for text in said if text.startswith("[mlflow-finish-failed] ")]
    parent, runs = experiment_runs(uri, study.run_id)
    assert runs == []  # a trial whose artefacts failed is not left half logged
    assert parent.info.status == "FINISHED" and parent.data.tags["engine.status"] == "finished"

    (tmp_path / "mlartifacts").unlink()
    resumed = engine.resume(study, n=2)
    parent, runs = experiment_runs(uri, study.run_id)
    assert [int(run.data.tags["engine.trial_index"]) for run in runs] == [t.index for t in resumed.trials]
    assert all(run.info.status == "FINISHED" for run in runs)
    check_summary(uri, parent, study.run_dir, tmp_path / "summary", script="quad.py")


@needs_mlflow
def test_a_file_store_works_when_mlflow_is_told_to_allow_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    study = engine.optimize(QUAD, metric="loss", n=1, levels="1", run_dir=tmp_path / "runs", mlflow_uri=uri)
    parent, runs = experiment_runs(uri, study.run_id)
    assert [int(run.data.tags["engine.trial_index"]) for run in runs] == [t.index for t in study.trials]
    for run, trial in zip(runs, study.trials, strict=True):
        logged = artefacts(uri, run.info.run_id, tmp_path / "got" / str(trial.index))
        assert json.loads(logged["trial.json"])["config"] == dict(trial.config)
    check_summary(uri, parent, study.run_dir, tmp_path / "summary", script="quad.py")


def test_without_mlflow_the_flag_is_refused_before_a_run_is_made(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(ConfigError) as refused:
        engine.optimize(QUAD, metric="loss", n=1, levels="1", run_dir=tmp_path, mlflow_uri="sqlite:///x.db")
    assert refused.value.code == "mlflow-not-installed" and '.[mlflow]' in refused.value.message
    assert list(tmp_path.iterdir()) == []
