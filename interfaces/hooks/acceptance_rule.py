"""Hook ``acceptance``: decide whether a finished trial becomes the incumbent.

When: after a trial has run to completion with a finite metric (failed trials
are always discarded and never reach this hook). Only the most recently
activated acceptance rule decides; without one the engine keeps a trial when
its metric is strictly better than the incumbent's.

Method: ``decide(trial, incumbent, trace) -> bool``

* ``trial`` (:class:`interfaces.Trial`): the finished trial; ``trial.metric``
  is a float, ``trial.changes`` what it changed.
* ``incumbent`` (:class:`interfaces.Trial` or ``None``): the current best.
* ``trace`` (:class:`interfaces.TraceView`): all earlier trials, not including
  ``trial``. Use ``trace.is_better(a, b)`` to compare metrics: it knows
  whether lower or higher is better.

Return ``True`` to keep the trial (it becomes the incumbent) or ``False`` to
discard it.

Example use: keep only improvements larger than the measured noise; simulated
annealing that sometimes keeps a slightly worse trial early on.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..records import Trial
from ..trace import TraceView
from ._kinds import ENGINE_DEFAULT, AnswerCheck, ArgKind, Combine, Effect, WrongType

HOOK = "acceptance"
METHOD = "decide"
CALL_BUDGET_S = 0.5
ARGUMENTS = (ArgKind.FINISHED_TRIAL, ArgKind.INCUMBENT, ArgKind.TRACE)
COMBINE = Combine.LATEST_DECIDES
NOTHING = ENGINE_DEFAULT
EFFECT = Effect.FLIPPED
ANSWER = AnswerCheck("decision", WrongType.EJECT)

__all__ = ["AcceptanceRule", "HOOK", "METHOD", "CALL_BUDGET_S", "ARGUMENTS", "COMBINE", "NOTHING", "EFFECT",
           "ANSWER"]


@runtime_checkable
class AcceptanceRule(Protocol):
    def decide(self, trial: Trial, incumbent: Trial | None, trace: TraceView) -> bool:
        """Return True to keep ``trial`` as the new incumbent."""
        ...
