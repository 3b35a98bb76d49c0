"""The harness reads recorded trials back from run stores and fits the surrogate task on them."""

from __future__ import annotations

import pytest

from benchmarks.surrogate import SurrogateTask, estimate_noise
from benchmarks.trial_stores import fit_from_stores, surrogate_from_stores, trials_from_stores
from engine.store import RunPaths, RunStore
from interfaces import ConfigError, Proposal

from .surrogate.synthetic import SPACE, synthetic_runs


def write_store(run_dir, runs):
    with RunStore.open(RunPaths(run_dir).store) as store:
        for run_id, trials in runs.items():
            store.create_run(run_id, task="gpt", settings={}, provider="none", model="none")
            for trial in trials:
                store.begin_trial(run_id, trial.index, Proposal(dict(trial.changes), ""), trial.config)
                store.finish_trial(run_id, trial, None)
    return RunPaths(run_dir).store


def test_every_run_of_every_store_comes_back_by_store_and_run(tmp_path):
    runs = synthetic_runs(3, 6, seed=4)
    first = write_store(tmp_path / "a", {"run0": runs["run0"], "run1": runs["run1"]})
    write_store(tmp_path / "b", {"run2": runs["run2"]})
    # a store file and a run directory name the same kind of thing
    read = trials_from_stores([first, tmp_path / "b"])
    assert read == {f"{first}::run0": runs["run0"], f"{first}::run1": runs["run1"],
                    f"{RunPaths(tmp_path / 'b').store}::run2": runs["run2"]}


def test_a_path_without_a_store_is_refused_without_creating_one(tmp_path):
    with pytest.raises(ConfigError) as caught:
        trials_from_stores([tmp_path])
    assert caught.value.code == "missing-store"
    assert list(tmp_path.iterdir()) == []


def test_the_surrogate_is_fitted_on_the_stored_trials_with_their_measured_noise(tmp_path):
    runs = synthetic_runs(2, 12, seed=5)
    repeated = dict(runs, run2=runs["run0"][:1])  # the default measured again: the noise is known
    store = write_store(tmp_path, repeated)
    trials = [t for ts in repeated.values() for t in ts]
    model = fit_from_stores([store], SPACE)
    assert model.noise == pytest.approx(estimate_noise(trials))
    assert model.data["fit"]["ok_trials"] == len(trials)
    task = surrogate_from_stores([store], SPACE, noise=0.01, noise_seed=3)
    assert isinstance(task, SurrogateTask) and task.noise_seed == 3 and task.model.noise == 0.01
