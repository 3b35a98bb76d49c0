"""Simulated-annealing acceptance: sometimes keep a slightly worse trial, early on.

Greedy acceptance only ever moves downhill, so the search settles in the
first basin it finds. Simulated annealing (Kirkpatrick, Gelatt and Vecchi,
1983) keeps every improvement and keeps a worse trial with probability
exp(-delta / T), where delta is how much worse it is and T a temperature that
decays with every decision. Early on, modest setbacks are accepted and the
search can cross ridges; later T is small and the rule is almost greedy.

delta is measured relative to the incumbent's metric, so one temperature
schedule fits metrics of any magnitude. A trial that ties the incumbent is a
sideways move (delta 0) and is kept, as in the classic algorithm. The draw uses the instance's own
seeded generator, so a run replays exactly.
"""

from __future__ import annotations

import math
import random

START = 0.01  # initial temperature: a 1% worse trial is kept with probability 1/e
DECAY = 0.9  # temperature multiplier per decision
FLOOR = 1e-9  # below this temperature the rule is greedy


class AnnealingAcceptance:
    def __init__(self, seed=0, start=START, decay=DECAY):
        self.rng = random.Random(seed)
        self.start = start
        self.decay = decay
        self.decisions = 0

    def temperature(self):
        return self.start * self.decay ** self.decisions

    def decide(self, trial, incumbent, trace):
        if trial.metric is None:
            return False
        if incumbent is None or incumbent.metric is None:
            return True
        temperature = self.temperature()
        self.decisions = self.decisions + 1
        # Draw on every decision, kept or not, so the random stream does not
        # depend on the outcomes and two replays stay in step.
        draw = self.rng.random()
        if trace.is_better(trial.metric, incumbent.metric):
            return True
        scale = max(abs(incumbent.metric), 1e-12)
        delta = abs(trial.metric - incumbent.metric) / scale
        if temperature < FLOOR:
            return False
        return draw < math.exp(-delta / temperature)


def build(seed: int):
    return AnnealingAcceptance(seed)
