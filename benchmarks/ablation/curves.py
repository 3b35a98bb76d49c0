"""Anytime curves: improvement over the baseline versus trials spent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._data import RunData

__all__ = ["AnytimeBand", "anytime_matrix", "anytime_band"]


def anytime_matrix(runs: Sequence[RunData], budget: int) -> np.ndarray:
    """Row per repeat, column k = improvement after the first k searched trials
    (k = 0..budget). A repeat that ran fewer trials keeps its last value: what
    it had found is still what it has. Repeats without a baseline are left out."""
    rows = [[run.improvement_after(k) for k in range(budget + 1)] for run in runs if run.baseline is not None]
    return np.array(rows, dtype=float).reshape(len(rows), budget + 1)


@dataclass(frozen=True)
class AnytimeBand:
    arm: str
    n: int
    trials: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


def anytime_band(arm: str, runs: Sequence[RunData], budget: int, *, confidence: float = 0.95,
                 seed: int = 0) -> AnytimeBand:
    """Mean anytime curve with a percentile-bootstrap band across repeats."""
    matrix = anytime_matrix(runs, budget)
    mean = matrix.mean(axis=0) if len(matrix) else np.full(budget + 1, np.nan)
    low, high = mean.copy(), mean.copy()
    varying = np.ptp(matrix, axis=0) > 0 if len(matrix) > 1 else np.zeros(budget + 1, dtype=bool)
    if varying.any():
        result = stats.bootstrap((matrix[:, varying],), np.mean, axis=0, confidence_level=confidence,
                                 method="percentile", n_resamples=4999, random_state=np.random.default_rng(seed))
        low[varying] = result.confidence_interval.low
        high[varying] = result.confidence_interval.high
    return AnytimeBand(arm, len(matrix), np.arange(budget + 1), mean, low, high)
