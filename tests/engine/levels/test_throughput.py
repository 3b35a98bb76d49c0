"""A trial slowed by a busy machine is flagged, said, stored, and not kept on a time budget."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from benchmarks.script_task import ScriptTask
from engine.levels import throughput
from engine.levels.inner import LoopEvents
from engine.levels.throughput import SLOW_MACHINE, ThroughputCheck
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import Decision

PACED = Path(__file__).parents[1] / "data" / "paced.py"
BUSY, QUIET = (5.8, 2), (0.4, 2)


def check(load=BUSY, fixed_work=False) -> ThroughputCheck:
    return ThroughputCheck("tokens_per_sec", fixed_work=fixed_work, load=lambda: load)


def test_a_trial_below_the_fraction_on_a_busy_machine_is_flagged_with_its_ratio_and_load():
    slow = check().slow(7, {"tokens_per_sec": 410.0}, {"tokens_per_sec": 1000.0})
    assert slow is not None and slow.index == 7 and slow.ratio == pytest.approx(0.41) and slow.load == 5.8
    assert slow.line() == ("trial 7 ran at 41% of the baseline's throughput (load 5.8): "
                           "its metric is not comparable")
    assert slow.reason().startswith(f"{SLOW_MACHINE}: ran at 41% ")


@pytest.mark.parametrize(("metrics", "baseline", "load"), [
    ({"tokens_per_sec": 700.0}, {"tokens_per_sec": 1000.0}, BUSY),  # at the fraction: not below it
    ({"tokens_per_sec": 100.0}, {"tokens_per_sec": 1000.0}, QUIET),  # slow by its own configuration
    ({}, {"tokens_per_sec": 1000.0}, BUSY),  # the trial reported no throughput
    ({"tokens_per_sec": 100.0}, {"tokens_per_sec": 0.0}, BUSY),  # no baseline throughput to compare with
])
def test_no_flag_without_evidence_of_a_slow_machine(metrics, baseline, load):
    assert check(load).slow(3, metrics, baseline) is None


def test_a_task_without_a_throughput_metric_is_not_checked():
    assert ThroughputCheck.for_task(ScriptTask(PACED, metric="loss")) is None
    task = ScriptTask(PACED, metric="loss", throughput_metric="tokens_per_sec", fixed_work=True)
    assert ThroughputCheck.for_task(task) == ThroughputCheck("tokens_per_sec", fixed_work=True)


@given(would_keep=st.booleans(), fixed_work=st.booleans(), flagged=st.booleans())
def test_the_flag_never_turns_a_discard_into_a_keep(would_keep, fixed_work, flagged):
    rule = check(fixed_work=fixed_work)
    slow = throughput.SlowTrial(1, 0.3, 5.8) if flagged else None
    kept = rule.keep(would_keep, slow)
    assert kept <= would_keep
    assert kept == (would_keep and (not flagged or fixed_work))


class PacedTask(ScriptTask):
    """paced.py; the baseline runs at 1000 tokens/s, every other trial at ``pace``."""

    def __init__(self, pace: float, fixed_work: bool) -> None:
        super().__init__(PACED, name="paced", metric="loss", budget_s=10.0, throughput_metric="tokens_per_sec",
                         fixed_work=fixed_work)
        self.pace = pace

    def build_trial(self, index, config):
        request = super().build_trial(index, config)
        pace = 1000.0 if index == 0 else self.pace
        return dataclasses.replace(request, env={**request.env, "PACE": str(pace)})


def run(tmp_path, monkeypatch, *, load, pace=300.0, fixed_work=False):
    monkeypatch.setattr(throughput, "machine_load", lambda: load)
    monkeypatch.setattr(Run, "_task", lambda self: PacedTask(pace, fixed_work))
    said: list[str] = []
    settings = RunSettings(task="script", task_options={"path": str(PACED), "metric": "loss"},
                           provider="heuristic", iterations=5, levels=("1",), seed=0)
    result = Run.create(settings, tmp_path, events=LoopEvents(message=said.append)).execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    trials = store.trials(result.run_id)
    store.close()
    return trials, said, result


def test_on_a_busy_machine_a_time_budget_run_keeps_nothing_it_measured_slowly(tmp_path, monkeypatch):
    quiet, quiet_said, _ = run(tmp_path / "quiet", monkeypatch, load=QUIET)
    busy, busy_said, result = run(tmp_path / "busy", monkeypatch, load=BUSY)
    assert any(t.decision is Decision.KEEP for t in quiet), "the heuristic should improve paced.py"
    assert not any(SLOW_MACHINE in t.reason for t in quiet) and not any("throughput" in m for m in quiet_said)
    ran = [t for t in busy if t.ok and t.decision is not Decision.BASELINE]
    assert ran and all(t.reason.startswith(f"{SLOW_MACHINE}: ran at 30% ") for t in ran)
    assert not any(t.decision is Decision.KEEP for t in busy)
    lines = [m for m in busy_said if "of the baseline's throughput" in m]
    assert lines == [f"trial {t.index} ran at 30% of the baseline's throughput (load 5.8): its metric is not "
                     "comparable" for t in ran]
    report = result.report.read_text()
    assert "| tokens_per_sec |" in report and "| 300 |" in report and "| 1000 |" in report
    assert report.count(f"{SLOW_MACHINE}: ran at 30%") == len(ran)


def test_with_fixed_work_a_slow_trial_is_flagged_but_decided_on_its_metric(tmp_path, monkeypatch):
    quiet, _, _ = run(tmp_path / "quiet", monkeypatch, load=QUIET, fixed_work=True)
    busy, _, _ = run(tmp_path / "busy", monkeypatch, load=BUSY, fixed_work=True)
    assert [(t.index, t.decision, t.metric) for t in busy] == [(t.index, t.decision, t.metric) for t in quiet]
    assert any(t.decision is Decision.KEEP for t in busy)
    assert all(t.reason.startswith(SLOW_MACHINE) for t in busy if t.ok and t.decision is not Decision.BASELINE)


def test_after_the_baseline_the_run_is_told_when_slow_trials_cannot_be_flagged_and_only_then():
    assert throughput.baseline_notice(check(), {"tokens_per_sec": 1000.0, "loss": 1.0}) is None
    missing = throughput.baseline_notice(check(), {"tokens_per_sec": 0.0, "loss": 1.0})
    assert missing is not None and missing.startswith("throughput-metric-missing: the baseline reported no positive "
                                                      "tokens_per_sec") and missing.endswith("loss, tokens_per_sec")
    unnamed = throughput.baseline_notice(None, {"loss": 1.0, "num_steps": 100.0})
    assert unnamed is not None and unnamed.startswith("slow trials cannot be flagged") and "e.g." not in unnamed
