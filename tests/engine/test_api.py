"""`engine.optimize` / `engine.resume` / `engine.load`: a run from Python is the command's run, its result a
record, a resume extends it, and every refusal is a typed error (never SystemExit) before anything runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import engine
from engine.store import RunStore
from interfaces import AutoresearchError, ConfigError, Trial

QUAD = Path(__file__).parent / "data" / "quad.py"
QUAD_BASELINE = 1.05  # the loss quad.py prints for its own defaults


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[engine.Study, list[Trial]]:
    seen: list[Trial] = []
    study = engine.optimize(QUAD, metric="loss", n=3, levels="1", run_dir=tmp_path_factory.mktemp("runs"),
                            run_id="quad-api", on_trial=seen.append)
    return study, seen


@pytest.fixture
def finished(made) -> engine.Study:
    return made[0]


@pytest.fixture
def copy_of(finished, tmp_path):
    """A copy of the finished run to resume, so the shared one stays as it was."""
    target = tmp_path / "runs" / finished.run_id
    shutil.copytree(finished.run_dir, target, ignore=shutil.ignore_patterns("run.lock"))
    return target


def stored_trials(run_dir: Path) -> list[Trial]:
    with RunStore.open(run_dir) as store:
        return list(store.trials(store.runs()[0].run_id))


def test_optimize_returns_the_run_as_a_record_of_its_trials(finished):
    assert finished.status == "finished" and finished.task == "script" and finished.metric == "loss"
    assert finished.direction == "minimize" and finished.settings.iterations == 3
    assert list(finished.trials) == stored_trials(finished.run_dir)
    assert [t.index for t in finished.trials] == list(range(len(finished.trials)))
    assert finished.baseline_metric == pytest.approx(QUAD_BASELINE)
    kept = [t for t in finished.trials if t.kept]
    assert finished.best_trial == kept[-1]
    assert finished.best_metric == finished.best_trial.metric <= finished.baseline_metric
    assert finished.best_config == finished.best_trial.config
    assert (finished.run_dir / "best_quad.py").read_text().count(
        f"LEARNING_RATE = {finished.best_config['LEARNING_RATE']!r}") == 1
    assert finished.report is not None and finished.report.exists()


def test_on_trial_sees_every_trial_the_loop_finished(made):
    finished, seen = made
    assert seen == list(finished.trials)  # the baseline too, each as it was stored


def test_load_reads_a_run_without_running_it(finished):
    again = engine.load(finished.run_id, run_dir=finished.run_dir.parent)
    assert again == finished
    assert engine.load(finished.run_dir) == finished


def test_resume_with_a_larger_n_runs_more_iterations(copy_of):
    before = stored_trials(copy_of)
    resumed = engine.resume(copy_of, n=6)
    assert resumed.status == "finished" and resumed.settings.iterations == 6
    with RunStore.open(copy_of) as store:
        assert store.get_state(resumed.run_id, "iteration") == 6
        assert store.run(resumed.run_id).settings["iterations"] == 6
    assert list(resumed.trials[:len(before)]) == before
    assert len(resumed.trials) >= len(before) + 3
    assert 'iterations = 6' in (copy_of / "config.toml").read_text()
    assert len(resumed.optuna_study().trials) == len(resumed.trials)


@pytest.mark.parametrize("change, named", [({"seed": 5}, "seed (0 -> 5)"),
                                           ({"levels": "1,1.5"}, "levels"),
                                           ({"budget": 10.0}, "task option budget_s (60.0 -> 10.0)")])
def test_resume_refuses_by_name_a_setting_a_resume_cannot_change(copy_of, change, named):
    before = stored_trials(copy_of)
    with pytest.raises(ConfigError) as refused:
        engine.resume(copy_of, n=6, **change)
    assert refused.value.code == "resume-setting-changed" and named in refused.value.message
    assert stored_trials(copy_of) == before
    assert engine.load(copy_of).settings.iterations == 3


def test_resume_takes_a_setting_given_with_its_stored_value(copy_of):
    resumed = engine.resume(copy_of, n=4, seed=0, budget=60.0, levels="1")
    assert resumed.settings.iterations == 4 and resumed.status == "finished"


def test_resume_refuses_fewer_iterations_than_already_ran(copy_of):
    with pytest.raises(ConfigError) as refused:
        engine.resume(copy_of, n=2)
    assert refused.value.code == "resume-iterations-below-done" and "already run 3 iterations" in str(refused.value)


@pytest.mark.parametrize("call, code, words", [
    (lambda runs: engine.optimize("no-such-task", run_dir=runs), "unknown-target", "gpt, script, surrogate"),
    (lambda runs: engine.optimize(QUAD, run_dir=runs), "metric-required", "metric=NAME"),
    (lambda runs: engine.optimize(QUAD, metric="loss", research_samples=2, run_dir=runs), "unknown-setting",
     "did you mean samples"),
    (lambda runs: engine.optimize(QUAD, metric="loss", iterations=2, run_dir=runs), "duplicate-setting", "n="),
    (lambda runs: engine.optimize(QUAD.parent / "missing.py", metric="loss", run_dir=runs), "script-not-found",
     "missing.py"),
    (lambda runs: engine.optimize("surrogate", metric="loss", run_dir=runs), "metric-mismatch", "val_bpb"),
    (lambda runs: engine.optimize("surrogate", task_options={"bogus": 1}, run_dir=runs), "bad-task-options",
     "bogus"),
    (lambda runs: engine.optimize(QUAD, metric="loss", levels="1,3", run_dir=runs), "bad-config", "levels"),
    (lambda runs: engine.resume("nowhere", run_dir=runs), "no-run", "nowhere"),
])
def test_bad_input_is_a_typed_error_before_any_run_is_made(tmp_path, call, code, words):
    runs = tmp_path / "runs"
    with pytest.raises(AutoresearchError) as refused:
        call(runs)
    assert refused.value.code == code and words in str(refused.value)
    assert not runs.exists() or not any(runs.iterdir())


def test_a_run_that_fails_once_started_raises_typed_and_stays_resumable(tmp_path):
    with pytest.raises(AutoresearchError) as failed:
        engine.optimize(QUAD, metric="loss", n=1, levels="1", provider="replay", run_dir=tmp_path, run_id="r")
    assert failed.value.code == "replay-missing"
    assert engine.load(tmp_path / "r").status == "failed"


def test_a_named_task_runs_with_its_own_metric(tmp_path):
    study = engine.optimize("surrogate", n=2, levels="1", run_dir=tmp_path)
    assert study.task == "surrogate" and study.metric == "val_bpb" and study.status == "finished"
    assert study.baseline_metric is not None and study.best_metric <= study.baseline_metric
    assert len(study.optuna_study().trials) == len(study.trials) >= 3
