"""What a run has behind it when it resumes: its trials, the iterations it ran and the time they took.

The engine's time on a run, all sessions together, is kept in the run state ``clock`` and written with
each iteration's commit and when a session ends, so a resume carries it on. A session killed outright
(SIGKILL) loses the time since its last iteration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from interfaces import Trial

__all__ = ["CLOCK_STATE", "RunClock", "RunHistory"]

#: The run-state key of the run's clock.
CLOCK_STATE = "clock"


@dataclass(frozen=True)
class RunHistory:
    """A frozen record of the stored run as a resume finds it.

    ``elapsed_s`` is the earlier sessions' time, None when the store does not know all of it (a run
    stored before its time was kept). ``iterations_s`` is the time of the ``iterations_timed``
    iterations whose time is known, each with the Level 1.5 and Level 2 work before it.
    """

    trials: tuple[Trial, ...]
    iterations_done: int
    elapsed_s: float | None
    iterations_s: float = 0.0
    iterations_timed: int = 0

    @classmethod
    def read(cls, store: Any, run_id: str) -> RunHistory:
        saved = store.get_state(run_id, CLOCK_STATE, None) or {}
        complete = bool(saved) and bool(saved.get("from_start", True))
        return cls(trials=store.trials(run_id), iterations_done=int(store.get_state(run_id, "iteration", 0)),
                   elapsed_s=float(saved["elapsed_s"]) if complete else None,
                   iterations_s=float(saved.get("iterations_s", 0.0)),
                   iterations_timed=int(saved.get("iterations_timed", 0)))


class RunClock:
    """Adds this session's time to the stored clock of run ``run_id``."""

    def __init__(self, store: Any, run_id: str, *, resumed: bool, now: Callable[[], float] = time.monotonic) -> None:
        saved = store.get_state(run_id, CLOCK_STATE, None) or {}
        self.store, self.run_id, self.now = store, run_id, now
        self.started = now()
        self.earlier_s = float(saved.get("elapsed_s", 0.0))
        self.iterations_s = float(saved.get("iterations_s", 0.0))
        self.iterations_timed = int(saved.get("iterations_timed", 0))
        # A resumed run without a clock was stored before its time was kept: what is added from now on
        # is not the whole of it.
        self.from_start = bool(saved.get("from_start", True)) if saved else not resumed

    def iteration_done(self, seconds: float) -> None:
        self.iterations_s += seconds
        self.iterations_timed += 1
        self.save()

    def save(self) -> None:
        self.store.set_state(self.run_id, CLOCK_STATE, {
            "elapsed_s": self.earlier_s + self.now() - self.started, "iterations_s": self.iterations_s,
            "iterations_timed": self.iterations_timed, "from_start": self.from_start})
