"""Actions a Level 2 fill-in method calls by name.

This file's text is pasted verbatim into generated mechanism modules, so it obeys the sandbox
rules itself: it imports only ``math``, names nothing with two leading underscores, keeps no
module-level mutable state and has no future import (it does not start the module it lands in).
Every public function has a one-line docstring: the prompt describes the function with it.
``HELPERS`` lists the public functions in the order the prompt shows them. Randomness comes only
from an ``rng`` argument (a ``random.Random``), so every answer is fixed by the arguments.
"""

import math

HELPERS = ("leave_stuck", "untried", "least_tried", "most_tried", "stuck_parameter", "current", "random_value", "step",
           "untried_direction", "tried_values", "was_tried", "recent_changes", "best_trials", "clip", "move")

# Discrete parameters with at most this many values are searched exhaustively by move().
_FEW_VALUES = 16
# Random draws move() makes before it settles for a configuration already tried.
_DRAWS = 8


def _sign(direction):
    return 1 if direction > 0 else (-1 if direction < 0 else 0)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_rng(value):
    # A small model passes self.rng where a direction, a window or a spec goes; the helpers read the
    # slip for what it meant instead of raising deep inside (a random direction, the default window).
    return hasattr(value, "random") and hasattr(value, "choice") and not hasattr(value, "kind")


def _names(names):
    # A small model passes the search config where its active names go (untried(trace, config)).
    active = getattr(names, "active", None)
    return list(active) if active is not None else list(names or ())


def _int_bounds(spec):
    return math.ceil(spec.low), math.floor(spec.high)


def _ran_recently(trace, window):
    ran = trace.ran()
    return ran[-window:] if window > 0 else ()


def untried(trace, names):
    """The names (order kept) that no trial that ran has changed yet."""
    counts = trace.change_counts()
    return [name for name in _names(names) if counts.get(name, 0) == 0]


def least_tried(trace, names, rng):
    """The name changed least often so far (rng breaks ties); None if names is empty."""
    names = _names(names)
    if not names:
        return None
    counts = trace.change_counts()
    fewest = min(counts.get(name, 0) for name in names)
    return rng.choice([name for name in names if counts.get(name, 0) == fewest])


def leave_stuck(trace, names, rng):
    """The name to change instead of the stuck one: least changed first, never the stuck parameter; or None."""
    stuck = stuck_parameter(trace)
    return least_tried(trace, [name for name in _names(names) if name != stuck], rng)


def most_tried(trace, names, window=8):
    """The name changed most often in the last `window` trials that ran; None if none was changed."""
    recent = _ran_recently(trace, window)
    best, best_count = None, 0
    for name in _names(names):
        count = sum(1 for trial in recent if name in trial.changes)
        if count > best_count:
            best, best_count = name, count
    return best


def stuck_parameter(trace, window=8):
    """A parameter changed in half or more of the last `window` changes tried, none kept; else None."""
    if not _is_number(window):
        window = 8
    # The baseline changes nothing and is no keep of Level 1's: only trials that changed something count.
    recent = [trial for trial in trace.ran() if trial.changes][-window:] if window > 0 else []
    if len(recent) < 4 or any(trial.decision.value == "keep" for trial in recent):
        return None
    counts = {}
    for trial in recent:
        for name in trial.changes:
            counts[name] = counts.get(name, 0) + 1
    best, best_count = None, 0
    for name, count in counts.items():  # insertion order: first changed wins a tie
        if count > best_count:
            best, best_count = name, count
    return best if 2 * best_count >= len(recent) else None


def current(trace, space, name):
    """The best configuration's value for name (its default before any trial)."""
    incumbent = trace.incumbent()
    if incumbent is not None and name in incumbent.config:
        return incumbent.config[name]
    return space[name].default


def random_value(rng, spec):
    """A random valid value for the parameter spec (log-uniform for log parameters)."""
    if _is_rng(spec) and not _is_rng(rng):
        rng, spec = spec, rng
    if spec.kind == "bool":
        return rng.random() < 0.5
    if spec.kind == "choice":
        return rng.choice(spec.choices)
    if spec.kind == "int":
        low, high = _int_bounds(spec)
        if spec.log and low > 0:
            drawn = math.exp(rng.uniform(math.log(low - 0.5), math.log(high + 0.5)))
            return min(max(round(drawn), low), high)
        return rng.randint(low, high)
    if spec.log and spec.low > 0:
        drawn = math.exp(rng.uniform(math.log(spec.low), math.log(spec.high)))
    else:
        drawn = rng.uniform(spec.low, spec.high)
    return float(min(max(drawn, spec.low), spec.high))


