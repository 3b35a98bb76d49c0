"""The words a hook module declares itself in, beside its Protocol.

A hook module states, as module constants, everything the rest of the project
derives from it: which arguments its method takes (:class:`ArgKind`, in
order), how the mechanisms of the hook combine (:class:`Combine`), which
answer means "nothing this time" (``NOTHING``), what any other answer is
recorded as (:class:`Effect`) and how an answer is read (:class:`AnswerCheck`).
:class:`interfaces.HookSpec` collects them; the sandbox draws test arguments
from the argument kinds, and the engine's hook registry combines answers by
the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from ..records import Proposal, Trial
from ..search_config import SearchConfig
from ..space import SearchSpace
from ..trace import TraceView

__all__ = ["ArgKind", "Combine", "Effect", "WrongType", "AnswerCheck", "ENGINE_DEFAULT"]


class ArgKind(str, Enum):
    """What one argument of a hook's method is, beyond its type: the arguments of a
    call agree with each other (one space; a trial numbered after the trace)."""

    PROPOSAL = "proposal"  # a proposal over the space, already validated against it
    TRACE = "trace"  # every trial so far, oldest first; without the trial the call is about
    SPACE = "space"  # the search space
    CONFIG = "config"  # the search configuration (active and frozen parameters, strategy)
    FINISHED_TRIAL = "finished_trial"  # a trial that ran to a finite metric and is not in the trace yet
    INCUMBENT = "incumbent"  # the trace's best trial, or None before there is one
    DECIDED_TRIAL = "decided_trial"  # a trial just decided: kept, discarded, rejected or failed
    TRACE_WITH_TRIAL = "trace_with_trial"  # the trace with the call's trial as its last

    @property
    def annotation(self) -> Any:
        """The type the Protocol method must annotate an argument of this kind with."""
        return _ANNOTATIONS[self]

    @property
    def is_trial(self) -> bool:
        return self in (ArgKind.FINISHED_TRIAL, ArgKind.DECIDED_TRIAL)


_ANNOTATIONS: dict[ArgKind, Any] = {
    ArgKind.PROPOSAL: Proposal,
    ArgKind.TRACE: TraceView,
    ArgKind.SPACE: SearchSpace,
    ArgKind.CONFIG: SearchConfig,
    ArgKind.FINISHED_TRIAL: Trial,
    ArgKind.INCUMBENT: Trial | None,
    ArgKind.DECIDED_TRIAL: Trial,
    ArgKind.TRACE_WITH_TRIAL: TraceView,
}


class Combine(str, Enum):
    """How the active mechanisms of one hook combine, each asked in activation order."""

    FIRST_ANSWER = "first-answer"  # the first answer that is not NOTHING is the answer; the rest are not asked
    FIRST_VETO = "first-veto"  # as FIRST_ANSWER, for an answer that stops what it is asked about
    ALL_JOINED = "all-joined"  # every mechanism is asked; every answer that is not NOTHING counts, in order
    LATEST_DECIDES = "latest-decides"  # only the most recently activated is asked; NOTHING is the engine's own
    ALL_SEE = "all-see"  # every mechanism is asked; the answers are not read

    @property
    def stops_at_first(self) -> bool:
        """True when the first answer that counts ends the round."""
        return self in (Combine.FIRST_ANSWER, Combine.FIRST_VETO)


class Effect(str, Enum):
    """What an answer that is not the hook's NOTHING is recorded as (the registry's effect kinds)."""

    PROPOSED = "proposed"
    VETOED = "vetoed"
    ADVISED = "advised"
    FLIPPED = "flipped"  # a decision other than the engine's own
    OBSERVED = "observed"  # the call itself is the effect: counted as a call, not recorded per answer


class WrongType(str, Enum):
    """What an answer does that is not of the method's annotated return type.

    The mechanism host already ejects such answers; this is what the registry
    does with one from any other caller."""

    EJECT = "eject"  # the mechanism is ejected as wrong-return-type; the round goes on without it
    IGNORE = "ignore"  # the answer counts as NOTHING
    AS_TEXT = "as-text"  # the answer's text (str()) is the answer


@dataclass(frozen=True)
class AnswerCheck:
    """How the registry reads one answer of a hook's method.

    ``key`` is the answer's field in the effect record; a text answer is
    stripped of surrounding white space first when ``strip`` is set (one left
    empty is then NOTHING), and clipped to ``max_chars`` characters when that
    is set.
    """

    key: str
    wrong_type: WrongType
    strip: bool = False
    max_chars: int | None = None

    def __post_init__(self) -> None:
        if not self.key.isidentifier():
            raise ValueError(f"an answer's record key must be an identifier, got {self.key!r}")
        if self.max_chars is not None and self.max_chars < 1:
            raise ValueError(f"max_chars must be positive, got {self.max_chars}")


class _EngineDefault:
    """The NOTHING of a hook whose answer replaces one the engine gives itself: the
    engine's own answer for this call (an acceptance rule's: the default decision)."""

    def __repr__(self) -> str:
        return "ENGINE_DEFAULT"


ENGINE_DEFAULT: Final = _EngineDefault()
