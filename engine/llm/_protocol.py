"""The one interface every model provider implements."""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from ._records import LLMReply, LLMRequest

__all__ = ["Provider"]

T = TypeVar("T", bound=BaseModel)


@runtime_checkable
class Provider(Protocol):
    """Ask a model for a structured answer.

    ``ask`` returns the answer validated against ``response_model`` with the
    exchange for the record, or raises :class:`interfaces.ProviderError` with
    a stable code (``budget-exceeded``, ``invalid-answer``, ``provider-auth``,
    ``provider-unavailable``, ...). ``name`` is the provider kind
    (``"openai"``, ``"heuristic"``, ``"replay"``), ``model`` the model used.
    """

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    def describe(self) -> str:
        """One line for people: what answers, and how."""
        ...

    def ask(self, request: LLMRequest, response_model: type[T]) -> LLMReply[T]:
        ...
