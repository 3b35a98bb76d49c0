"""The default acceptance follows the task's noise floor, and the run stores the rule it chose."""

from __future__ import annotations

import pytest

from benchmarks.script_task import ScriptTask
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import Decision


def quad_run(tmp_path, monkeypatch, quad_script, noise_floor, **settings):
    monkeypatch.setattr(Run, "_task", lambda self: ScriptTask(quad_script, metric="loss", budget_s=10.0,
                                                              noise_floor=noise_floor))
    base = dict(task="script", task_options={"path": str(quad_script), "metric": "loss"}, provider="heuristic",
                iterations=4, levels=("1",), seed=0)
    result = Run.create(RunSettings(**{**base, **settings}), tmp_path).execute()
    with RunStore.open(result.run_dir / "run.sqlite") as store:
        return store.trials(result.run_id), store.run(result.run_id).settings, result


def test_without_a_floor_the_default_keeps_any_gain_and_says_so(tmp_path, monkeypatch, quad_script):
    trials, stored, _ = quad_run(tmp_path, monkeypatch, quad_script, None)
    assert stored["acceptance"] == "keep-if-better"
    assert any(t.decision is Decision.KEEP for t in trials)


def test_with_a_floor_a_gain_inside_it_is_not_kept_by_default(tmp_path, monkeypatch, quad_script):
    floor = 2.0  # quad.py's loss is 1.05 at the baseline and never below 0: every gain is inside the floor
    trials, stored, result = quad_run(tmp_path, monkeypatch, quad_script, floor)
    assert stored["acceptance"] == "noise-aware"
    baseline = next(t.metric for t in trials if t.decision is Decision.BASELINE)
    assert any(t.ok and t.metric < baseline for t in trials if t.decision is not Decision.BASELINE)
    assert not any(t.decision is Decision.KEEP for t in trials)
    # A resume decides by the stored rule, not by a default chosen again.
    assert Run.reopen(result.run_dir).settings.acceptance == "noise-aware"


def test_an_explicit_rule_is_kept_as_given(tmp_path, monkeypatch, quad_script):
    trials, stored, _ = quad_run(tmp_path, monkeypatch, quad_script, 1e6, acceptance="keep-if-better")
    assert stored["acceptance"] == "keep-if-better" and any(t.decision is Decision.KEEP for t in trials)


@pytest.mark.parametrize("floor", [None, 0.0])
def test_noise_aware_without_a_floor_is_refused(tmp_path, monkeypatch, quad_script, floor):
    from interfaces import ConfigError

    with pytest.raises(ConfigError, match="noise floor"):
        quad_run(tmp_path, monkeypatch, quad_script, floor, acceptance="noise-aware")
