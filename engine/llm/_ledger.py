"""Token and cost accounting per call, per level and per run, with a budget cap."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interfaces import ConfigError

from ._errors import provider_error
from ._records import Usage

__all__ = ["Budget", "Price", "Ledger", "estimate_tokens"]


def estimate_tokens(messages: Any) -> int:
    """A prompt's tokens, estimated before it is sent: one per three characters of its JSON text.

    Real tokenizers give about four characters per token for English and
    code; three errs toward more tokens, so a cap computed from it holds.
    """
    import json

    return len(json.dumps(messages, default=str)) // 3 + 1


@dataclass(frozen=True)
class Price:
    """US dollars per million prompt and completion tokens."""

    prompt_per_mtok: float
    completion_per_mtok: float

    def __post_init__(self) -> None:
        if self.prompt_per_mtok < 0 or self.completion_per_mtok < 0:
            raise ConfigError("prices cannot be negative", code="bad-price")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt_per_mtok + completion_tokens * self.completion_per_mtok) / 1e6


@dataclass(frozen=True)
class Budget:
    """A cap on a run's model spending; None means no cap on that measure."""

    max_tokens: int | None = None
    max_usd: float | None = None

    def __post_init__(self) -> None:
        if self.max_tokens is not None and self.max_tokens < 0:
            raise ConfigError("max_tokens cannot be negative", code="bad-budget")
        if self.max_usd is not None and self.max_usd < 0:
            raise ConfigError("max_usd cannot be negative", code="bad-budget")

    def to_dict(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "max_usd": self.max_usd}


class Ledger:
    """Accumulates :class:`Usage` per level and in total; one per run, shared by levels.

    The cap is checked before each call (:meth:`check`): a call is refused
    once the spending so far has reached the cap, so a run stops cleanly
    between calls and overshoots by at most the one call that crossed it.
    Thread-safe, because trials and levels may share it across threads.
    """

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget()
        self._lock = threading.Lock()
        self._by_level: dict[str, Usage] = {}

    def add(self, level: str, usage: Usage) -> None:
        with self._lock:
            self._by_level[level] = self._by_level.get(level, Usage()) + usage

    @property
    def total(self) -> Usage:
        with self._lock:
            total = Usage()
            for usage in self._by_level.values():
                total = total + usage
            return total

    def by_level(self) -> dict[str, Usage]:
        with self._lock:
            return dict(self._by_level)

    def check(self, purpose: str = "call") -> None:
        """Raise ``budget-exceeded`` when a new call would start over the cap."""
        total = self.total
        cap = self.budget
        if cap.max_tokens is not None and total.total_tokens >= cap.max_tokens:
            raise provider_error(
                "budget-exceeded",
                f"token budget spent: {total.total_tokens} of {cap.max_tokens} tokens used; "
                f"refusing the next {purpose} call",
            )
        if cap.max_usd is not None:
            if total.cost_usd is None:
                raise provider_error(
                    "unknown-price",
                    "a dollar budget is set but a model's price is unknown; give the provider a price",
                )
            if total.cost_usd >= cap.max_usd:
                raise provider_error(
                    "budget-exceeded",
                    f"dollar budget spent: ${total.cost_usd:.4f} of ${cap.max_usd:.4f}; "
                    f"refusing the next {purpose} call",
                )

    def completion_allowance(self, prompt_tokens: int, price: Price | None = None,
                             purpose: str = "call") -> int | None:
        """The most completion tokens the next request may ask for (its ``max_tokens``); None: no cap.

        ``prompt_tokens`` is the request's prompt, estimated before it is sent
        (:func:`estimate_tokens`). What is left of the token cap, and of the
        dollar cap at ``price``, after that prompt, bounds the answer, so a
        single answer cannot run past the budget. Raises ``budget-exceeded``,
        before anything is sent, when nothing is left for an answer.
        """
        self.check(purpose)
        total, cap = self.total, self.budget
        allowed: list[int] = []
        if cap.max_tokens is not None:
            allowed.append(cap.max_tokens - total.total_tokens - prompt_tokens)
        if cap.max_usd is not None and price is not None and price.completion_per_mtok > 0:
            left_usd = cap.max_usd - (total.cost_usd or 0.0) - price.cost(prompt_tokens, 0)
            allowed.append(int(left_usd * 1e6 / price.completion_per_mtok))
        if not allowed:
            return None
        allowance = min(allowed)
        if allowance <= 0:
            raise provider_error(
                "budget-exceeded",
                f"the budget left ({self._left_text()}) does not cover the {purpose} call's prompt "
                f"(about {prompt_tokens} tokens) and an answer; refusing to send it",
            )
        return allowance

    def _left_text(self) -> str:
        total, cap = self.total, self.budget
        parts = []
        if cap.max_tokens is not None:
            parts.append(f"{max(0, cap.max_tokens - total.total_tokens)} of {cap.max_tokens} tokens")
        if cap.max_usd is not None:
            parts.append(f"${max(0.0, cap.max_usd - (total.cost_usd or 0.0)):.4f} of ${cap.max_usd:.4f}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget.to_dict(),
            "total": self.total.to_dict(),
            "by_level": {level: usage.to_dict() for level, usage in self.by_level().items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], budget: Budget | None = None) -> Ledger:
        """Rebuild a ledger (e.g. when a run resumes) from :meth:`to_dict` data.

        ``budget``, when given, replaces the stored cap: a run stopped by its
        budget resumes with a higher one.
        """
        saved = data.get("budget") or {}
        ledger = cls(budget if budget is not None else Budget(saved.get("max_tokens"), saved.get("max_usd")))
        for level, usage in (data.get("by_level") or {}).items():
            ledger.add(level, Usage.from_dict(usage))
        return ledger
