"""The three levels: inner (Level 1), outer (Level 1.5), research (Level 2)."""

from .acceptance import ACCEPTANCE_RULES, BuiltinAcceptance
from .inner import InnerLoop, LoopEvents
from .outer import OuterLoop, OuterUpdate, apply_outer_answer, parameter_summary

__all__ = [
    "ACCEPTANCE_RULES",
    "BuiltinAcceptance",
    "InnerLoop",
    "LoopEvents",
    "OuterLoop",
    "OuterUpdate",
    "apply_outer_answer",
    "parameter_summary",
]
