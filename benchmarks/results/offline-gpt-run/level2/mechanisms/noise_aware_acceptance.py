"""Noise-aware acceptance: keep a trial only when its gain beats the noise.

A short training run is a noisy measurement: the same configuration run twice
gives two different metrics. With the default rule (keep anything strictly
better) a lucky draw becomes the incumbent, and every later trial is compared
against a metric that was never real, so genuine improvements get discarded.
This rule keeps a trial only when it beats the incumbent by more than K times
the measurement noise, the way a significance threshold would.

The noise is estimated from the trace itself: trials that ran OK with
near-identical configurations (numbers equal to SIGNIFICANT digits) are
repeated measurements, and their pooled standard deviation is the noise.
Without any repeats the rule falls back to a configurable default.
"""

from __future__ import annotations

import math

K = 2.0  # how many noise standard deviations a gain must exceed
DEFAULT_NOISE = 0.002  # metric noise assumed until the trace holds repeats
SIGNIFICANT = 6  # digits that must agree for two numbers to count as the same setting


def setting_key(config):
    """A comparable key for a configuration, rounding away float formatting noise."""
    parts = []
    for name in sorted(config):
        value = config[name]
        if isinstance(value, float) and math.isfinite(value):
            value = float(f"{value:.{SIGNIFICANT}g}")
        parts.append(f"{name}={value!r}")
    return "|".join(parts)


def pooled_noise(trace):
    """Pooled standard deviation of metrics across groups of repeated settings, or None."""
    groups = {}
    for trial in trace.ran():
        if trial.ok:
            key = setting_key(trial.config)
            groups[key] = groups.get(key, []) + [trial.metric]
    squares = 0.0
    freedom = 0
    for metrics in groups.values():
        if len(metrics) > 1:
            centre = sum(metrics) / len(metrics)
            squares = squares + sum((m - centre) ** 2 for m in metrics)
            freedom = freedom + len(metrics) - 1
    if freedom == 0:
        return None
    return math.sqrt(squares / freedom)


class NoiseAwareAcceptance:
    def __init__(self, k=K, default_noise=DEFAULT_NOISE):
        self.k = k
        self.default_noise = default_noise

    def noise(self, trace):
        measured = pooled_noise(trace)
        return self.default_noise if measured is None else measured

    def decide(self, trial, incumbent, trace):
        if trial.metric is None:
            return False
        if incumbent is None or incumbent.metric is None:
            return True  # nothing to beat yet
        if not trace.is_better(trial.metric, incumbent.metric):
            return False
        return abs(trial.metric - incumbent.metric) > self.k * self.noise(trace)


def build(seed: int):
    # Deterministic by construction; the seed is accepted for the common entry point.
    return NoiseAwareAcceptance()
