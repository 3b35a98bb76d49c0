"""Level 1.5 answers by rule, never with invented numbers.

* freeze an active parameter changed ``freeze_after`` or more times in the
  last ``window`` trials that ran, none of them kept (never below the search
  config's ``min_active``);
* unfreeze a frozen parameter once ``window`` trials have run without it;
* strategy from the discard streak: ``explore`` after ``explore_streak``
  discards in a row, ``exploit`` right after a keep, else ``balanced``;
* guidance names the active parameters never changed so far (or, if every
  one has been, the least changed);
* with ``sampler_after`` set, a proposer of ``llm`` becomes ``alternate``
  after that many discards in a row (off by default: the stand-in's own
  proposals are what most tests measure).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interfaces import Decision

from ._context import config_of, space_of, trace_of

__all__ = ["OuterRules", "outer"]


@dataclass(frozen=True)
class OuterRules:
    freeze_after: int = 3
    window: int = 10
    explore_streak: int = 5
    sampler_after: int | None = None


def outer(context: Mapping[str, Any], rules: OuterRules) -> dict[str, Any]:
    """An OuterAnswer as plain data."""
    space = space_of(context)
    config = config_of(context, space)
    trace = trace_of(context)
    ran = trace.ran()
    recent = [t for t in ran[-rules.window:] if t.decision is not Decision.BASELINE]
    touched = Counter(name for t in recent for name in t.changes)
    kept = Counter(name for t in recent if t.decision is Decision.KEEP for name in t.changes)
    reasons: list[str] = []

    stale = sorted(
        (n for n in config.active if touched[n] >= rules.freeze_after and kept[n] == 0),
        key=lambda n: (-touched[n], space.names.index(n) if n in space else 0),
    )
    room = max(0, len(config.active) - config.min_active)
    freeze = stale[:room]
    if freeze:
        reasons.append(
            f"froze {', '.join(freeze)}: changed {rules.freeze_after}+ times in the last "
            f"{rules.window} trials without a keep"
        )
    if len(stale) > len(freeze):
        reasons.append(f"kept {', '.join(stale[len(freeze):])} active to leave {config.min_active} active")

    unfreeze = [n for n in config.frozen if touched[n] == 0 and len(ran) >= rules.window]
    if unfreeze:
        reasons.append(f"unfroze {', '.join(unfreeze)}: frozen through the last {rules.window} trials")

    streak = trace.discard_streak()
    last = ran[-1] if ran else None
    if streak >= rules.explore_streak:
        strategy = "explore"
        reasons.append(f"explore: {streak} discards in a row")
    elif last is not None and last.decision is Decision.KEEP:
        strategy = "exploit"
        reasons.append("exploit: the last trial was kept")
    else:
        strategy = "balanced"
        reasons.append(f"balanced: discard streak {streak}")

    active_after = [n for n in config.active if n not in freeze] + unfreeze
    counts = trace.change_counts()
    untried = [n for n in active_after if counts.get(n, 0) == 0]
    if untried:
        guidance = f"Try {', '.join(untried[:3])}: never changed so far."
    elif active_after:
        least = min(active_after, key=lambda n: counts.get(n, 0))
        guidance = f"Try {least}: changed least so far ({counts.get(least, 0)} times)."
    else:
        guidance = ""
    proposer = None
    if rules.sampler_after is not None and config.proposer == "llm" and streak >= rules.sampler_after:
        proposer = "alternate"
        reasons.append(f"alternate with the sampler: {streak} discards in a row from the model")
    return {
        "proposer": proposer,
        "freeze": freeze,
        "unfreeze": unfreeze,
        "strategy": strategy,
        "guidance": guidance,
        "reason": "; ".join(reasons) + " (heuristic stand-in rules)",
    }
