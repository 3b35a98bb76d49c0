"""`--mlflow-uri` (the optional `mlflow` extra): each trial is one MLflow run with the trial's params and metric,
in one experiment per engine run, logged once even across a resume; without MLflow the flag is refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import engine
from interfaces import ConfigError

QUAD = Path(__file__).parent / "data" / "quad.py"
HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None


def mlflow_runs(uri: str, experiment: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([found.experiment_id], max_results=1000)
    return sorted(runs, key=lambda run: int(run.data.tags["engine.trial_index"]))


@pytest.mark.skipif(not HAS_MLFLOW, reason="mlflow is not installed (the optional extra: pip install -e '.[mlflow]')")
def test_each_trial_is_one_mlflow_run_with_its_params_and_metric_and_a_resume_adds_only_new_ones(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = engine.optimize(QUAD, metric="loss", n=2, levels="1", run_dir=tmp_path / "runs", mlflow_uri=uri)
    runs = mlflow_runs(uri, study.run_id)
    assert [int(run.data.tags["engine.trial_index"]) for run in runs] == [t.index for t in study.trials]
    for run, trial in zip(runs, study.trials, strict=True):
        assert run.info.run_name == f"trial-{trial.index}"
        assert run.data.params == {name: str(value) for name, value in trial.config.items()}
        assert run.data.tags["engine.decision"] == trial.decision.value
        assert run.info.status == ("FINISHED" if trial.ok else "FAILED")
        if trial.ok:
            assert run.data.metrics["loss"] == pytest.approx(trial.metric)
    assert not (tmp_path / "mlruns").exists() and not Path("mlruns").exists()  # nothing in the working folder
    resumed = engine.resume(study, n=4)
    again = mlflow_runs(uri, study.run_id)
    assert [int(run.data.tags["engine.trial_index"]) for run in again] == [t.index for t in resumed.trials]


def test_without_mlflow_the_flag_is_refused_before_a_run_is_made(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(ConfigError) as refused:
        engine.optimize(QUAD, metric="loss", n=1, levels="1", run_dir=tmp_path, mlflow_uri="sqlite:///x.db")
    assert refused.value.code == "mlflow-not-installed" and '.[mlflow]' in refused.value.message
    assert list(tmp_path.iterdir()) == []
