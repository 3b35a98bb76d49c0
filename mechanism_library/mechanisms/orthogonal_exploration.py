"""Orthogonal exploration advisor: name the directions recent trials ignored.

LLM proposers fall into ruts: they keep nudging the one parameter that worked
once, always in the same direction, and never look sideways. In coordinate
search terms the search has collapsed onto one or two axes. This advisor looks
at a window of recent trials, reconstructs each change relative to the
incumbent it was proposed against, and names what is orthogonal to that
recent activity:

* active parameters untouched in the window (least changed overall first);
* numeric parameters moved only one way lately (suggest the other way);
* choice/bool parameters with values never tried.

It returns at most three suggestions, so the advice stays short enough for
the model to follow.
"""

from __future__ import annotations

WINDOW = 10  # how many recent trials count as "lately"
MOST = 3  # suggestions per piece of advice


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def recent_moves(trace, window):
    """(name, before, after) for every change in the last `window` trials that ran."""
    moves = []
    parent = None
    ran = trace.ran()
    start = max(0, len(ran) - window)
    for position, trial in enumerate(ran):
        if position >= start and parent is not None:
            for name, value in trial.changes.items():
                moves.append((name, parent.config.get(name), value))
        if trial.kept:
            parent = trial
    return moves


class OrthogonalExploration:
    def __init__(self, window=WINDOW):
        self.window = window

    def advise(self, trace, space, config):
        active = [n for n in config.active if n in space and not space[n].locked]
        if not active:
            return ""
        moves = recent_moves(trace, self.window)
        touched = {}
        ups = {}
        downs = {}
        seen = {}  # values a parameter held lately, before or after a change
        for name, before, after in moves:
            touched[name] = touched.get(name, 0) + 1
            seen[name] = seen.get(name, []) + [before, after]
            if is_number(before) and is_number(after):
                if after > before:
                    ups[name] = ups.get(name, 0) + 1
                elif after < before:
                    downs[name] = downs.get(name, 0) + 1
        overall = trace.change_counts()

        suggestions = []
        untouched = [n for n in active if n not in touched]
        untouched.sort(key=lambda n: (overall.get(n, 0), active.index(n)))
        for name in untouched:
            suggestions.append(f"try {name} (untouched in the last {self.window} trials)")

        # Busiest parameters first: that is where the rut is deepest.
        busy = sorted((n for n in active if n in touched), key=lambda n: (-touched[n], active.index(n)))
        for name in busy:
            spec = space[name]
            if spec.kind == "float" or spec.kind == "int":
                if ups.get(name, 0) and not downs.get(name, 0):
                    suggestions.append(f"decrease {name} (it was only increased lately)")
                elif downs.get(name, 0) and not ups.get(name, 0):
                    suggestions.append(f"increase {name} (it was only decreased lately)")
            else:
                options = list(spec.choices) if spec.kind == "choice" else [True, False]
                tried = list(trace.values_tried(name)) + seen.get(name, [])
                fresh = [v for v in options if v not in tried]
                if fresh:
                    suggestions.append(f"set {name} to {fresh[0]!r} (never tried)")

        if not suggestions:
            return ""
        lead = ""
        if busy:
            lead = "Recent trials mostly changed " + ", ".join(busy[:2]) + ". "
        return (lead + "Explore other directions: " + "; ".join(suggestions[:MOST]) + ".")[:480]


def build(seed: int):
    # Deterministic by construction; the seed is accepted for the common entry point.
    return OrthogonalExploration()
