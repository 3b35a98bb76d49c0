"""Gaussian-process expected improvement: a small Bayesian-optimisation source.

Each training run is expensive, so the next one should go where a model of
the objective expects the most improvement, not where intuition points. This
source fits a Gaussian process (RBF kernel, Gaussian noise term) to the trials
that finished OK, in normalised coordinates of the active numeric parameters
(log coordinates for log-scale ones), and scores random perturbations of the
incumbent by expected improvement (Jones, Schonlau and Welch, 1998), which
trades a low predicted metric against high predictive uncertainty.

The linear algebra is a plain Cholesky factorisation: with the most recent
MAX_POINTS trials it stays well inside the call budget. Metrics are
standardised, and negated when higher is better, so the model always
minimises. The source passes (None) until MIN_POINTS trials have finished OK,
and when no numeric parameter is active. Choice and bool parameters are left
at the incumbent's values.
"""

from __future__ import annotations

import math
import random

MIN_POINTS = 4  # fewer points than this and the model is a guess
MAX_POINTS = 40  # most recent OK trials fitted; bounds the O(n^3) factorisation
CANDIDATES = 96  # random perturbations of the incumbent scored per call
STEP = 0.15  # standard deviation of a perturbation, normalised
LENGTH = 0.3  # RBF length scale, normalised
NOISE = 0.05  # noise variance relative to the (standardised) signal variance


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def position(spec, value):
    low, high, point = float(spec.low), float(spec.high), float(value)
    if spec.log:
        low, high, point = math.log(low), math.log(high), math.log(max(point, float(spec.low)))
    if high <= low:
        return 0.0
    return min(1.0, max(0.0, (point - low) / (high - low)))


def value_at(spec, unit):
    low, high = float(spec.low), float(spec.high)
    if spec.log:
        value = math.exp(math.log(low) + unit * (math.log(high) - math.log(low)))
    else:
        value = low + unit * (high - low)
    value = min(high, max(low, value))
    if spec.kind == "int":
        return int(min(math.floor(high), max(math.ceil(low), round(value))))
    return value


def kernel(a, b):
    squared = 0.0
    for x, y in zip(a, b):
        squared = squared + (x - y) * (x - y)
    return math.exp(-0.5 * squared / (LENGTH * LENGTH))


def cholesky(matrix):
    """Lower-triangular L with L L^T = matrix (matrix is symmetric positive definite)."""
    size = len(matrix)
    lower = [[0.0] * size for i in range(size)]
    for i in range(size):
        for j in range(i + 1):
            total = matrix[i][j] - sum(lower[i][k] * lower[j][k] for k in range(j))
            if i == j:
                lower[i][j] = math.sqrt(max(total, 1e-12))
            else:
                lower[i][j] = total / lower[j][j]
    return lower


def forward(lower, vector):
    """Solve L x = vector."""
    solution = []
    for i in range(len(vector)):
        total = vector[i] - sum(lower[i][k] * solution[k] for k in range(i))
        solution.append(total / lower[i][i])
    return solution


def backward(lower, vector):
    """Solve L^T x = vector."""
    size = len(vector)
    solution = [0.0] * size
    for i in range(size - 1, -1, -1):
        total = vector[i] - sum(lower[k][i] * solution[k] for k in range(i + 1, size))
        solution[i] = total / lower[i][i]
    return solution


def expected_improvement(mean, sd, best):
    if sd <= 1e-12:
        return max(0.0, best - mean)
    z = (best - mean) / sd
    cdf = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return (best - mean) * cdf + sd * pdf


class GPExpectedImprovement:
    def __init__(self, seed=0):
        self.rng = random.Random(seed)

    def propose(self, trace, space, config):
        dims = [
            n for n in config.active
            if n in space and not space[n].locked and (space[n].kind == "float" or space[n].kind == "int")
            and space[n].high > space[n].low
        ]
        incumbent = trace.incumbent()
        if not dims or incumbent is None:
            return None
        base = [position(space[n], incumbent.config[n]) if is_number(incumbent.config.get(n))
                else position(space[n], space[n].default) for n in dims]
        points = []
        targets = []
        for trial in trace.ran():
            if trial.ok:
                values = [trial.config.get(n) for n in dims]
                if all(is_number(v) for v in values):
                    points.append([position(space[n], v) for n, v in zip(dims, values)])
                    targets.append(trial.metric if trace.minimize else -trial.metric)
        points = points[-MAX_POINTS:]
        targets = targets[-MAX_POINTS:]
        if len(points) < MIN_POINTS:
            return None

        centre = sum(targets) / len(targets)
        spread = math.sqrt(sum((t - centre) ** 2 for t in targets) / len(targets)) or 1.0
        scaled = [(t - centre) / spread for t in targets]
        gram = [[kernel(a, b) + (NOISE if i == j else 0.0) for j, b in enumerate(points)]
                for i, a in enumerate(points)]
        lower = cholesky(gram)
        weights = backward(lower, forward(lower, scaled))
        best = min(scaled)

        top_score, top = -1.0, None
        for attempt in range(CANDIDATES):
            moved = list(base)
            count = self.rng.randint(1, min(config.max_changes, len(dims)))
            for index in self.rng.sample(range(len(dims)), count):
                moved[index] = min(1.0, max(0.0, moved[index] + self.rng.gauss(0.0, STEP)))
            cross = [kernel(moved, p) for p in points]
            mean = sum(c * w for c, w in zip(cross, weights))
            solved = forward(lower, cross)
            variance = max(0.0, 1.0 - sum(s * s for s in solved))
            score = expected_improvement(mean, math.sqrt(variance), best)
            if score > top_score:
                top_score, top = score, moved

        changes = {}
        for name, unit, start in zip(dims, top, base):
            if abs(unit - start) > 1e-9:
                value = value_at(space[name], unit)
                if value != incumbent.config.get(name):
                    changes[name] = value
        return changes or None


def build(seed: int):
    return GPExpectedImprovement(seed)
