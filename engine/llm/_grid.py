"""The values a proposal may give a parameter, as a short list the schema can
enumerate.

A grammar-constrained model follows an ``enum`` exactly, while llama.cpp's
grammar ignores float ``minimum``/``maximum``: with bounds alone a small
model's proposals are out of bounds as often as without them. So, where the
grid is on, each numeric parameter is offered the grid points nearest the
incumbent on its own scale (multiplicative steps for log parameters), inside
its bounds and never the incumbent itself; a bool is offered its other value
and a choice the other choices (a tuple choice as its text, ``"[0.9, 0.95]"``). Values a trial already set against the
incumbent, alone or beside one other change (``engine.levels.inner.tried_from``),
are left out, so a small model that repeats itself is offered new values
rather than a duplicate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from interfaces import ParamKind, ParamSpec

__all__ = ["value_grid", "GRID_STEPS"]

GRID_STEPS = 16  # grid points across a parameter's whole range


def _spelled(choice: tuple[Any, ...]) -> str:
    return "[" + ", ".join(str(x) for x in choice) + "]"


def _short(value: float, current: float, low: float, high: float) -> float:
    """``value`` with the fewest significant digits (3 or more) that keep it in
    bounds and apart from ``current``: short numbers are easy for a model to copy."""
    for digits in range(3, 17):
        rounded = float(f"{value:.{digits}g}")
        if low <= rounded <= high and rounded != current:
            return rounded
    return value


def value_grid(spec: ParamSpec, current: Any, points: int = 8,
               exclude: Callable[[Any], bool] | None = None) -> tuple[Any, ...] | None:
    """Up to ``points`` allowed values nearest ``current``, sorted; None where
    the parameter's values cannot be listed (a non-numeric incumbent of a
    numeric parameter, every value excluded). ``exclude``
    drops values (those already tried, say) and the next nearest take their place."""
    skip = exclude or (lambda value: False)
    if spec.kind is ParamKind.BOOL:
        flips = (not current,) if isinstance(current, bool) else (True, False)
        return tuple(v for v in flips if not skip(v)) or None
    if spec.kind is ParamKind.CHOICE:
        others = tuple(c for c in spec.choices if not (c == current and type(c) is type(current)) and not skip(c))
        # A tuple choice is offered spelled as text ("[0.9, 0.95]"), which the space reads back as that
        # choice: a schema enum holds scalars, and without one the 1.5B wrote tuples that are no choice.
        return tuple(_spelled(c) if isinstance(c, tuple) else c for c in others) or None
    if isinstance(current, bool) or not isinstance(current, (int, float)) or not math.isfinite(current):
        return None
    assert spec.low is not None and spec.high is not None
    low, high = spec.low, spec.high
    if spec.log and current > 0 and low > 0:
        ratio = max((high / low) ** (1 / GRID_STEPS), 1.1)
        def at(k: int) -> float:
            return current * ratio ** k
    else:
        step = (high - low) / GRID_STEPS or 1.0

        def at(k: int) -> float:
            return current + step * k
    # Nearest steps first, one below then one above, so a grid at a bound is one-sided but full.
    steps = sorted(range(-GRID_STEPS, GRID_STEPS + 1), key=lambda k: (abs(k), k))
    values: list[Any] = []
    for value in map(at, steps):
        value = min(max(value, low), high)
        value = round(value) if spec.kind is ParamKind.INT else _short(value, current, low, high)
        if not (low <= value <= high) or value == current or value in values or skip(value):
            continue
        values.append(value)
        if len(values) == points:
            break
    if spec.kind is ParamKind.INT and len(values) < points:
        # Rounding merged steps of a narrow integer range: fill with the nearest unused integers.
        nearest = sorted(range(math.ceil(low), math.floor(high) + 1), key=lambda v: (abs(v - current), v))
        values += [v for v in nearest[:points * 4]
                   if v != current and v not in values and not skip(v)][:points - len(values)]
    return tuple(sorted(values)) or None
