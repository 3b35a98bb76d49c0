"""The LLM layer: ask a model for a structured answer, and keep the record.

One interface (:class:`Provider`): an :class:`LLMRequest` and a pydantic
response model in, an :class:`LLMReply` (the validated answer and its
:class:`Exchange`) out. :class:`CodeCompletion` is the one answer asked
without a schema: the model continues a pre-filled assistant turn.
Providers: ``openai`` (any OpenAI-compatible endpoint, via the openai SDK and instructor), ``heuristic`` (a deterministic
stand-in, no network), ``replay`` (answers from a recorded transcript), and
:class:`RecordingProvider` to write such a transcript. A shared
:class:`Ledger` accounts tokens and cost per level and enforces a
:class:`Budget`. :func:`generation_listener` hears, while a request runs, the tokens its answer has so
far (the ``openai`` provider streams its answers; the others report nothing).
"""

from ._answers import (
    ANSWER_MODELS,
    Assessment,
    Candidate,
    CodeCompletion,
    CritiqueAnswer,
    ExploreAnswer,
    GenerateAnswer,
    OuterAnswer,
    ParamChange,
    PickAnswer,
    ProposalAnswer,
    SpecifyAnswer,
    is_completion,
    outer_answer_for,
    pick_answer_for,
    proposal_answer_for,
)
from ._endpoints import ENDPOINTS, MODES
from ._errors import ExchangeError
from ._factory import PROVIDERS, make_provider
from ._generation import GenerationListener, generation_listener
from ._grid import value_grid
from ._heuristic import SYMPTOMS, CatalogEntry, HeuristicProvider, OuterRules
from ._ledger import Budget, Ledger, Price
from ._openai import OpenAIProvider, OpenAISettings
from ._protocol import Provider
from ._records import LEVELS, OPTIONS, PURPOSES, Exchange, LLMReply, LLMRequest, Usage
from ._replay import RecordingProvider, ReplayProvider
from ._routing import LevelRouter

__all__ = [
    "ANSWER_MODELS",
    "Assessment",
    "Budget",
    "Candidate",
    "CatalogEntry",
    "CodeCompletion",
    "CritiqueAnswer",
    "ENDPOINTS",
    "Exchange",
    "ExchangeError",
    "ExploreAnswer",
    "GenerateAnswer",
    "GenerationListener",
    "HeuristicProvider",
    "LEVELS",
    "LLMReply",
    "LLMRequest",
    "Ledger",
    "LevelRouter",
    "MODES",
    "OPTIONS",
    "OpenAIProvider",
    "OpenAISettings",
    "OuterAnswer",
    "OuterRules",
    "PROVIDERS",
    "PURPOSES",
    "ParamChange",
    "PickAnswer",
    "Price",
    "ProposalAnswer",
    "outer_answer_for",
    "pick_answer_for",
    "proposal_answer_for",
    "value_grid",
    "Provider",
    "RecordingProvider",
    "ReplayProvider",
    "SYMPTOMS",
    "SpecifyAnswer",
    "Usage",
    "generation_listener",
    "is_completion",
    "make_provider",
]
