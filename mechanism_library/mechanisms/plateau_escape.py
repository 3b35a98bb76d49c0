"""Plateau escape source: after a long run of discards, take one big step.

When many consecutive trials are discarded, the proposer is refining around
an incumbent it cannot improve with small moves: the search is on a plateau
or in a narrow basin. More small moves waste runs. This source watches the
discard streak and, once it reaches PATIENCE, proposes a deliberately wide
move on (up to) two active parameters: a multiplicative jump by a factor of
2 to 4 on log-scale parameters, a jump of 30-50% of the range on linear ones,
a different value on choice and bool parameters. Numeric parameters are
preferred, since that is where a wider step means something.

It fires at most once every PATIENCE trials, so during a long plateau the
LLM still gets the iterations in between; otherwise it passes (None).
"""

from __future__ import annotations

import math
import random

PATIENCE = 5  # discard streak that counts as a plateau
WIDEST = 2  # parameters moved by one escape step


def numeric(spec):
    return spec.kind == "float" or spec.kind == "int"


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def clamp(spec, value):
    value = min(float(spec.high), max(float(spec.low), value))
    if spec.kind == "int":
        return int(min(math.floor(spec.high), max(math.ceil(spec.low), round(value))))
    return value


class PlateauEscape:
    def __init__(self, seed=0, patience=PATIENCE):
        self.rng = random.Random(seed)
        self.patience = patience
        self.fired_at = None  # how many trials had run when it last fired

    def widened(self, spec, current):
        """A far-away value for one parameter, or None when none differs."""
        if not numeric(spec):
            options = list(spec.choices) if spec.kind == "choice" else [True, False]
            others = [v for v in options if v != current or isinstance(v, bool) != isinstance(current, bool)]
            return self.rng.choice(others) if others else None
        if not is_number(current):
            current = spec.default
        direction = self.rng.choice([1, -1])
        for sign in (direction, -direction):  # if one way hits a bound, go the other
            if spec.log and current > 0:
                factor = self.rng.uniform(2.0, 4.0)
                target = current * factor if sign > 0 else current / factor
            else:
                target = current + sign * self.rng.uniform(0.3, 0.5) * (spec.high - spec.low)
            value = clamp(spec, target)
            if value != current:
                return value
        return None

    def propose(self, trace, space, config):
        ran = len(trace.ran())
        if trace.discard_streak() < self.patience:
            return None
        if self.fired_at is not None and ran - self.fired_at < self.patience:
            return None
        incumbent = trace.incumbent()
        base = dict(incumbent.config) if incumbent is not None else dict(space.defaults())
        names = [n for n in config.active if n in space and not space[n].locked]
        self.rng.shuffle(names)
        names.sort(key=lambda n: 0 if numeric(space[n]) else 1)
        changes = {}
        for name in names:
            if len(changes) >= min(WIDEST, config.max_changes):
                break
            value = self.widened(space[name], base.get(name, space[name].default))
            if value is not None:
                changes[name] = value
        if not changes:
            return None
        self.fired_at = ran
        return changes


def build(seed: int):
    return PlateauEscape(seed)
