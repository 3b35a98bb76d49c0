"""Hook ``filter``: veto a proposal before it costs a training run.

When: after the engine has a proposal (from the LLM or a proposal source) and
it has passed validation against the search space, before the trial runs.
Every active filter sees every such proposal, in activation order; the first
veto wins and the proposal is recorded as rejected with your reason.

Method: ``check(proposal, trace, space) -> str | None``

* ``proposal`` (:class:`interfaces.Proposal`): ``proposal.changes`` is a dict
  ``{parameter name: new value}``; ``proposal.rationale`` a one-line string.
* ``trace`` (:class:`interfaces.TraceView`): every trial so far, oldest first.
* ``space`` (:class:`interfaces.SearchSpace`): parameter specs (bounds, kind).

Return ``None`` to let the proposal run, or a short string (one sentence) that
says why it is vetoed; the string is shown to the LLM. Vetoing everything
stalls the search: each veto costs one of the iteration's few proposal
attempts, and a filter whose window shows no improvement is reverted.

Example use: a tabu list that vetoes proposals too close to recent ones.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..records import Proposal
from ..space import SearchSpace
from ..trace import TraceView
from ._kinds import AnswerCheck, ArgKind, Combine, Effect, WrongType

HOOK = "filter"
METHOD = "check"
CALL_BUDGET_S = 0.5
ARGUMENTS = (ArgKind.PROPOSAL, ArgKind.TRACE, ArgKind.SPACE)
COMBINE = Combine.FIRST_VETO
NOTHING = None
EFFECT = Effect.VETOED
ANSWER = AnswerCheck("reason", WrongType.AS_TEXT, max_chars=300)

__all__ = ["ProposalFilter", "HOOK", "METHOD", "CALL_BUDGET_S", "ARGUMENTS", "COMBINE", "NOTHING", "EFFECT",
           "ANSWER"]


@runtime_checkable
class ProposalFilter(Protocol):
    def check(self, proposal: Proposal, trace: TraceView, space: SearchSpace) -> str | None:
        """Return None to pass the proposal, or a one-sentence veto reason."""
        ...
