"""Level 1's choice among a sampler's candidates, by rule: the cautious one.

The candidate that changes the fewest parameters of the current best
configuration, the earliest offered among equals: the small step an LLM with
strong priors tends to prefer over a leap across the space.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["pick"]


def pick(context: Mapping[str, Any]) -> dict[str, Any]:
    """A PickAnswer as plain data."""
    candidates = list(context["candidates"])
    number = min(range(len(candidates)), key=lambda i: (len(candidates[i]), i)) + 1
    changed = len(candidates[number - 1])
    return {"choice": number,
            "rationale": f"candidate {number} changes {changed} parameter{'s' if changed != 1 else ''}, the fewest "
                         "(heuristic stand-in rule)"}
