"""The live panel says where the run is, what the model is doing, how long is left, and when the machine is
overloaded; a real run feeds it the events in order."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from engine.levels.inner import LoopEvents
from engine.progress import Progress, duration
from engine.runner import Run
from engine.settings import RunSettings

from .panel_clock import Clock

QUAD = Path(__file__).parent / "data" / "quad.py"


def _progress(clock: Clock, load: float = 0.5, cores: int = 2) -> Progress:
    return Progress(Console(file=None, force_terminal=False), iterations=30, metric="loss", minimize=True,
                    live=False, clock=clock, load=lambda: load, cores=cores)


def test_before_the_first_iteration_the_estimate_waits_for_it():
    clock = Clock()
    progress = _progress(clock)
    progress.level_begun("1", "training the baseline")
    clock.now += 75
    text = progress.render()
    assert "before iteration 1 of 30" in text
    assert "elapsed 1m15s" in text
    assert "estimate after the first iteration" in text
    assert "Level 1: training the baseline" in text


def test_the_panel_shows_iteration_level_model_and_time_left():
    clock = Clock()
    progress = _progress(clock)
    events = progress.events()
    events.iteration_started(1, 30)
    clock.now += 60
    events.iteration_started(2, 30)
    clock.now += 60
    events.iteration_started(3, 30)  # two iterations of 60 s each so far
    events.level_started("1", "proposing trial #3")
    events.model_asked("propose")
    clock.now += 190
    text = progress.render()
    assert "iteration 3 of 30" in text
    assert "Level 1: proposing trial #3" in text
    assert "asking the model (propose): 3m10s" in text
    # 28 iterations left counting this one, at 60 s each, less the 190 s this one has run
    assert f"about {duration(28 * 60 - 190)} left (1m00s per iteration)" in text
    assert "elapsed 5m10s" in text
    events.model_answered(96, 190.0)
    assert "last answer 96 tokens in 3m10s" in progress.render()
    assert "asking the model" not in progress.render()


def test_the_model_line_counts_the_tokens_of_a_streaming_answer():
    clock = Clock()
    progress = _progress(clock)
    events = progress.events()
    events.model_asked("propose")
    clock.now += 70
    assert "asking the model (propose): 1m10s" in progress.render()
    assert "so far" not in progress.render()  # nothing has streamed in yet
    events.model_generated(1)
    assert "asking the model (propose): 1m10s, 1 token so far" in progress.render()
    clock.now += 120
    events.model_generated(96)
    assert "asking the model (propose): 3m10s, 96 tokens so far" in progress.render()
    events.model_answered(140, 190.0)
    text = progress.render()
    assert "so far" not in text and "model idle; last answer 140 tokens in 3m10s" in text
    events.model_asked("outer")  # the next request counts from nothing
    assert "asking the model (outer): 0s" in progress.render() and "so far" not in progress.render()


def test_a_trial_started_says_training_and_later_levels_say_their_step():
    clock = Clock()
    progress = _progress(clock)
    events = progress.events()
    events.trial_started(4, {"LEARNING_RATE": 0.01}, 60.0)
    clock.now += 12
    text = progress.render()
    assert "Level 1: training trial #4" in text and "LEARNING_RATE=0.01" in text and "12.0s / budget 60s" in text
    events.level_started("1.5", "cycle 2")
    assert "Level 1.5: cycle 2" in progress.render()
    events.level_started("2", "session 1: fill request 3 (of 4 samples, with their repairs)")
    assert "Level 2: session 1: fill request 3 (of 4 samples" in progress.render()


def test_a_load_above_the_cores_is_warned_about_and_one_within_them_is_not():
    clock = Clock()
    assert "warning: load 3.5 on 2 cores" in _progress(clock, load=3.5, cores=2).render()
    assert "warning" not in _progress(clock, load=2.0, cores=2).render()


def test_durations_read_as_people_write_them():
    assert [duration(s) for s in (0, 42, 190, 3600 + 5 * 60 + 9)] == ["0s", "42s", "3m10s", "1h05m"]


def test_a_run_announces_its_iterations_levels_and_model_requests_in_order(tmp_path):
    seen: list[tuple] = []
    events = LoopEvents(iteration_started=lambda n, total: seen.append(("iteration", n, total)),
                        level_started=lambda level, detail: seen.append(("level", level, detail)),
                        model_asked=lambda purpose: seen.append(("asked", purpose)),
                        model_generated=lambda tokens: seen.append(("generated", tokens)),
                        model_answered=lambda tokens, seconds: seen.append(("answered",)))
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss", "budget_s": 10.0},
                           provider="heuristic", iterations=4, outer_every=2, levels=("1", "1.5"))
    assert Run.create(settings, tmp_path, events=events).execute().status == "finished"
    assert [e[1:] for e in seen if e[0] == "iteration"] == [(n, 4) for n in (1, 2, 3, 4)]
    assert ("level", "1", "training the baseline") in seen
    assert ("level", "1.5", "cycle 1") in seen
    asked = [i for i, e in enumerate(seen) if e[0] == "asked"]
    assert {seen[i][1] for i in asked} == {"propose", "outer"}
    # every request is followed by its answer before anything else asks; the heuristic answers whole, with
    # no tokens counted while it is written
    assert all(seen[i + 1] == ("answered",) for i in asked)
    assert not [e for e in seen if e[0] == "generated"]
    # the outer request comes after the cycle is announced, and before iteration 3 starts
    outer = next(i for i in asked if seen[i][1] == "outer")
    assert seen.index(("level", "1.5", "cycle 1")) < outer < seen.index(("iteration", 3, 4))
