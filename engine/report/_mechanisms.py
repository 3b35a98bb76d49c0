"""Fold a run's mechanism events into one summary per mechanism."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MechanismSummary", "SessionSamples", "summarise_mechanisms", "summarise_samples"]

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
    likeness: float | None = None  # the highest similarity to the library or earlier mechanisms
    nearest: str = ""
    library: bool = False  # a library mechanism the settings chose, active from the start


    @property
    def origin(self) -> str:
        """``new`` (likeness below 0.6 to everything), ``near X`` or ``copy of X``; ``unmeasured`` without one;
        ``library`` for a library mechanism the settings chose."""
        if self.library:
            return "library (chosen in the settings, active from the start)"
        if self.likeness is None:
            return "unmeasured"
        if self.likeness >= 0.8:
            return f"copy of {self.nearest} ({self.likeness:.2f})"
        if self.likeness >= 0.6:
            return f"near {self.nearest} ({self.likeness:.2f})"
        return f"new ({self.likeness:.2f})"

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
    """Summaries in order of each mechanism's first event (a fill session's samples are not mechanisms)."""
    summaries: dict[str, MechanismSummary] = {}
    for event in events:
        if event["kind"] == "candidate":
            continue
        summary = summaries.setdefault(event["mechanism"], MechanismSummary(event["mechanism"]))
        kind, data = event["kind"], event["data"]
        if kind == "library":
            summary.admitted = summary.library = True
            summary.activated_at = event["trial_index"]
        elif kind == "admission":
            summary.admitted = True
            likeness = data.get("likeness")
            if isinstance(likeness, Mapping) and likeness.get("score") is not None:
                summary.likeness, summary.nearest = float(likeness["score"]), str(likeness.get("nearest", ""))
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


@dataclass
class SessionSamples:
    """A fill session's samples: how many, and their verdicts."""

    session: str
    idea: str
    hook: str
    verdicts: Counter = field(default_factory=Counter)


def summarise_samples(events: Iterable[Mapping[str, Any]]) -> list[SessionSamples]:
    """One summary per fill session, from its ``candidate`` events, in session order."""
    sessions: dict[str, SessionSamples] = {}
    for event in events:
        if event["kind"] != "candidate":
            continue
        data = event["data"]
        summary = sessions.setdefault(event["mechanism"], SessionSamples(event["mechanism"], str(data.get("idea", "")),
                                                                          str(data.get("hook", ""))))
        summary.verdicts[str(data.get("verdict", "?"))] += 1
    return list(sessions.values())
