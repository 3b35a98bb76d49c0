"""Hook ``source``: produce a proposal algorithmically instead of asking the LLM.

When: at the start of every inner iteration, before the LLM is asked. Active
sources are asked in activation order; the first that returns changes supplies
this iteration's proposal and the LLM is not called. Return ``None`` to let the
next source (or the LLM) propose.

Method: ``propose(trace, space, config) -> dict | None``

* ``trace`` (:class:`interfaces.TraceView`): every trial so far, oldest first;
  ``trace.incumbent().config`` is the current best full configuration.
* ``space`` (:class:`interfaces.SearchSpace`): for each parameter spec ``p``:
  ``p.name``, ``p.kind`` (``"float"``, ``"int"``, ``"choice"``, ``"bool"``),
  ``p.low``, ``p.high``, ``p.choices``, ``p.log``, ``p.locked``.
* ``config`` (:class:`interfaces.SearchConfig`): ``config.active`` lists the
  parameters you may change now; ``config.max_changes`` caps how many.

Return a dict ``{parameter name: new value}`` with values inside the space
(ints for int parameters, one of ``choices`` for choice parameters), changing
only active parameters; or ``None``. Invalid changes are rejected and count
against the mechanism.

Example use: a Latin hypercube around the incumbent; a surrogate model with
expected improvement.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..search_config import SearchConfig
from ..space import SearchSpace
from ..trace import TraceView
from ._kinds import AnswerCheck, ArgKind, Combine, Effect, WrongType

HOOK = "source"
METHOD = "propose"
CALL_BUDGET_S = 2.0
ARGUMENTS = (ArgKind.TRACE, ArgKind.SPACE, ArgKind.CONFIG)
COMBINE = Combine.FIRST_ANSWER
NOTHING = None
EFFECT = Effect.PROPOSED
ANSWER = AnswerCheck("changes", WrongType.EJECT)

__all__ = ["ProposalSource", "HOOK", "METHOD", "CALL_BUDGET_S", "ARGUMENTS", "COMBINE", "NOTHING", "EFFECT",
           "ANSWER"]


@runtime_checkable
class ProposalSource(Protocol):
    def propose(
        self, trace: TraceView, space: SearchSpace, config: SearchConfig
    ) -> dict[str, Any] | None:
        """Return {parameter: value} changes to try next, or None to pass."""
        ...
