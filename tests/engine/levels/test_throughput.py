"""A trial slowed by a busy machine is flagged, said and stored; on a time budget it is measured again, and a
measurement at normal speed decides while one that is slow again is not kept."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from benchmarks.script_task import ScriptTask
from engine.levels import throughput
from engine.levels.inner import LoopEvents
from engine.levels.throughput import MEASURED_AGAIN, SLOW_MACHINE, ThroughputCheck
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import Decision, Trial, TrialStatus

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


@pytest.mark.parametrize(("remeasure", "fixed_work", "flagged", "measurements", "again"), [
    (1, False, True, 1, True),  # the first measurement, flagged: it runs once more
    (1, False, True, 2, False),  # flagged again after the one re-measurement allowed
    (2, False, True, 2, True),
    (0, False, True, 1, False),  # off
    (1, True, True, 1, False),  # fixed work: the metric stands, flag or not
    (1, False, False, 1, False),  # not flagged
])
def test_a_flagged_measurement_runs_again_under_a_time_budget_as_often_as_allowed(remeasure, fixed_work, flagged,
                                                                                  measurements, again):
    rule = dataclasses.replace(check(fixed_work=fixed_work), remeasure=remeasure)
    slow = throughput.SlowTrial(1, 0.3, 5.8) if flagged else None
    assert rule.measures_again(slow, measurements) is again


def stored(index, reason="", remeasure_of=None):
    return Trial(index, {"LR": 0.1}, {"LR": 0.1}, TrialStatus.OK, 1.0, Decision.DISCARD, reason=reason,
                 remeasure_of=remeasure_of)


def test_only_the_latest_measurement_of_a_configuration_can_await_its_next_one():
    flagged = f"{SLOW_MACHINE}: ran at 30% ...{MEASURED_AGAIN}"
    done = [stored(0), stored(1, flagged), stored(2, "measured again ...", remeasure_of=1)]
    assert throughput.awaiting_remeasure(done) == []
    cut = [stored(3, flagged), stored(4, flagged, remeasure_of=3), stored(5, flagged)]
    assert [t.index for t in throughput.awaiting_remeasure(done + cut)] == [4, 5]
    assert throughput.awaiting_remeasure([stored(6, f"{SLOW_MACHINE}: ran at 30% ...")]) == []


class PacedTask(ScriptTask):
    """paced.py; the baseline runs at 1000 tokens/s, every other trial at ``pace``, but that ``paces`` maps a
    learning rate to the paces of its configuration's runs, first first (then ``pace`` again).

    ``interrupt_at``: the index whose first run is cut by a KeyboardInterrupt after the trial is begun, as a
    kill would cut it."""

    def __init__(self, pace: float, fixed_work: bool, paces: dict[float, list[float]] | None = None,
                 interrupt_at: int | None = None) -> None:
        super().__init__(PACED, name="paced", metric="loss", budget_s=10.0, throughput_metric="tokens_per_sec",
                         fixed_work=fixed_work)
        self.pace = pace
        self.paces = {rate: list(paces) for rate, paces in (paces or {}).items()}
        self.interrupt_at = interrupt_at

    def build_trial(self, index, config):
        if index == self.interrupt_at:
            self.interrupt_at = None
            raise KeyboardInterrupt
        request = super().build_trial(index, config)
        planned = self.paces.get(config["LEARNING_RATE"], [])
        pace = 1000.0 if index == 0 else planned.pop(0) if planned else self.pace
        return dataclasses.replace(request, env={**request.env, "PACE": str(pace)})


def read(result):
    store = RunStore.open(result.run_dir / "run.sqlite")
    trials, iterations = store.trials(result.run_id), store.get_state(result.run_id, "iteration")
    store.close()
    return trials, iterations


def run(tmp_path, monkeypatch, *, load, pace=300.0, fixed_work=False, remeasure_slow=1, iterations=5, paces=None,
        task=None):
    monkeypatch.setattr(throughput, "machine_load", lambda: load)
    task = task or PacedTask(pace, fixed_work, paces)
    monkeypatch.setattr(Run, "_task", lambda self: task)
    said: list[str] = []
    settings = RunSettings(task="script", task_options={"path": str(PACED), "metric": "loss"},
                           provider="heuristic", iterations=iterations, levels=("1",), seed=0,
                           remeasure_slow=remeasure_slow)
    result = Run.create(settings, tmp_path, events=LoopEvents(message=said.append)).execute()
    trials, _ = read(result)
    return trials, said, result


def test_with_remeasuring_off_a_busy_machine_time_budget_run_keeps_nothing_it_measured_slowly(tmp_path, monkeypatch):
    quiet, quiet_said, _ = run(tmp_path / "quiet", monkeypatch, load=QUIET, remeasure_slow=0)
    busy, busy_said, result = run(tmp_path / "busy", monkeypatch, load=BUSY, remeasure_slow=0)
    assert any(t.decision is Decision.KEEP for t in quiet), "the heuristic should improve paced.py"
    assert not any(SLOW_MACHINE in t.reason for t in quiet) and not any("throughput" in m for m in quiet_said)
    assert all(t.remeasure_of is None for t in busy), "0 measures nothing again"
    ran = [t for t in busy if t.ok and t.decision is not Decision.BASELINE]
    assert ran and all(t.reason.startswith(f"{SLOW_MACHINE}: ran at 30% ") for t in ran)
    assert not any(t.reason.endswith(MEASURED_AGAIN) for t in ran)
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


def test_a_flagged_trial_is_measured_again_and_the_measurement_at_normal_speed_decides(tmp_path, monkeypatch):
    # On a quiet machine the heuristic's second proposal (trial 2) is kept; here it alone runs slowly.
    busy, said, result = run(tmp_path, monkeypatch, load=BUSY, pace=1000.0, iterations=2, paces={0.005: [300.0]})
    flagged, again = busy[2], busy[3]
    assert flagged.decision is Decision.DISCARD and flagged.remeasure_of is None
    assert flagged.reason == (f"{SLOW_MACHINE}: ran at 30% of the baseline's throughput (load 5.8); its metric is "
                              "not comparable; it is measured again")
    assert again.remeasure_of == 2 and again.config == flagged.config and again.changes == flagged.changes
    assert again.decision is Decision.KEEP and again.metric == flagged.metric < busy[0].metric
    assert again.reason == ("measured again after a slow machine (trial 2 at 30% of the baseline's throughput); "
                            "this measurement ran at normal speed and decides")
    assert [m for m in said if "again" in m] == [
        "trial 2 ran at 30% of the baseline's throughput (load 5.8): its metric is not comparable; measuring it again",
        "trial 3 measured trial 2's configuration again at normal speed: its metric decides"]
    proposed = [t for t in busy if t.remeasure_of is None and t.decision is not Decision.BASELINE]
    assert [t.index for t in busy] == [0, 1, 2, 3] and len(proposed) == 2, "the re-measurement uses no iteration"
    assert read(result)[1] == 2
    report = result.report.read_text()
    assert "| 3 (again: 2) |" in report and "- measured again after a `slow-machine` flag" in report


def test_a_measurement_slow_again_is_not_kept_and_both_ratios_are_said(tmp_path, monkeypatch):
    busy, said, result = run(tmp_path, monkeypatch, load=BUSY, pace=1000.0, iterations=2,
                             paces={0.005: [300.0, 280.0]})
    assert [(t.index, t.remeasure_of, t.decision) for t in busy] == [
        (0, None, Decision.BASELINE), (1, None, Decision.DISCARD), (2, None, Decision.DISCARD),
        (3, 2, Decision.DISCARD)]
    twice = (f"{SLOW_MACHINE} twice: trial 2 at 30% and trial 3 at 28% of the baseline's throughput (load 5.8); "
             "its metric is not comparable")
    assert busy[3].reason == twice
    assert f"{SLOW_MACHINE} twice: trial 2 at 30% and trial 3 at 28%" in result.report.read_text()
    assert said[-1] == ("trial 3 (trial 2's configuration again) ran at 28% of the baseline's throughput "
                        f"(load 5.8), after 30%: {SLOW_MACHINE} twice, not kept")


def test_every_flagged_trial_of_a_busy_run_is_measured_once_more_and_none_is_kept(tmp_path, monkeypatch):
    busy, _, _ = run(tmp_path, monkeypatch, load=BUSY, iterations=2)
    firsts = [t for t in busy if t.remeasure_of is None and t.decision is not Decision.BASELINE]
    agains = [t for t in busy if t.remeasure_of is not None]
    assert len(firsts) == 2 and [t.remeasure_of for t in agains] == [t.index for t in firsts]
    assert all(t.reason.startswith(f"{SLOW_MACHINE} twice: ") for t in agains)
    assert not any(t.decision is Decision.KEEP for t in busy)


def test_a_run_cut_before_the_re_measurement_resumes_with_it_and_loses_or_repeats_nothing(tmp_path, monkeypatch):
    task = PacedTask(1000.0, False, paces={0.005: [300.0]}, interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, monkeypatch, load=BUSY, iterations=2, task=task)
    (run_dir,) = tmp_path.iterdir()
    store = RunStore.open(run_dir / "run.sqlite")
    run_id = store.runs()[0].run_id
    before, cut = store.trials(run_id), store.in_flight(run_id)
    store.close()
    assert [t.index for t in before] == [0, 1, 2] and before[2].reason.endswith(MEASURED_AGAIN) and cut == [3]
    said: list[str] = []
    result = Run.reopen(run_dir, events=LoopEvents(message=said.append)).execute()
    trials, iterations = read(result)
    assert "re-running 1 trial(s) that were in flight: [3]" in said
    assert trials[:3] == before, "what finished before the cut is untouched"
    assert [(t.index, t.remeasure_of) for t in trials] == [(0, None), (1, None), (2, None), (3, 2)]
    assert trials[3].config == before[2].config and trials[3].decision is Decision.KEEP
    assert iterations == 2 and result.status == "finished"
