"""Improvement at fixed trial budgets, the comparisons a report is about, and reports that merge folders.

A user with 10 trials to spend asks a different question from one with 30, so
the report can state each arm's improvement after the first ``k`` searched
trials of every repeat (``--checkpoints 10,20,30``) and test the chosen pairs
(``--compare W:gp,P:gp``) at each budget. Each budget is its own Holm family:
the question "which is ahead at 10 trials" does not share its error rate with
"which is ahead at 30". Without ``--compare`` every pair is tested, and with
many arms Holm then leaves little power (eight arms make 28 comparisons, and
10 paired seeds can reach at best p=0.002 x 28 > 0.05), so name the pairs the
report is for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interfaces import ConfigError

from ._data import RunData
from .stats import Comparison, GroupSummary, compare_all, summarise

__all__ = ["Checkpoint", "at_checkpoints", "check_pairs", "merge_folders", "merge_source", "parse_checkpoints", "parse_pairs"]


@dataclass(frozen=True)
class Checkpoint:
    """Every arm's improvement after the first ``trials`` searched trials, and the chosen pairs compared there."""

    trials: int
    summaries: tuple[GroupSummary, ...]
    comparisons: tuple[Comparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"trials": self.trials, "summaries": [s.to_dict() for s in self.summaries],
                "comparisons": [c.to_dict() for c in self.comparisons]}


def parse_checkpoints(text: str) -> tuple[int, ...]:
    """``"10,20,30"`` -> ``(10, 20, 30)``; each a positive whole number of trials, in increasing order."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        budgets = tuple(int(part) for part in parts)
    except ValueError:
        raise ConfigError(f"checkpoints must be whole numbers of trials, like 10,20,30; got {text!r}",
                          code="bad-checkpoint") from None
    if any(b < 1 for b in budgets) or list(budgets) != sorted(set(budgets)):
        raise ConfigError(f"checkpoints must be positive and increasing, like 10,20,30; got {text!r}",
                          code="bad-checkpoint")
    return budgets


def parse_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``"W:gp,P:gp"`` -> ``(("W", "gp"), ("P", "gp"))``: first minus second, in the order given."""
    pairs = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        first, sep, second = part.partition(":")
        if not sep or not first.strip() or not second.strip() or first.strip() == second.strip():
            raise ConfigError(f"a comparison is two different arms as FIRST:SECOND, like W:gp; got {part!r}",
                              code="bad-comparison")
        pairs.append((first.strip(), second.strip()))
    if len(set(pairs)) != len(pairs):
        raise ConfigError(f"a comparison is named twice in {text!r}", code="bad-comparison")
    return tuple(pairs)


def check_pairs(pairs: Sequence[tuple[str, str]], arms: Sequence[str]) -> None:
    unknown = sorted({arm for pair in pairs for arm in pair} - set(arms))
    if unknown:
        raise ConfigError(f"no repeats of arm(s) {', '.join(unknown)} to compare; the data has {', '.join(arms)}",
                          code="unknown-arm")


def at_checkpoints(by_arm: Mapping[str, Sequence[RunData]], checkpoints: Sequence[int], *,
                   pairs: Sequence[tuple[str, str]] | None, alpha: float, confidence: float,
                   seed: int) -> tuple[Checkpoint, ...]:
    """The improvement of every arm at each budget (repeats that ran fewer trials keep what they had found),
    and ``pairs`` (every pair when None) compared there, Holm-adjusted within the budget."""
    out = []
    for trials in checkpoints:
        improvements: dict[str, dict[int, float]] = {}
        for arm, runs in by_arm.items():
            found = {run.seed: run.improvement_after(trials) for run in runs}
            improvements[arm] = {s: value for s, value in found.items() if value is not None}
        summaries = tuple(summarise(arm, list(values.values()), confidence=confidence, seed=seed)
                          for arm, values in improvements.items())
        comparisons = (compare_all(improvements, pairs=pairs, alpha=alpha, confidence=confidence, seed=seed)
                       if len(improvements) > 1 else ())
        out.append(Checkpoint(trials, summaries, comparisons))
    return tuple(out)


def merge_source(text: str) -> tuple[Path, dict[str, str] | None]:
    """``DIR`` (every arm of that folder), ``DIR::A,B`` (only arms A and B of it), or ``DIR::A=A-1.5b`` (arm A,
    named A-1.5b in the merged data: the same group run with another model, say). Returns the folder and
    each chosen arm's name in the merge (None: every arm, under its own name)."""
    folder, sep, arms = text.partition("::")
    if not sep:
        return Path(folder), None
    chosen: dict[str, str] = {}
    for entry in (a.strip() for a in arms.split(",")):
        if not entry:
            continue
        arm, eq, name = (part.strip() for part in entry.partition("="))
        if not arm or (eq and not name):
            raise ConfigError(f"an arm to take is NAME or NAME=NEW_NAME; got {entry!r} in {text!r}", code="bad-merge")
        chosen[arm] = name or arm
    if not chosen:
        raise ConfigError(f"name the arms to take after '::', like {folder}::S; got {text!r}", code="bad-merge")
    return Path(folder), chosen


def merge_folders(sources: Sequence[Path | str]) -> list[RunData]:
    """The repeats of several report folders as one data set (arms run by separate commands, for example).
    A source is a folder, or ``DIR::A,B`` for only those arms of it (a folder that also holds arms rerun
    elsewhere), or ``DIR::A=NEW`` to take arm A under another name. A repeat (arm and seed) found in two
    sources is refused: which one counts would be a silent choice; so is an arm named that its folder
    does not have."""
    from .report import read_runs

    runs: list[RunData] = []
    seen: dict[tuple[str, int], Path] = {}
    for source in sources:
        folder, chosen = merge_source(str(source))
        found = read_runs(folder)
        missing = sorted(set(chosen or ()) - {run.arm for run in found})
        if missing:
            raise ConfigError(f"no repeats of arm(s) {', '.join(missing)} in {folder}", code="unknown-arm")
        for run in found:
            if chosen is not None:
                if run.arm not in chosen:
                    continue
                run = dataclasses.replace(run, arm=chosen[run.arm])
            key = (run.arm, run.seed)
            if key in seen:
                raise ConfigError(f"repeat {run.arm}/{run.seed} is in both {seen[key]} and {folder}",
                                  code="duplicate-repeat")
            seen[key] = folder
            runs.append(run)
    return runs
