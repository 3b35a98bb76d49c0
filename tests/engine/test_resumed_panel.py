"""A resumed run's panel starts from its store: the best so far and its trial, the trials and keeps, the
iteration reached, and the earlier sessions' time in the elapsed time and the pace."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from engine.history import CLOCK_STATE, RunHistory
from engine.progress import Progress, duration
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunPaths, RunStore
from interfaces import Decision

from .panel_clock import Clock

QUAD = Path(__file__).parent / "data" / "quad.py"


def _progress(clock: Clock, iterations: int) -> Progress:
    return Progress(Console(file=io.StringIO(), force_terminal=False), iterations=iterations, metric="loss",
                    minimize=True, live=False, clock=clock, load=lambda: 0.5, cores=2)


def test_a_restored_panel_counts_the_earlier_time_and_paces_by_every_iteration_timed():
    clock = Clock()
    progress = _progress(clock, iterations=12)
    progress.restore(RunHistory(trials=(), iterations_done=6, elapsed_s=600.0, iterations_s=540.0,
                                iterations_timed=6))
    text = progress.render()
    # 6 iterations left at the earlier sessions' 90 s each
    assert "resumed after iteration 6 of 12 | elapsed 10m00s (0s this session) | about 9m00s left (1m30s per" in text
    clock.now += 30
    progress.iteration_begun(7, 12)
    clock.now += 30
    assert (f"iteration 7 of 12, resumed at iteration 7 | elapsed 11m00s (1m00s this session) | "
            f"about {duration(6 * 90 - 30)} left") in progress.render()
    clock.now += 90
    progress.iteration_begun(8, 12)  # iteration 7 took 120 s: the pace is now 660 s over 7 iterations
    assert f"about {duration(5 * 660 / 7)} left ({duration(660 / 7)} per iteration)" in progress.render()


def test_a_run_whose_earlier_time_is_unknown_says_its_time_is_this_sessions():
    clock = Clock()
    progress = _progress(clock, iterations=12)
    progress.restore(RunHistory(trials=(), iterations_done=0, elapsed_s=None))
    clock.now += 90
    text = progress.render()
    assert "resumed before iteration 1 of 12 | elapsed 1m30s this session" in text
    assert "estimate after the first iteration" in text


def test_an_interrupted_run_resumed_with_more_iterations_shows_its_true_best_and_counts(tmp_path):
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss", "budget_s": 10.0},
                           provider="heuristic", iterations=6, levels=("1",))
    first = Run.create(settings, tmp_path)

    def stop_at_iteration_4(number: int, total: int) -> None:
        if number == 4:
            raise KeyboardInterrupt

    first.events.iteration_started = stop_at_iteration_4
    with pytest.raises(KeyboardInterrupt):
        first.execute()
    with RunStore.open(RunPaths(first.run_dir).store) as store:
        before = store.trials(first.run_id)
        clock_before = store.get_state(first.run_id, CLOCK_STATE)
    ran = [t for t in before if t.decision is not Decision.REJECTED]
    best = min((t for t in before if t.ok), key=lambda t: t.metric)
    baseline = next(t for t in before if t.decision is Decision.BASELINE)
    keeps = sum(t.decision is Decision.KEEP for t in before)
    assert best.index != baseline.index and clock_before["iterations_timed"] == 3

    clock = Clock()
    progress = _progress(clock, iterations=9)
    events = progress.events()
    shown: list[str] = []

    def restored(history: RunHistory) -> None:
        progress.restore(history)
        clock.now += 90
        shown.append(progress.render())

    def iteration_begun(number: int, total: int) -> None:
        progress.iteration_begun(number, total)
        if len(shown) == 1:
            shown.append(progress.render())

    events.run_resumed, events.iteration_started = restored, iteration_begun
    resumed = Run.reopen(first.run_dir, overrides={"iterations": 9}, events=events)
    assert resumed.execute().status == "finished"

    at_resume, first_iteration = shown
    pace = clock_before["iterations_s"] / 3
    assert (f"resumed after iteration 3 of 9 | elapsed {duration(clock_before['elapsed_s'] + 90)} (1m30s this "
            f"session) | about {duration(6 * pace)} left") in at_resume
    assert "iteration 4 of 9, resumed at iteration 4" in first_iteration
    for text in shown:
        assert f"trials run {len(ran)} " in text and f"keeps {keeps} " in text
        assert (f"best loss {best.metric:.4f} (trial #{best.index}, {best.metric - baseline.metric:+.4f} vs "
                "baseline)") in text
    with RunStore.open(RunPaths(first.run_dir).store) as store:
        after = store.trials(first.run_id)
        clock_after = store.get_state(first.run_id, CLOCK_STATE)
    # the earlier trials counted once: the panel's totals are the store's
    assert progress.ran == sum(t.decision is not Decision.REJECTED for t in after)
    assert progress.keeps == sum(t.decision is Decision.KEEP for t in after)
    assert progress.best == min(t.metric for t in after if t.ok)
    assert clock_after["iterations_timed"] == 9 and clock_after["elapsed_s"] > clock_before["elapsed_s"]
