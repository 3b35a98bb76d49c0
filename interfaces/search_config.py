"""The Level 1.5 search configuration: what the outer loop may change.

A ``SearchConfig`` is a snapshot; Level 1.5 returns a new one each cycle with a
reason, never mutates the old one. Mechanisms receive it read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["SearchConfig", "STRATEGIES"]

STRATEGIES = ("explore", "exploit", "balanced")


@dataclass(frozen=True)
class SearchConfig:
    """``active``: parameters proposals may change now. ``frozen``: parameters
    paused by Level 1.5 (they can be unfrozen later, unlike locked ones).
    ``strategy`` is one of :data:`STRATEGIES`. ``guidance`` is free text added
    to the next proposal prompts. ``max_changes`` caps parameters changed per
    proposal. ``min_active`` is the guard rail on freezing.
    """

    active: tuple[str, ...]
    frozen: tuple[str, ...] = ()
    strategy: str = "balanced"
    guidance: str = ""
    max_changes: int = 2
    min_active: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "active", tuple(self.active))
        object.__setattr__(self, "frozen", tuple(self.frozen))
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if set(self.active) & set(self.frozen):
            both = ", ".join(sorted(set(self.active) & set(self.frozen)))
            raise ValueError(f"parameters both active and frozen: {both}")
        if self.max_changes < 1:
            raise ValueError("max_changes must be at least 1")

    def freeze(self, *names: str) -> SearchConfig:
        active = tuple(n for n in self.active if n not in names)
        frozen = self.frozen + tuple(n for n in names if n not in self.frozen)
        return replace(self, active=active, frozen=frozen)

    def unfreeze(self, *names: str) -> SearchConfig:
        frozen = tuple(n for n in self.frozen if n not in names)
        active = self.active + tuple(n for n in names if n not in self.active)
        return replace(self, active=active, frozen=frozen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": list(self.active),
            "frozen": list(self.frozen),
            "strategy": self.strategy,
            "guidance": self.guidance,
            "max_changes": self.max_changes,
            "min_active": self.min_active,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchConfig:
        return cls(
            active=tuple(data["active"]),
            frozen=tuple(data.get("frozen", ())),
            strategy=data.get("strategy", "balanced"),
            guidance=data.get("guidance", ""),
            max_changes=int(data.get("max_changes", 2)),
            min_active=int(data.get("min_active", 3)),
        )
