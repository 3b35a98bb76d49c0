"""Hook ``advisor``: add text that steers the LLM's next proposal.

When: every inner iteration in which the LLM is asked for a proposal, while the
prompt is built. The text of every active advisor is appended to the prompt
under "Advice", in activation order.

Method: ``advise(trace, space, config) -> str``

* ``trace`` (:class:`interfaces.TraceView`): every trial so far, oldest first.
* ``space`` (:class:`interfaces.SearchSpace`): the parameter specs.
* ``config`` (:class:`interfaces.SearchConfig`): active and frozen parameters,
  strategy and the current guidance.

Return a short instruction (at most a few sentences, under 500 characters),
for example ``"Try TOTAL_BATCH_SIZE next: it has been changed least."``; return
``""`` to add nothing this time.

Example use: a bandit over parameters that names the most promising one;
orthogonal exploration that names an untried direction.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..search_config import SearchConfig
from ..space import SearchSpace
from ..trace import TraceView
from ._kinds import AnswerCheck, ArgKind, Combine, Effect, WrongType

HOOK = "advisor"
METHOD = "advise"
CALL_BUDGET_S = 0.5
ARGUMENTS = (ArgKind.TRACE, ArgKind.SPACE, ArgKind.CONFIG)
COMBINE = Combine.ALL_JOINED
NOTHING = ""
EFFECT = Effect.ADVISED
ANSWER = AnswerCheck("advice", WrongType.IGNORE, strip=True, max_chars=500)

__all__ = ["PromptAdvisor", "HOOK", "METHOD", "CALL_BUDGET_S", "ARGUMENTS", "COMBINE", "NOTHING", "EFFECT",
           "ANSWER"]


@runtime_checkable
class PromptAdvisor(Protocol):
    def advise(self, trace: TraceView, space: SearchSpace, config: SearchConfig) -> str:
        """Return advice text for the next LLM proposal, or "" for none."""
        ...
