"""The measured noise of recorded trials (reading trials back from run stores
is the harness's part: :mod:`benchmarks.trial_stores`)."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable

from interfaces import ConfigError, Trial, thaw

__all__ = ["estimate_noise"]


def estimate_noise(trials: Iterable[Trial]) -> float:
    """Pooled standard deviation of the metric over configurations measured
    more than once (the baseline of every run is one such configuration)."""
    groups: dict[str, list[float]] = defaultdict(list)
    for trial in trials:
        if trial.ok and trial.metric is not None:
            groups[json.dumps(thaw(dict(trial.config)), sort_keys=True)].append(float(trial.metric))
    squares, dof = 0.0, 0
    for values in groups.values():
        if len(values) > 1:
            mean = sum(values) / len(values)
            squares += sum((v - mean) ** 2 for v in values)
            dof += len(values) - 1
    if dof == 0:
        raise ConfigError("no configuration was measured twice, so the noise is unknown; pass noise= explicitly",
                          code="noise-unknown")
    return math.sqrt(squares / dof)
