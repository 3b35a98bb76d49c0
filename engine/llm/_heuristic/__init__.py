"""The heuristic stand-in for a model: no network, no key, deterministic for a seed.

It is not a language model and says so. It reads the request's ``context``
(JSON facts the engine also puts in the prompt) and answers by rule, the way
an LLM with strong priors tends to: see ``_propose`` (Level 1), ``_pick``
(Level 1's choice among a sampler's candidates), ``_outer``
(Level 1.5), ``_research`` (Level 2) and ``_fill`` (Level 2 method bodies:
fixed, hand-written ones per hook, a stand-in that exercises the fill-in path,
not evidence of what a model would write) for the rules, and
``docs/providers.md`` for the context keys each purpose reads.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .._answers import CodeCompletion
from .._errors import provider_error
from .._ledger import Ledger
from .._records import Exchange, LLMReply, LLMRequest, Usage
from ._context import require
from ._fill import FILL_BODIES, fill_answer
from ._outer import OuterRules, outer
from ._pick import pick
from ._propose import moves, preferred_order, propose
from ._research import SYMPTOMS, CatalogEntry, ResearchRules, diagnose, rank_entries, research_answer

__all__ = [
    "HeuristicProvider",
    "OuterRules",
    "ResearchRules",
    "CatalogEntry",
    "FILL_BODIES",
    "SYMPTOMS",
    "diagnose",
    "rank_entries",
    "moves",
    "preferred_order",
]

T = TypeVar("T", bound=BaseModel)

_EXPECTED_MODEL = {
    "propose": "ProposalAnswer",
    "pick": "PickAnswer",
    "outer": "OuterAnswer",
    "explore": "ExploreAnswer",
    "critique": "CritiqueAnswer",
    "specify": "SpecifyAnswer",
    "generate": "GenerateAnswer",
    "repair": "GenerateAnswer",
    "fill": "CodeCompletion",
}
_REQUIRED_CONTEXT = {"propose": ("space",), "pick": ("candidates",), "outer": ("space", "config", "trace"), "fill": ("hook",)}


class HeuristicProvider:
    """Deterministic rules in place of a model.

    ``catalog`` is a callable returning mechanism entries (``name``, ``hook``,
    ``description``, ``addresses``, ``source``); it is called only when a
    Level 2 round is asked, so the library is not imported before it is
    needed. The random stream of each answer is keyed by the seed, the
    purpose and the context's ``iteration`` (or a per-purpose call count when
    the context has none), so a run is reproduced by its seed.

    A ``fill`` request (a :class:`CodeCompletion`) is answered with the
    hand-written method body for ``context["hook"]`` (see ``_fill``): a
    stand-in that keeps the fill-in path running without a model, not
    evidence that a model would write working code.
    """

    name = "heuristic"

    def __init__(
        self,
        seed: int = 0,
        *,
        catalog: Callable[[], Iterable[CatalogEntry]] | None = None,
        ledger: Ledger | None = None,
        outer_rules: OuterRules | None = None,
        research_rules: ResearchRules | None = None,
    ) -> None:
        self.seed = int(seed)
        self.model = "rules-v1"
        self.ledger = ledger if ledger is not None else Ledger()
        self._catalog = catalog
        self.outer_rules = outer_rules or OuterRules()
        self.research_rules = research_rules or ResearchRules()
        self._calls: Counter[str] = Counter()

    def describe(self) -> str:
        return (
            f"heuristic stand-in, not a language model: deterministic rules with seed {self.seed} that "
            "propose like an LLM with strong priors (and repeat themselves unless advised)"
        )

    def _rng(self, request: LLMRequest) -> random.Random:
        iteration = request.context.get("iteration")
        if iteration is None:
            iteration = f"call{self._calls[request.purpose]}"
        self._calls[request.purpose] += 1
        # A string seed is hashed with SHA-512 by random, so it is stable across processes.
        return random.Random(f"{self.seed}:{request.purpose}:{iteration}")

    def _answer(self, request: LLMRequest) -> dict[str, Any]:
        require(request.context, request.purpose, *_REQUIRED_CONTEXT.get(request.purpose, ()))
        rng = self._rng(request)
        if request.purpose == "propose":
            return propose(request.context, rng)
        if request.purpose == "outer":
            return outer(request.context, self.outer_rules)
        if request.purpose == "pick":
            return pick(request.context)
        if request.purpose == "fill":
            return fill_answer(request.context)
        if self._catalog is None:
            raise provider_error(
                "no-catalog", "the heuristic provider needs a mechanism catalog to answer Level 2 rounds"
            )
        return research_answer(request.purpose, request.context, self._catalog, self.research_rules)

    def ask(self, request: LLMRequest, response_model: type[T]) -> LLMReply[T]:
        self.ledger.check(request.purpose)
        expected = _EXPECTED_MODEL[request.purpose]
        if response_model.__name__ != expected:
            raise provider_error(
                "unsupported-request",
                f"the heuristic provider answers {request.purpose} with {expected}, "
                f"not {response_model.__name__}",
            )
        started = time.monotonic()
        answer = _fit_text(self._answer(request), response_model)
        try:
            value = response_model.model_validate(answer)
        except ValidationError as exc:  # a rule produced something the schema refuses: a bug here
            raise provider_error("invalid-answer", f"heuristic answer failed validation: {exc}") from exc
        usage = Usage(0, 0, 0.0, calls=1)
        exchange = Exchange(
            purpose=request.purpose,
            level=request.level,
            provider=self.name,
            model=self.model,
            response_model=response_model.__name__,
            messages=request.messages,
            # A completion's raw text is the continuation itself, as a model's would be.
            raw_text=(value.text if isinstance(value, CodeCompletion) else json.dumps(answer),),
            parsed=value.model_dump(mode="json"),
            usage=usage,
            duration_s=time.monotonic() - started,
            attempts=1,
        )
        self.ledger.add(request.level, usage)
        return LLMReply(value=value, exchange=exchange)


def _fit_text(answer: Any, model: Any) -> Any:
    """``answer`` with every text field cut, at a word, to the length its schema allows.

    The rules quote library descriptions, which may run longer than an answer
    field (a model writes to the limit; so does this stand-in). Only strings
    whose field sets ``max_length`` are cut, never ``code``: cut code is
    broken code, so an over-long one still fails validation loudly.
    """
    from annotated_types import MaxLen
    from pydantic import BaseModel

    if not isinstance(answer, dict) or not (isinstance(model, type) and issubclass(model, BaseModel)):
        return answer
    fitted = dict(answer)
    for name, field in model.model_fields.items():
        value = fitted.get(name)
        if name == "code":
            continue
        limit = next((m.max_length for m in field.metadata if isinstance(m, MaxLen)), None)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            fitted[name] = _cut(value, limit)
        elif isinstance(value, list):
            item = next(iter(getattr(field.annotation, "__args__", ())), None)
            fitted[name] = [_fit_text(v, item) for v in value]
        elif isinstance(value, dict):
            fitted[name] = _fit_text(value, field.annotation)
    return fitted


def _cut(text: str, limit: int) -> str:
    head = text[: limit - 1]
    if " " in head[limit // 2:]:
        head = head[: head.rfind(" ")]
    return head.rstrip(" ,;:") + "…"
