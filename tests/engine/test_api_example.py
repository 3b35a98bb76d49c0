"""`engine.optimize` and `engine.resume` on the shipped digits example, offline: the Study a researcher gets
back names a configuration that ran, the best metric among the kept trials, and the run on disk; a resume
with a larger n adds trials to it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import engine
from interfaces import Decision

pytest.importorskip("sklearn")

DIGITS = Path(__file__).parents[2] / "examples" / "digits" / "train.py"
ITERATIONS = 2  # a digits trial trains for about a second; three trials keep the run short


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> engine.Study:
    return engine.optimize(DIGITS, metric="val_loss", n=ITERATIONS, levels="1", provider="heuristic",
                           run_dir=tmp_path_factory.mktemp("runs"), run_id="digits-api")


def ran(study: engine.Study) -> list:
    return [t for t in study.trials if t.decision is not Decision.REJECTED]


def test_the_study_holds_the_digits_run_and_its_best_trial(digits):
    assert (digits.status, digits.task, digits.metric, digits.direction) == (
        "finished", "script", "val_loss", "minimize")
    assert len(ran(digits)) == ITERATIONS + 1  # the baseline and one trial an iteration
    assert [t.index for t in digits.trials] == list(range(len(digits.trials)))
    assert digits.best_config in [t.config for t in digits.trials]
    kept = [t.metric for t in digits.trials if t.kept and t.metric is not None]
    assert digits.best_metric == min(kept) <= digits.baseline_metric
    assert digits.run_dir.is_dir() and (digits.run_dir / "run.sqlite").is_file()
    assert len(digits.optuna_study().trials) == len(digits.trials)


def test_a_resume_with_a_larger_n_adds_trials_to_the_digits_run(digits, tmp_path):
    copy = tmp_path / digits.run_id  # the shared run stays as it was for the other test
    shutil.copytree(digits.run_dir, copy, ignore=shutil.ignore_patterns("run.lock"))
    resumed = engine.resume(copy, n=ITERATIONS + 1)
    assert resumed.status == "finished" and resumed.settings.iterations == ITERATIONS + 1
    assert list(resumed.trials[:len(digits.trials)]) == list(digits.trials)
    assert len(ran(resumed)) == len(ran(digits)) + 1
    assert resumed.best_metric is not None and resumed.best_metric <= digits.best_metric
