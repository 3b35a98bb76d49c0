"""Multi-scale bandit advisor: which parameter to move next, and how far.

Hyperparameter search mixes two questions the LLM tends to answer by habit:
which knob to turn, and whether to nudge it or jump. This advisor treats every
(parameter, step scale) pair as an arm of a multi-armed bandit and scores it
with UCB1 (Auer et al., 2002): mean reward plus an exploration bonus that
shrinks as the arm is pulled. An arm is pulled by every past trial that
changed that parameter by a step of that scale; the reward is 1 when the
trial improved on the incumbent it was proposed against, else 0 (failures
included, so crash-prone moves lose credit).

Step scales are measured in normalised coordinates (log coordinates for
log-scale parameters, fraction of range otherwise). Choice and bool parameters
have one arm, "switch". As in UCB1, an arm never pulled is advised first (ties
broken by the seeded generator).
"""

from __future__ import annotations

import math
import random

# Upper edges of the step-scale bins (normalised) and the step each bin suggests.
SCALES = (("small", 0.1, 0.04), ("medium", 0.3, 0.18), ("large", 1.01, 0.45))
# UCB1's bonus sqrt(2 ln N / n) assumes cheap pulls; a pull here is a training
# run, so the bonus is halved to act on credit sooner.
EXPLORATION = 0.5


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def position(spec, value):
    low, high, point = float(spec.low), float(spec.high), float(value)
    if spec.log and low > 0 and point > 0:
        low, high, point = math.log(low), math.log(high), math.log(point)
    if high <= low:
        return 0.0
    return (point - low) / (high - low)


def numeric(spec):
    return spec.kind == "float" or spec.kind == "int"


def scale_of(step):
    for label, upper, suggested in SCALES:
        if step < upper:
            return label
    return SCALES[-1][0]


def step_phrase(spec, label):
    """Turn a scale bin into words the LLM can act on."""
    step = 0.45
    for name, upper, suggested in SCALES:
        if name == label:
            step = suggested
    if spec.log and spec.low > 0:
        factor = (float(spec.high) / float(spec.low)) ** step
        return f"a {label} step (multiply or divide by about {factor:.2g})"
    width = (float(spec.high) - float(spec.low)) * step
    return f"a {label} step (about {width:.3g} up or down)"


class MultiscaleBandit:
    def __init__(self, seed=0):
        self.rng = random.Random(seed)

    def tally_arms(self, trace, space):
        """Pulls and rewards per arm, replayed from the trace."""
        pulls = {}
        wins = {}
        parent = None  # the incumbent each trial was proposed against
        for trial in trace.ran():
            if parent is not None and trial.changes:
                improved = trial.ok and trace.is_better(trial.metric, parent.metric)
                for name, value in trial.changes.items():
                    if name not in space:
                        continue
                    spec = space[name]
                    label = "switch"
                    before = parent.config.get(name)
                    if numeric(spec) and is_number(value) and is_number(before):
                        label = scale_of(abs(position(spec, value) - position(spec, before)))
                    arm = (name, label)
                    pulls[arm] = pulls.get(arm, 0) + 1
                    wins[arm] = wins.get(arm, 0) + (1 if improved else 0)
            if trial.kept:
                parent = trial
        return pulls, wins

    def advise(self, trace, space, config):
        arms = []
        for name in config.active:
            if name not in space or space[name].locked:
                continue
            spec = space[name]
            if numeric(spec) and spec.high > spec.low:
                arms.extend((name, label) for label, upper, suggested in SCALES)
            elif not numeric(spec):
                arms.append((name, "switch"))
        if not arms:
            return ""
        pulls, wins = self.tally_arms(trace, space)
        total = sum(pulls.get(arm, 0) for arm in arms)
        scored = []
        for arm in arms:
            count = pulls.get(arm, 0)
            if count == 0:
                score = math.inf  # UCB1 pulls every arm once before comparing
            else:
                mean = wins.get(arm, 0) / count
                score = mean + EXPLORATION * math.sqrt(2.0 * math.log(total) / count)
            scored.append((score, self.rng.random(), arm))
        scored.sort(reverse=True)
        name, label = scored[0][2]
        tried = pulls.get((name, label), 0)
        record = f"it improved {wins.get((name, label), 0)} of {tried} times" if tried else "it is untried"
        if label == "switch":
            move = "switch it to a value not tried recently"
        else:
            move = f"make {step_phrase(space[name], label)}"
        return f"Bandit advice: change {name} next and {move}; at this scale {record}."


def build(seed: int):
    return MultiscaleBandit(seed)
