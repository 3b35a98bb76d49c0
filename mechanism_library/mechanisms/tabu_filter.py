"""Tabu filter: veto proposals that would re-run, or nearly re-run, recent trials.

An LLM that has lost track of its own history proposes the same configuration
again, or one so close to a recent trial that the measurement cannot tell them
apart. Both cost a full training run and teach nothing. This filter keeps a
tabu tenure of the last few trials that ran and vetoes a proposal whose full
configuration lies within a small normalised radius of any of them, plus any
configuration that already ran exactly, however long ago.

Distances are per parameter and normalised so one radius fits every scale:
log-scale parameters are compared in log coordinates, linear ones relative to
their range, and choice/bool parameters are either equal (0) or not (1). Two
configurations are "close" when every parameter is within the radius
(a Chebyshev ball), so a real move on any one parameter is enough to pass.
"""

from __future__ import annotations

import math

TENURE = 8  # how many recent trials are tabu; older regions may be revisited
RADIUS = 0.02  # a move smaller than 2% of a range cannot be told apart from noise


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def position(spec, value):
    """Where a numeric value sits in [0, 1] of its range (log coordinates if log-scale)."""
    low, high, point = float(spec.low), float(spec.high), float(value)
    if spec.log and low > 0 and point > 0:
        low, high, point = math.log(low), math.log(high), math.log(point)
    if high <= low:
        return 0.0
    return (point - low) / (high - low)


def distance(spec, a, b):
    """Normalised distance between two values of one parameter, in [0, 1]."""
    if a == b and isinstance(a, bool) == isinstance(b, bool):
        return 0.0
    numeric = spec.kind == "float" or spec.kind == "int"
    if not (numeric and is_number(a) and is_number(b)):
        return 1.0  # choices and bools are exact: any difference is a full step
    return min(1.0, abs(position(spec, a) - position(spec, b)))


class TabuFilter:
    def __init__(self, tenure=TENURE, radius=RADIUS):
        self.tenure = tenure
        self.radius = radius

    def check(self, proposal, trace, space):
        incumbent = trace.incumbent()
        base = dict(incumbent.config) if incumbent is not None else dict(space.defaults())
        candidate = dict(base)
        for name, value in proposal.changes.items():
            candidate[name] = value

        ran = trace.ran()
        for trial in ran:
            if same_config(candidate, trial.config):
                return (
                    f"This exact configuration already ran as trial {trial.index}; "
                    "propose something new."
                )

        names = [name for name in candidate if name in space]
        for trial in ran[-self.tenure:]:
            widest = 0.0
            for name in names:
                if name not in trial.config:
                    widest = 1.0
                    break
                widest = max(widest, distance(space[name], candidate[name], trial.config[name]))
            if widest < self.radius:
                return (
                    f"Too close to recent trial {trial.index}: no parameter moves more than "
                    f"{widest:.3f} of its range (tabu radius {self.radius}); make a larger change."
                )
        return None


def same_config(candidate, config):
    """Equal as configurations: same keys, equal values, bools never equal to ints."""
    if len(candidate) != len(config):
        return False
    for name, value in candidate.items():
        if name not in config:
            return False
        other = config[name]
        if value != other or isinstance(value, bool) != isinstance(other, bool):
            return False
    return True


def build(seed: int):
    # The filter is deterministic; the seed is accepted for the common entry point.
    return TabuFilter()
