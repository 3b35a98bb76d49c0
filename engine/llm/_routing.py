"""A model per level: one provider that hands each request to the provider of its level.

A run may ask a small, fast model for Level 1's many short proposals and a
larger one for Level 2's few mechanisms (``--level-model 2=qwen-1.5b``).
:class:`LevelRouter` keeps the one-provider shape the levels are written
against: ``ask`` reads ``request.level`` and forwards the request untouched,
so each exchange is recorded by the provider that answered it, on the ledger
they share. ``name`` and ``model`` are the default provider's (the one the
levels not named use); a trial proposed at Level 1 is tagged with the model
of :meth:`provider_for` ``"1"``, the one that answered it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel

from ._protocol import Provider
from ._records import LEVELS, LLMReply, LLMRequest

__all__ = ["LevelRouter"]

T = TypeVar("T", bound=BaseModel)


class LevelRouter:
    """Answers each request with the provider of its level; the levels not named use ``default``."""

    def __init__(self, default: Provider, by_level: Mapping[str, Provider]) -> None:
        unknown = sorted(set(by_level) - set(LEVELS))
        if unknown:
            raise ValueError(f"not levels: {', '.join(unknown)}")
        self.default = default
        self.by_level = dict(by_level)

    @property
    def name(self) -> str:
        return self.default.name

    @property
    def model(self) -> str:
        return self.default.model

    def provider_for(self, level: str) -> Provider:
        """The provider that answers requests of ``level``."""
        return self.by_level.get(level, self.default)

    def describe(self) -> str:
        named = ", ".join(f"level {level}: {self.by_level[level].model}" for level in sorted(self.by_level))
        return f"{self.default.describe()}; {named}"

    def preflight(self) -> None:
        """Each distinct provider's own check, the default's first."""
        seen: list[Provider] = []
        for provider in (self.default, *self.by_level.values()):
            if any(provider is other for other in seen):
                continue
            seen.append(provider)
            check = getattr(provider, "preflight", None)
            if callable(check):
                check()

    def ask(self, request: LLMRequest, response_model: type[T]) -> LLMReply[T]:
        return self.provider_for(request.level).ask(request, response_model)
