"""Fold a run's mechanism events into one summary per mechanism."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MechanismSummary", "summarise_mechanisms"]

_VERDICTS = {"keep": "kept", "revert": "reverted", "ejection": "ejected"}


@dataclass
class MechanismSummary:
    name: str
    admitted: bool = False
    rejected: bool = False
    activated_at: int | None = None
    calls: Counter = field(default_factory=Counter)
    effects: int = 0
    ejections: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)  # one entry per rejected attempt: its codes
    reasons: list[str] = field(default_factory=list)  # why the verdicts were given
    verdict: str = ""

    @property
    def final(self) -> str:
        """The last verdict; ``active`` or ``not admitted`` when there is none."""
        if self.verdict:
            return self.verdict
        if self.admitted:
            return "active (no verdict yet)"
        return "rejected at admission" if self.rejected else "not admitted"


def _reason(data: Mapping[str, Any]) -> str:
    code, reason = data.get("code", ""), data.get("reason", data.get("message", ""))
    return f"{code}: {reason}" if code and reason else str(code or reason or "no reason given")


def summarise_mechanisms(events: Iterable[Mapping[str, Any]]) -> list[MechanismSummary]:
    """Summaries in order of each mechanism's first event."""
    summaries: dict[str, MechanismSummary] = {}
    for event in events:
        summary = summaries.setdefault(event["mechanism"], MechanismSummary(event["mechanism"]))
        kind, data = event["kind"], event["data"]
        if kind == "admission":
            summary.admitted = True
        elif kind == "rejection":
            summary.rejected = True
            codes = sorted({v.get("code", "?") if isinstance(v, Mapping) else str(v)
                            for v in data.get("violations", [])})
            if data.get("counterexample"):
                codes.append("property-test")
            summary.rejections.append(", ".join(codes) or "rejected")
        elif kind == "activation" and summary.activated_at is None:
            summary.activated_at = event["trial_index"]
        elif kind == "calls":
            summary.calls.update(data["counts"])
        elif kind == "effect":
            summary.effects += 1
        if kind == "ejection":
            summary.ejections.append(_reason(data))
        if kind in _VERDICTS:
            summary.verdict = _VERDICTS[kind]
            if data.get("reason") and kind != "ejection":
                summary.reasons.append(str(data["reason"]))
    return list(summaries.values())
