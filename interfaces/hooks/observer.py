"""Hook ``observer``: see every finished trial, change nothing directly.

When: after every trial is decided and stored, including rejected and failed
ones, in activation order. An observer keeps its own state (statistics, a
model of the objective) for its own later use; it cannot alter the trace.

Method: ``observe(trial, trace) -> None``

* ``trial`` (:class:`interfaces.Trial`): the trial just decided.
* ``trace`` (:class:`interfaces.TraceView`): all trials including ``trial``.

Return ``None``.

Example use: a plateau detector that counts trials since the last
improvement.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..records import Trial
from ..trace import TraceView
from ._kinds import ArgKind, Combine, Effect

HOOK = "observer"
METHOD = "observe"
CALL_BUDGET_S = 0.5
ARGUMENTS = (ArgKind.DECIDED_TRIAL, ArgKind.TRACE_WITH_TRIAL)
COMBINE = Combine.ALL_SEE
NOTHING = None
EFFECT = Effect.OBSERVED
ANSWER = None  # an observer's answers are not read

__all__ = ["Observer", "HOOK", "METHOD", "CALL_BUDGET_S", "ARGUMENTS", "COMBINE", "NOTHING", "EFFECT",
           "ANSWER"]


@runtime_checkable
class Observer(Protocol):
    def observe(self, trial: Trial, trace: TraceView) -> None:
        """Record what you need from ``trial``; return None."""
        ...
