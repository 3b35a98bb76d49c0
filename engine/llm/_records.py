"""The records of one exchange with a model: request, usage, exchange, reply.

Everything here is frozen and converts to plain JSON data, because an exchange
is written to the run store and to replay transcripts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from interfaces import FrozenDict, freeze, thaw

from ..settings import LEVELS

__all__ = ["LEVELS", "PURPOSES", "OPTIONS", "LLMRequest", "Usage", "Exchange", "LLMReply"]

#: What is asked. ``repair`` is a Level 2 round that fixes code the sandbox rejected; ``fill`` is a
#: Level 2 completion that writes one method's body after a pre-filled assistant turn; ``pick`` is Level 1
#: choosing one of the candidates a sampler offers.
PURPOSES = ("propose", "pick", "outer", "explore", "critique", "specify", "generate", "repair", "fill")
#: Sampling options a request may set, and what each must be.
OPTIONS = ("temperature", "seed", "stop", "max_tokens")

T = TypeVar("T", bound=BaseModel)


def _jsonable(value: Any) -> Any:
    """Plain JSON data; objects with ``to_dict`` become their dict."""
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    thawed = thaw(value)
    return json.loads(json.dumps(thawed, default=str))


@dataclass(frozen=True)
class LLMRequest:
    """One question to a model.

    ``messages`` are chat messages (``{"role": ..., "content": ...}``) that a
    real model reads. ``context`` carries the same facts as JSON data for the
    heuristic stand-in (see ``docs/providers.md`` for the keys it reads); real
    providers ignore it. ``options`` are sampling options for this request
    (``temperature``, ``seed``, ``stop``: a list of strings, ``max_tokens``);
    a provider that samples sends them, a cap it enforces itself (the budget,
    its own ``max_output_tokens``) still applies to ``max_tokens``.
    """

    purpose: str
    messages: tuple[Mapping[str, Any], ...]
    context: Mapping[str, Any] = field(default_factory=FrozenDict)
    level: str = "1"
    options: Mapping[str, Any] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, got {self.purpose!r}")
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {self.level!r}")
        object.__setattr__(self, "messages", tuple(FrozenDict(m) for m in self.messages))
        object.__setattr__(self, "context", freeze(dict(self.context)))
        _check_options(self.options)
        object.__setattr__(self, "options", freeze(dict(self.options)))

    def chat_messages(self) -> list[dict[str, Any]]:
        """The messages as mutable plain dicts, the form SDKs expect."""
        return [thaw(m) for m in self.messages]

    def to_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "level": self.level,
            "messages": self.chat_messages(),
            "context": _jsonable(self.context),
            "options": _jsonable(self.options),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LLMRequest:
        return cls(
            purpose=data["purpose"],
            messages=tuple(data.get("messages", ())),
            context=data.get("context", {}),
            level=data.get("level", "1"),
            options=data.get("options", {}),
        )


def _check_options(options: Mapping[str, Any]) -> None:
    """Refuse an unknown option or one of the wrong type, naming it (a typo would otherwise be ignored)."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown request option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    temperature = options.get("temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                                    or temperature < 0):
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
    for name in ("seed", "max_tokens"):
        value = options.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if options.get("max_tokens") is not None and options["max_tokens"] < 1:
        raise ValueError(f"max_tokens must be at least 1, got {options['max_tokens']!r}")
    stop = options.get("stop")
    if stop is not None and (not isinstance(stop, (list, tuple))
                             or not all(isinstance(text, str) and text for text in stop)):
        raise ValueError(f"stop must be a list of non-empty strings, got {stop!r}")


@dataclass(frozen=True)
class Usage:
    """Tokens spent and what they cost. ``cost_usd`` is None when the price is unknown.

    ``cached_prompt_tokens`` are the prompt tokens the server read from its prompt cache instead of
    evaluating them (OpenAI's ``usage.prompt_tokens_details.cached_tokens``, which llama.cpp's server
    also reports); they are part of ``prompt_tokens``. Prompt tokens evaluated = the difference.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    calls: int = 0
    cached_prompt_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost_usd is None or other.cost_usd is None else self.cost_usd + other.cost_usd
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=cost,
            calls=self.calls + other.calls,
            cached_prompt_tokens=self.cached_prompt_tokens + other.cached_prompt_tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": self.cost_usd,
            "calls": self.calls,
            "cached_prompt_tokens": self.cached_prompt_tokens,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        cost = data.get("cost_usd", 0.0)
        return cls(
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
            cost_usd=None if cost is None else float(cost),
            calls=int(data.get("calls", 0)),
            cached_prompt_tokens=int(data.get("cached_prompt_tokens", 0) or 0),
        )


@dataclass(frozen=True)
class Exchange:
    """What was sent and what came back, for the record.

    ``raw_text`` is every answer text the model gave (one per attempt, the
    last one is the answer used); ``parsed`` is the validated answer as JSON
    data (None when it never validated); ``attempts`` counts HTTP requests
    made, repairs and retries included; ``error`` is ``{"code", "message"}``
    when the call failed, else None.
    """

    purpose: str
    level: str
    provider: str
    model: str
    messages: tuple[Mapping[str, Any], ...]
    raw_text: tuple[str, ...] = ()
    parsed: Any = None
    usage: Usage = field(default_factory=Usage)
    duration_s: float = 0.0
    attempts: int = 0
    error: Mapping[str, str] | None = None
    response_model: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", tuple(FrozenDict(m) for m in self.messages))
        object.__setattr__(self, "raw_text", tuple(self.raw_text))
        object.__setattr__(self, "parsed", freeze(self.parsed))
        if self.error is not None:
            object.__setattr__(self, "error", FrozenDict(self.error))

    def to_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "level": self.level,
            "provider": self.provider,
            "model": self.model,
            "response_model": self.response_model,
            "messages": [thaw(m) for m in self.messages],
            "raw_text": list(self.raw_text),
            "parsed": thaw(self.parsed),
            "usage": self.usage.to_dict(),
            "duration_s": self.duration_s,
            "attempts": self.attempts,
            "error": None if self.error is None else dict(self.error),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exchange:
        return cls(
            purpose=data["purpose"],
            level=data["level"],
            provider=data["provider"],
            model=data["model"],
            response_model=data.get("response_model", ""),
            messages=tuple(data.get("messages", ())),
            raw_text=tuple(data.get("raw_text", ())),
            parsed=data.get("parsed"),
            usage=Usage.from_dict(data.get("usage", {})),
            duration_s=float(data.get("duration_s", 0.0)),
            attempts=int(data.get("attempts", 0)),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class LLMReply(Generic[T]):
    """A validated answer and the exchange that produced it."""

    value: T
    exchange: Exchange

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value.model_dump(mode="json"), "exchange": self.exchange.to_dict()}
