"""Evaluate a fitted surrogate: standard library only.

This module's source is copied verbatim into every trial's ``evaluate.py``
(see ``_script.py``), so the trial process needs nothing but a bare Python
interpreter and starts in a few tens of milliseconds. The engine-side
:class:`~benchmarks.surrogate.SurrogateModel` calls the same functions, so the
number a trial prints and the number the model predicts come from one code
path. Keep this file free of third-party and project imports.
"""

import hashlib
import json
import math
import random


class SurrogateInputError(ValueError):
    """A configuration the model cannot encode. ``code`` is stable."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def encode(model, config):
    """Map a configuration onto the unit cube the model was fitted in.

    Numbers are scaled to [0, 1] between their bounds (on a log scale where the
    parameter is log-scaled), booleans to 0/1 and choices to their position in
    the choice list; a missing parameter takes its default.
    """
    point = []
    for feature in model["features"]:
        name = feature["name"]
        value = config.get(name, feature["default"])
        kind = feature["kind"]
        if kind == "bool":
            point.append(1.0 if value else 0.0)
        elif kind == "choice":
            choices = feature["choices"]
            normalised = json.loads(json.dumps(value))  # tuples compare as lists
            if normalised not in choices:
                raise SurrogateInputError("not-a-choice", f"{name}={value!r} is not one of {choices}")
            position = choices.index(normalised)
            point.append(position / (len(choices) - 1) if len(choices) > 1 else 0.0)
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise SurrogateInputError("wrong-type", f"{name} must be a finite number, got {value!r}")
            low, high = feature["low"], feature["high"]
            if feature["log"]:
                if value <= 0:
                    raise SurrogateInputError("out-of-bounds", f"{name}={value!r} must be > 0 (log scale)")
                value, low, high = math.log(value), math.log(low), math.log(high)
            point.append((value - low) / (high - low) if high > low else 0.0)
    return point


def prior_mean(model, point):
    """The smooth fallback surface: a separable quadratic bowl."""
    mean = model["mean"]
    total = mean["intercept"]
    for x, linear, quadratic in zip(point, mean["linear"], mean["quadratic"], strict=True):
        total += linear * x + quadratic * x * x
    return total


def predict_point(model, point):
    """Prior mean plus the Gaussian-process correction near recorded trials."""
    gp = model["gp"]
    scales = gp["length_scales"]
    correction = 0.0
    for anchor, weight in zip(gp["points"], gp["alpha"], strict=True):
        distance = 0.0
        for x, a, scale in zip(point, anchor, scales, strict=True):
            step = (x - a) / scale
            distance += step * step
        correction += weight * math.exp(-0.5 * distance)
    return prior_mean(model, point) + gp["signal_var"] * correction


def bounded(model, raw):
    """The surface kept on the possible side of its floor (a ceiling when maximising).

    A smooth floor: far above it the value is unchanged; towards it and past
    it the value approaches the floor and never crosses it (a softplus of
    width ``floor.softness``). A quadratic bowl fitted to a few dozen points
    otherwise promises values no training run could reach in the corners of
    the box, and a search that finds such a corner would "win" by it.
    """
    floor = model["floor"]
    sign = 1.0 if model["minimize"] else -1.0
    z = sign * (raw - floor["value"]) / floor["softness"]
    softplus = z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))
    return floor["value"] + sign * floor["softness"] * softplus


def predict(model, config):
    return bounded(model, predict_point(model, encode(model, config)))


def crash_reason(model, config):
    """Why this configuration crashes, or None.

    A configuration crashes when its nearest recorded trial crashed and lies
    within ``crash.radius`` (Euclidean, in the unit cube): the recorded crash
    regions are kept, nothing else is invented.
    """
    crash = model["crash"]
    if not crash["points"]:
        return None
    point = encode(model, config)

    def nearest(points):
        return min((math.dist(point, p) for p in points), default=math.inf)

    to_crash = nearest(crash["points"])
    if to_crash <= crash["radius"] and to_crash < nearest(model["gp"]["points"]):
        return f"nearest recorded trial crashed ({crash['reasons'][0] if crash['reasons'] else 'crashed'})"
    return None


def noise_draw(config, noise, noise_seed):
    """A Gaussian draw fixed by the configuration and the repeat's noise seed.

    The same configuration under the same noise seed always gets the same
    draw, as a seeded training run would; a new noise seed (a new repeat) or a
    changed configuration (including its own SEED parameter) is a fresh draw.
    """
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{canonical}|{noise_seed}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big")).gauss(0.0, noise)


def observe(model, config, noise_seed):
    """What one trial measures: the prediction plus its seeded noise draw."""
    return predict(model, config) + noise_draw(config, model["noise"], noise_seed)