def step(spec, value, direction, size=1.0):
    """One step from value: direction +1 up, -1 down, or rng for either (x2 per size if log, else range/8)."""
    if _is_rng(direction):
        direction = direction.choice((-1, 1))
    value = clip(spec, value)
    sign = _sign(direction)
    if sign == 0:
        return value
    if spec.kind == "bool":
        return not value
    if spec.kind == "choice":
        index = list(spec.choices).index(value)
        return spec.choices[min(max(index + sign, 0), len(spec.choices) - 1)]
    size = abs(size)
    if spec.log and spec.low > 0:
        moved = value * 2.0 ** (sign * min(size, 1000.0))
    else:
        moved = value + sign * size * ((spec.high - spec.low) / 8)
    if not math.isfinite(moved):
        moved = spec.high if sign > 0 else spec.low
    if spec.kind == "int":
        low, high = _int_bounds(spec)
        moved = round(min(max(moved, low), high))
        if moved == value:  # a step smaller than one still moves by one
            moved = value + sign
        return min(max(moved, low), high)
    moved = float(min(max(moved, spec.low), spec.high))
    bound = spec.high if sign > 0 else spec.low
    if moved == value and value != bound:  # a step too small to register still moves
        moved = math.nextafter(value, bound)
    return moved


def untried_direction(trace, space, name):
    """+1 or -1 for a direction not yet tried from the best value of name; 0 if none is left."""
    spec = space[name]
    if spec.kind not in ("float", "int"):
        return 0
    low, high = _int_bounds(spec) if spec.kind == "int" else (spec.low, spec.high)
    up = down = False
    reference = None
    for trial in trace.ran():
        base = spec.default if reference is None else reference.config.get(name, spec.default)
        changed = trial.changes.get(name)
        if _is_number(changed) and _is_number(base):
            up = up or changed > base
            down = down or changed < base
        if trial.kept:
            reference = trial
    value = current(trace, space, name)
    if not _is_number(value):
        return 0
    if not up and value < high:
        return 1
    if not down and value > low:
        return -1
    return 0


def tried_values(trace, name):
    """The distinct values tried for name in trials that ran, first tried first."""
    return list(trace.values_tried(name))


def was_tried(trace, space, changes):
    """True when the best configuration with these changes applied has already run."""
    incumbent = trace.incumbent()
    config = dict(space.defaults()) if incumbent is None else dict(incumbent.config)
    config.update(changes)
    return trace.has_tried(config)


def recent_changes(trace, n):
    """A list of the last n trials' changes, oldest first; each a dict {parameter name: new value}."""
    return [dict(trial.changes) for trial in trace.last(n)]


def best_trials(trace, n):
    """The n best trials that ran successfully, best first."""
    finished = [trial for trial in trace.ran() if trial.ok]
    ordered = sorted(finished, key=lambda trial: trial.metric, reverse=not trace.minimize)
    return ordered[:max(n, 0)]


def clip(spec, value):
    """value forced into the spec's range (ints rounded; an invalid choice becomes the default)."""
    value = spec.coerce(value)
    if spec.kind in ("bool", "choice"):
        return value if spec.check(value) is None else spec.default
    if not _is_number(value) or (isinstance(value, float) and math.isnan(value)):
        return spec.default
    if spec.kind == "float":
        return float(min(max(value, spec.low), spec.high))
    low, high = _int_bounds(spec)
    if value <= low:
        return low
    if value >= high:
        return high
    return min(max(round(value), low), high)


def _alternatives(spec, value, rng):
    """Every other value of a discrete parameter with few values, in rng order; None if it has many."""
    if spec.kind == "bool":
        return [not value]
    if spec.kind == "choice":
        others = [choice for choice in spec.choices if choice != value]
    elif spec.kind == "int" and _int_bounds(spec)[1] - _int_bounds(spec)[0] <= _FEW_VALUES:
        low, high = _int_bounds(spec)
        others = [number for number in range(low, high + 1) if number != value]
    else:
        return None
    rng.shuffle(others)
    return others


def move(trace, space, name, rng):
    """A change {name: new value}: a step in an untried direction, else a fresh untried value."""
    spec = space[name]
    value = clip(spec, current(trace, space, name))
    candidates = []
    direction = untried_direction(trace, space, name)
    if direction != 0:
        candidates.append(step(spec, value, direction))
    others = _alternatives(spec, value, rng)
    if others is None:
        candidates.extend(random_value(rng, spec) for draw in range(_DRAWS))
        candidates.extend([step(spec, value, 1), step(spec, value, -1)])
    else:
        candidates.extend(others)
    fallback = None
    for candidate in candidates:
        if candidate == value:
            continue
        if not was_tried(trace, space, {name: candidate}):
            return {name: candidate}
        if fallback is None:
            fallback = candidate
    return {name: value if fallback is None else fallback}
