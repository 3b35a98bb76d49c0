"""Anytime curves: improvement over the baseline versus trials spent, and versus seconds spent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._data import RunData

__all__ = ["AnytimeBand", "SecondsBand", "anytime_matrix", "anytime_band", "seconds_band", "seconds_grid"]


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


@dataclass(frozen=True)
class SecondsBand:
    """The same as :class:`AnytimeBand` against the seconds since each repeat started: the model's time,
    the engine's and the training's, which a trial count hides."""

    arm: str
    n: int
    seconds: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _band(matrix: np.ndarray, confidence: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column means with a percentile-bootstrap band across rows (flat where every row agrees)."""
    columns = matrix.shape[1]
    mean = matrix.mean(axis=0) if len(matrix) else np.full(columns, np.nan)
    low, high = mean.copy(), mean.copy()
    varying = np.ptp(matrix, axis=0) > 0 if len(matrix) > 1 else np.zeros(columns, dtype=bool)
    if varying.any():
        result = stats.bootstrap((matrix[:, varying],), np.mean, axis=0, confidence_level=confidence,
                                 method="percentile", n_resamples=4999, random_state=np.random.default_rng(seed))
        low[varying] = result.confidence_interval.low
        high[varying] = result.confidence_interval.high
    return mean, low, high


def anytime_band(arm: str, runs: Sequence[RunData], budget: int, *, confidence: float = 0.95,
                 seed: int = 0) -> AnytimeBand:
    """Mean anytime curve with a percentile-bootstrap band across repeats."""
    matrix = anytime_matrix(runs, budget)
    mean, low, high = _band(matrix, confidence, seed)
    return AnytimeBand(arm, len(matrix), np.arange(budget + 1), mean, low, high)


def seconds_grid(runs: Sequence[RunData], points: int = 80) -> np.ndarray:
    """Log-spaced seconds from the first searched trial of any repeat to the last (empty when no repeat
    recorded its trials' times)."""
    times = [row.elapsed for run in runs for row in run.searched() if row.elapsed is not None and row.elapsed > 0]
    if not times:
        return np.array([], dtype=float)
    first, last = min(times), max(times)
    return np.geomspace(first, last, points) if last > first else np.array([first])


def seconds_band(arm: str, runs: Sequence[RunData], grid: np.ndarray, *, confidence: float = 0.95,
                 seed: int = 0) -> SecondsBand | None:
    """Mean improvement reached within each of ``grid`` seconds, with a bootstrap band; None when a repeat
    of the arm has no recorded times (its curve would be a guess)."""
    rows = [[run.improvement_by(float(t)) for t in grid] for run in runs if run.baseline is not None]
    if not rows or any(value is None for row in rows for value in row):
        return None
    matrix = np.array(rows, dtype=float).reshape(len(rows), len(grid))
    mean, low, high = _band(matrix, confidence, seed)
    return SecondsBand(arm, len(matrix), grid, mean, low, high)
