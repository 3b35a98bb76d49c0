"""Formal interfaces: the data types and hook Protocols every package shares.

Standard library only; imports nothing else of this project. Everything that
crosses a process boundary here is a frozen record with ``to_dict`` /
``from_dict``.
"""

from ._frozen import FrozenDict, freeze, thaw
from ._toml import toml_key, toml_value
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
    ENGINE_DEFAULT,
    HOOKS,
    AcceptanceRule,
    AnswerCheck,
    ArgKind,
    Combine,
    Effect,
    HookSpec,
    Observer,
    PromptAdvisor,
    ProposalFilter,
    ProposalSource,
    WrongType,
    hook_spec,
    register_hook,
    unregister_hook,
)
from .records import Decision, Outcome, Proposal, Trial, TrialStatus
from .search_config import PROPOSERS, SAMPLERS, STRATEGIES, SearchConfig
from .space import ParamKind, ParamSpec, SearchSpace, SpaceViolation, Value
from .task import Executor, Task, TrialRequest, metric_pattern
from .trace import TraceView

__all__ = [
    "AcceptanceRule",
    "AnswerCheck",
    "ArgKind",
    "AutoresearchError",
    "Combine",
    "ConfigError",
    "Decision",
    "ENGINE_DEFAULT",
    "Effect",
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
    "PROPOSERS",
    "SAMPLERS",
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
    "WrongType",
    "freeze",
    "hook_spec",
    "metric_pattern",
    "register_hook",
    "thaw",
    "toml_key",
    "toml_value",
    "unregister_hook",
]
