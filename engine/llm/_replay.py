"""Record every exchange of a run as JSON lines, and answer a later run from them.

A transcript line holds the request, the response model's name, the exchange
and either the validated answer or the error. Replaying returns the same
answers in the same order and raises the same errors, so a run made with a
real model is reproduced exactly without it. Anything out of step is an
error (``replay-mismatch``, ``replay-exhausted``), never a fallback.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from interfaces import ConfigError, ProviderError

from ._answers import ANSWER_MODELS
from ._errors import ExchangeError, provider_error
from ._ledger import Ledger
from ._protocol import Provider
from ._records import Exchange, LLMReply, LLMRequest, Usage

__all__ = ["RecordingProvider", "ReplayProvider", "TRANSCRIPT_VERSION"]

T = TypeVar("T", bound=BaseModel)
TRANSCRIPT_VERSION = 1
# Errors that come from this run's own ledger, not from the model: the replaying
# run's ledger raises them itself, so they are not part of the transcript.
_LEDGER_CODES = frozenset({"budget-exceeded", "unknown-price"})


class RecordingProvider:
    """Wraps any provider and appends one JSON line per exchange to ``path``."""

    def __init__(self, inner: Provider, path: str | Path) -> None:
        self.inner = inner
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def ledger(self) -> Ledger | None:
        return getattr(self.inner, "ledger", None)

    def describe(self) -> str:
        return f"{self.inner.describe()}; recording to {self.path}"

    def preflight(self) -> None:
        """The wrapped provider's check before a run, when it has one (nothing is recorded)."""
        check = getattr(self.inner, "preflight", None)
        if callable(check):
            check()

    def _write(self, line: dict[str, Any]) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, sort_keys=True) + "\n")
            out.flush()

    def ask(self, request: LLMRequest, response_model: type[T]) -> LLMReply[T]:
        base = {
            "version": TRANSCRIPT_VERSION,
            "provider": self.inner.name,
            "model": self.inner.model,
            "request": request.to_dict(),
            "response_model": response_model.__name__,
        }
        try:
            reply = self.inner.ask(request, response_model)
        except ProviderError as exc:
            if exc.code not in _LEDGER_CODES:
                exchange = getattr(exc, "exchange", None)
                self._write(dict(base, exchange=None if exchange is None else exchange.to_dict(), value=None,
                                 error={"code": exc.code, "message": exc.message}))
            raise
        self._write(dict(base, exchange=reply.exchange.to_dict(), value=reply.value.model_dump(mode="json"),
                         error=None))
        return reply


class ReplayProvider:
    """Answers from a transcript written by :class:`RecordingProvider`, in order.

    ``strict_messages`` also requires the prompt messages to match the
    recorded ones (off by default, so that a reworded prompt can still replay
    a run whose answers are what matters).
    """

    name = "replay"

    def __init__(self, path: str | Path, *, ledger: Ledger | None = None, strict_messages: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"no replay transcript at {self.path}", code="replay-missing")
        self.records: list[dict[str, Any]] = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                self.records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{self.path}:{number} is not JSON: {exc}", code="replay-corrupt") from None
        if not self.records:
            raise ConfigError(f"replay transcript {self.path} is empty", code="replay-corrupt")
        self.recorded_provider = str(self.records[0].get("provider", ""))
        self.model = str(self.records[0].get("model", ""))
        self.ledger = ledger if ledger is not None else Ledger()
        self.strict_messages = strict_messages
        self.position = 0
        self._lock = threading.Lock()

    def describe(self) -> str:
        return (f"replay of {self.path} ({len(self.records)} exchanges) recorded from "
                f"{self.recorded_provider}/{self.model}")

    def _next(self, request: LLMRequest, response_model: type[BaseModel]) -> dict[str, Any]:
        with self._lock:
            if self.position >= len(self.records):
                raise provider_error(
                    "replay-exhausted",
                    f"the transcript has {len(self.records)} exchanges; asked for a {request.purpose} answer after them",
                )
            record = self.records[self.position]
            recorded = record.get("request", {})
            wanted = (request.purpose, request.level, response_model.__name__)
            found = (recorded.get("purpose"), recorded.get("level"), record.get("response_model"))
            if wanted != found:
                raise provider_error(
                    "replay-mismatch",
                    f"exchange {self.position}: asked for purpose/level/model {wanted}, transcript has {found}",
                )
            if self.strict_messages and recorded.get("messages") != request.to_dict()["messages"]:
                raise provider_error("replay-mismatch", f"exchange {self.position}: the prompt messages differ")
            self.position += 1
            return record

    def ask(self, request: LLMRequest, response_model: type[T]) -> LLMReply[T]:
        self.ledger.check(request.purpose)
        record = self._next(request, response_model)
        exchange = None if record.get("exchange") is None else Exchange.from_dict(record["exchange"])
        self.ledger.add(request.level, exchange.usage if exchange is not None else Usage())
        error = record.get("error")
        if error is not None:
            raise ExchangeError(error["message"], code=error["code"], exchange=exchange)
        if exchange is None:
            raise provider_error("replay-corrupt", f"exchange {self.position - 1} has neither answer nor error")
        # Validated as the answer type it was recorded as, not against a per-request restriction
        # (e.g. the active parameter names): the replay gives the engine exactly what the model said
        # then, and the engine's own checks refuse what they refused then.
        recorded_as = ANSWER_MODELS.get(response_model.__name__, response_model)
        try:
            value = recorded_as.model_validate(record["value"])
        except ValidationError as exc:
            raise provider_error(
                "replay-mismatch", f"recorded answer no longer validates as {response_model.__name__}: {exc}"
            ) from None
        # The recorded answer type stands in for T, which may be a per-request restriction of it.
        return LLMReply(value=value, exchange=exchange)  # type: ignore[arg-type]
