"""The Level 1.5 search configuration: what the outer loop may change.

A ``SearchConfig`` is a snapshot; Level 1.5 returns a new one each cycle with a
reason, never mutates the old one. Mechanisms receive it read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["PROPOSERS", "SAMPLERS", "SearchConfig", "STRATEGIES"]

STRATEGIES = ("explore", "exploit", "balanced")

#: Who proposes Level 1's trials. ``llm``: the model; ``sampler``: an Optuna sampler; ``alternate``: the
#: two take turns, the sampler first; ``pick``: the sampler offers ``pick_from`` candidates and the model
#: picks one, with a rationale. Proposal-source mechanisms come before any of them.
PROPOSERS = ("llm", "sampler", "alternate", "pick")

#: The Optuna samplers a search config may name (``engine.levels.samplers``).
SAMPLERS = ("gp", "tpe", "cmaes", "random")


@dataclass(frozen=True)
class SearchConfig:
    """``active``: parameters proposals may change now. ``frozen``: parameters
    paused by Level 1.5 (they can be unfrozen later, unlike locked ones).
    ``strategy`` is one of :data:`STRATEGIES`. ``guidance`` is free text added
    to the next proposal prompts. ``max_changes`` caps parameters changed per
    LLM or mechanism proposal (a sampler proposes a whole point). ``min_active``
    is the guard rail on freezing.

    ``proposer`` is one of :data:`PROPOSERS`, ``sampler`` one of
    :data:`SAMPLERS`; ``warm_start`` trials after the baseline are the model's
    whatever the proposer (its priors, read from the names and the script,
    before the sampler has evidence); ``pick_from`` is how many candidates the
    sampler offers under ``pick``. Level 1.5 may change the proposer.
    """

    active: tuple[str, ...]
    frozen: tuple[str, ...] = ()
    strategy: str = "balanced"
    guidance: str = ""
    max_changes: int = 2
    min_active: int = 3
    proposer: str = "llm"
    sampler: str = "gp"
    warm_start: int = 0
    pick_from: int = 4

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
        if self.proposer not in PROPOSERS:
            raise ValueError(f"proposer must be one of {', '.join(PROPOSERS)}, got {self.proposer!r}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.warm_start < 0:
            raise ValueError("warm_start must be 0 or more")
        if not 2 <= self.pick_from <= 8:
            raise ValueError("pick_from must be between 2 and 8")

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
            "proposer": self.proposer,
            "sampler": self.sampler,
            "warm_start": self.warm_start,
            "pick_from": self.pick_from,
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
            proposer=data.get("proposer", "llm"),
            sampler=data.get("sampler", "gp"),
            warm_start=int(data.get("warm_start", 0)),
            pick_from=int(data.get("pick_from", 4)),
        )
