"""Token and cost accounting per call, per level and per run, with a budget cap."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Mapping

from interfaces import ConfigError

from ._errors import provider_error
from ._records import Usage

__all__ = ["Budget", "Price", "Ledger"]


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget.to_dict(),
            "total": self.total.to_dict(),
            "by_level": {level: usage.to_dict() for level, usage in self.by_level().items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Ledger":
        """Rebuild a ledger (e.g. when a run resumes) from :meth:`to_dict` data."""
        budget = data.get("budget") or {}
        ledger = cls(Budget(budget.get("max_tokens"), budget.get("max_usd")))
        for level, usage in (data.get("by_level") or {}).items():
            ledger.add(level, Usage.from_dict(usage))
        return ledger
