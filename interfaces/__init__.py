"""Formal interfaces: the data types and hook Protocols every package shares.

Standard library only; imports nothing else of this project. Everything that
crosses a process boundary here is a frozen record with ``to_dict`` /
``from_dict``.
"""

from ._frozen import FrozenDict, freeze, thaw
from .errors import (
    RUN_STOPPING_PROVIDER_CODES,
    AutoresearchError,
    ConfigError,
    MechanismError,
    ProviderError,
    SpaceError,
    StoreError,
)
from .hooks import (
    HOOKS,
    AcceptanceRule,
    HookSpec,
    Observer,
    PromptAdvisor,
    ProposalFilter,
    ProposalSource,
    hook_spec,
)
from .records import Decision, Outcome, Proposal, Trial, TrialStatus
from .search_config import STRATEGIES, SearchConfig
from .space import ParamKind, ParamSpec, SearchSpace, SpaceViolation, Value
from .task import Executor, Task, TrialRequest, metric_pattern
from .trace import TraceView

__all__ = [
    "AcceptanceRule",
    "AutoresearchError",
    "ConfigError",
    "Decision",
    "Executor",
    "FrozenDict",
    "HOOKS",
    "HookSpec",
    "MechanismError",
    "Observer",
    "Outcome",
    "ParamKind",
    "ParamSpec",
    "PromptAdvisor",
    "Proposal",
    "ProposalFilter",
    "ProposalSource",
    "ProviderError",
    "RUN_STOPPING_PROVIDER_CODES",
    "STRATEGIES",
    "SearchConfig",
    "SearchSpace",
    "SpaceError",
    "SpaceViolation",
    "StoreError",
    "Task",
    "TraceView",
    "Trial",
    "TrialRequest",
    "TrialStatus",
    "Value",
    "freeze",
    "hook_spec",
    "metric_pattern",
    "thaw",
]
