"""Frozen records that flow through one iteration of Level 1.

``Proposal`` -> (validation, filters) -> ``Trial`` (with an ``Outcome``) ->
acceptance -> ``Decision``. Every record converts to and from plain JSON data
with ``to_dict``/``from_dict`` so it can cross a process boundary or be stored.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ._frozen import FrozenDict, freeze, thaw

__all__ = ["Proposal", "TrialStatus", "Decision", "Outcome", "Trial"]


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Proposal:
    """A change to the current best configuration.

    ``changes`` maps parameter names to new values; ``rationale`` is one line
    saying why; ``source`` says who proposed it (``"llm:<model>"``,
    ``"heuristic"``, ``"mechanism:<name>"``, ``"baseline"``).
    """

    changes: Mapping[str, Any]
    rationale: str = ""
    source: str = "unknown"

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", FrozenDict(self.changes))

    def to_dict(self) -> dict[str, Any]:
        return {"changes": thaw(self.changes), "rationale": self.rationale, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Proposal:
        return cls(changes=freeze(data.get("changes", {})), rationale=data.get("rationale", ""),
                   source=data.get("source", "unknown"))


class TrialStatus(str, enum.Enum):
    """How a trial ended. Classified from evidence, never guessed."""

    OK = "ok"
    CRASHED = "crashed"
    TIMED_OUT = "timed-out"
    DIVERGED = "diverged"
    OUT_OF_MEMORY = "out-of-memory"
    REJECTED = "rejected"  # never ran: invalid, duplicate or vetoed proposal
    MISSING_METRIC = "missing-metric"


class Decision(str, enum.Enum):
    BASELINE = "baseline"  # the unmodified configuration, measured first
    KEEP = "keep"  # became the new incumbent
    DISCARD = "discard"  # ran (or failed) and was not kept
    REJECTED = "rejected"  # never ran


@dataclass(frozen=True)
class Outcome:
    """What running one trial produced.

    ``metrics`` holds every ``key: value`` number the script printed;
    ``metric`` is the objective among them (None unless status is OK);
    ``reason`` says in one line what happened when status is not OK.
    """

    status: TrialStatus
    metric: float | None = None
    metrics: Mapping[str, float] = field(default_factory=FrozenDict)
    exit_code: int | None = None
    duration_s: float = 0.0
    log_tail: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", TrialStatus(self.status))
        object.__setattr__(self, "metrics", FrozenDict(self.metrics))
        object.__setattr__(self, "metric", _finite_or_none(self.metric))

    @property
    def ok(self) -> bool:
        return self.status is TrialStatus.OK and self.metric is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "metric": self.metric,
            "metrics": dict(self.metrics),
            "exit_code": self.exit_code,
            "duration_s": self.duration_s,
            "log_tail": self.log_tail,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        return cls(
            status=TrialStatus(data["status"]),
            metric=data.get("metric"),
            metrics=data.get("metrics", {}),
            exit_code=data.get("exit_code"),
            duration_s=float(data.get("duration_s", 0.0)),
            log_tail=data.get("log_tail", ""),
            reason=data.get("reason", ""),
        )


@dataclass(frozen=True)
class Trial:
    """One finished (or rejected) iteration: what was tried and what came of it.

    ``config`` is the full configuration that ran; ``changes`` is what differed
    from the incumbent it was proposed against. ``metric`` is None unless the
    trial ran to completion with a finite metric. ``remeasure_of`` is the index
    of the trial whose configuration this one ran again (the same configuration,
    so the same seed) because that one ran on a busy machine; None for a trial
    that ran for its own proposal.
    """

    index: int
    config: Mapping[str, Any]
    changes: Mapping[str, Any]
    status: TrialStatus
    metric: float | None
    decision: Decision
    duration_s: float = 0.0
    rationale: str = ""
    source: str = "unknown"
    reason: str = ""
    log_tail: str = ""
    remeasure_of: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", FrozenDict(self.config))
        object.__setattr__(self, "changes", FrozenDict(self.changes))
        object.__setattr__(self, "status", TrialStatus(self.status))
        object.__setattr__(self, "decision", Decision(self.decision))
        object.__setattr__(self, "metric", _finite_or_none(self.metric))

    @property
    def kept(self) -> bool:
        return self.decision in (Decision.KEEP, Decision.BASELINE)

    @property
    def ok(self) -> bool:
        return self.status is TrialStatus.OK and self.metric is not None

    def with_decision(self, decision: Decision) -> Trial:
        return replace(self, decision=Decision(decision))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; ``remeasure_of`` only when set, so a trial run for its own proposal keeps the
        shape it always had."""
        data: dict[str, Any] = {
            "index": self.index,
            "config": thaw(self.config),
            "changes": thaw(self.changes),
            "status": self.status.value,
            "metric": self.metric,
            "decision": self.decision.value,
            "duration_s": self.duration_s,
            "rationale": self.rationale,
            "source": self.source,
            "reason": self.reason,
            "log_tail": self.log_tail,
        }
        if self.remeasure_of is not None:
            data["remeasure_of"] = self.remeasure_of
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trial:
        remeasure_of = data.get("remeasure_of")
        return cls(
            index=int(data["index"]),
            config=freeze(data["config"]),
            changes=freeze(data.get("changes", {})),
            status=TrialStatus(data["status"]),
            metric=data.get("metric"),
            decision=Decision(data["decision"]),
            duration_s=float(data.get("duration_s", 0.0)),
            rationale=data.get("rationale", ""),
            source=data.get("source", "unknown"),
            reason=data.get("reason", ""),
            log_tail=data.get("log_tail", ""),
            remeasure_of=None if remeasure_of is None else int(remeasure_of),
        )
