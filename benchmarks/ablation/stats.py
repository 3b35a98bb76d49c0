"""Statistics for small paired samples of improvements.

Every arm (group or baseline) runs under the same seeds, so arms are compared
seed by seed: Wilcoxon's signed-rank test on the paired differences (exact for
small n), a sign-flip permutation test of the mean difference, and a paired
bootstrap interval of the mean difference. p-values are Holm-adjusted across
all comparisons of one report. Each comparison ends in a plain verdict:
"X better than Y" or "cannot separate X and Y".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

from interfaces import ConfigError

__all__ = [
    "GroupSummary",
    "Comparison",
    "bootstrap_ci",
    "summarise",
    "compare_paired",
    "holm",
    "compare_all",
    "smallest_wilcoxon_p",
]

_STATISTICS: dict[str, Callable[..., Any]] = {"mean": np.mean, "median": np.median}


def bootstrap_ci(values: Sequence[float], statistic: str = "mean", *, confidence: float = 0.95,
                 resamples: int = 9999, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval (scipy.stats.bootstrap).

    One value gives no interval (nan, nan); identical values give a zero-width
    interval at that value (there is nothing to resample).
    """
    if statistic not in _STATISTICS:
        raise ConfigError(f"statistic must be one of {', '.join(_STATISTICS)}, got {statistic!r}",
                          code="unknown-statistic")
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return (math.nan, math.nan)
    if np.ptp(data) == 0:
        return (float(data[0]), float(data[0]))
    result = stats.bootstrap((data,), _STATISTICS[statistic], confidence_level=confidence, n_resamples=resamples,
                             method="percentile", random_state=np.random.default_rng(seed))
    return (float(result.confidence_interval.low), float(result.confidence_interval.high))


@dataclass(frozen=True)
class GroupSummary:
    arm: str
    n: int
    mean: float
    mean_ci: tuple[float, float]
    median: float
    median_ci: tuple[float, float]
    keep_rate: float | None
    crash_rate: float | None
    tokens: float | None
    seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def summarise(arm: str, improvements: Sequence[float], *, keep_rates: Sequence[float | None] = (),
              crash_rates: Sequence[float | None] = (), tokens: Sequence[float | None] = (),
              seconds: Sequence[float | None] = (), confidence: float = 0.95, seed: int = 0) -> GroupSummary:
    if not improvements:
        raise ConfigError(f"arm {arm} has no repeat with a measured baseline", code="no-data")
    return GroupSummary(
        arm=arm,
        n=len(improvements),
        mean=float(np.mean(improvements)),
        mean_ci=bootstrap_ci(improvements, "mean", confidence=confidence, seed=seed),
        median=float(np.median(improvements)),
        median_ci=bootstrap_ci(improvements, "median", confidence=confidence, seed=seed),
        keep_rate=_mean_or_none(keep_rates),
        crash_rate=_mean_or_none(crash_rates),
        tokens=_mean_or_none(tokens),
        seconds=_mean_or_none(seconds),
    )


def smallest_wilcoxon_p(n_nonzero: int) -> float:
    """The smallest two-sided p the exact signed-rank test can reach with n pairs."""
    return min(1.0, 2.0 / 2 ** n_nonzero)


@dataclass(frozen=True)
class Comparison:
    """``first`` minus ``second``, seed by seed; positive means ``first`` improved more."""

    first: str
    second: str
    n: int
    mean_difference: float
    median_difference: float
    difference_ci: tuple[float, float]
    wilcoxon_p: float
    permutation_p: float
    adjusted_p: float
    alpha: float
    verdict: str

    @property
    def separated(self) -> bool:
        return self.adjusted_p < self.alpha

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _wilcoxon_p(differences: np.ndarray) -> float:
    if not np.any(differences != 0):
        return 1.0  # every pair tied: no evidence either way (scipy refuses all-zero input)
    return float(stats.wilcoxon(differences, zero_method="wilcox", alternative="two-sided").pvalue)


def _permutation_p(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    if not np.any(a != b):
        return 1.0

    def mean_difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x - y, axis=axis)

    result = stats.permutation_test((a, b), mean_difference, permutation_type="samples", vectorized=True,
                                    n_resamples=9999, alternative="two-sided",
                                    random_state=np.random.default_rng(seed))
    return float(result.pvalue)


def _verdict(c: Comparison, nonzero: int) -> str:
    numbers = (f"n={c.n} paired seeds, mean difference {c.mean_difference:+.4g} "
               f"[{c.difference_ci[0]:+.4g}, {c.difference_ci[1]:+.4g}], Holm-adjusted Wilcoxon p={c.adjusted_p:.3g}")
    if c.n >= 1 and c.adjusted_p < c.alpha:
        centre = c.median_difference if c.median_difference != 0 else c.mean_difference
        winner, loser = (c.first, c.second) if centre > 0 else (c.second, c.first)
        return f"{winner} better than {loser} at alpha={c.alpha} ({numbers})"
    text = f"cannot separate {c.first} and {c.second} at alpha={c.alpha} ({numbers})"
    floor = smallest_wilcoxon_p(nonzero)
    if floor >= c.alpha:
        text += f"; with {nonzero} untied pairs no outcome could reach p < {c.alpha} (smallest possible p={floor:.3g})"
    return text


def compare_paired(first: str, a: Mapping[int, float], second: str, b: Mapping[int, float], *,
                   alpha: float = 0.05, confidence: float = 0.95, seed: int = 0) -> Comparison:
    """Compare two arms on the seeds both have (a paired design)."""
    seeds = sorted(set(a) & set(b))
    x = np.array([a[s] for s in seeds], dtype=float)
    y = np.array([b[s] for s in seeds], dtype=float)
    d = x - y
    comparison = Comparison(
        first=first,
        second=second,
        n=len(seeds),
        mean_difference=float(np.mean(d)) if len(d) else math.nan,
        median_difference=float(np.median(d)) if len(d) else math.nan,
        difference_ci=bootstrap_ci(d, "mean", confidence=confidence, seed=seed),
        wilcoxon_p=_wilcoxon_p(d) if len(d) else 1.0,
        permutation_p=_permutation_p(x, y, seed) if len(d) > 1 else 1.0,
        adjusted_p=math.nan,
        alpha=alpha,
        verdict="",
    )
    return _with_adjusted(comparison, comparison.wilcoxon_p, int(np.count_nonzero(d)))


def _with_adjusted(c: Comparison, adjusted: float, nonzero: int) -> Comparison:
    c = replace(c, adjusted_p=adjusted)
    return replace(c, verdict=_verdict(c, nonzero))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (controls the family-wise error rate)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def compare_all(improvements: Mapping[str, Mapping[int, float]], *, pairs: Sequence[tuple[str, str]] | None = None,
                alpha: float = 0.05, confidence: float = 0.95, seed: int = 0) -> tuple[Comparison, ...]:
    """Every pair of arms (or the given pairs), Holm-adjusted as one family."""
    arms = list(improvements)
    pairs = list(pairs) if pairs is not None else list(itertools.combinations(arms, 2))
    raw = [compare_paired(p, improvements[p], q, improvements[q], alpha=alpha, confidence=confidence, seed=seed)
           for p, q in pairs]
    adjusted = holm([c.wilcoxon_p for c in raw])
    out = []
    for c, p, (first, second) in zip(raw, adjusted, pairs, strict=True):
        seeds = set(improvements[first]) & set(improvements[second])
        nonzero = sum(improvements[first][s] != improvements[second][s] for s in seeds)
        out.append(_with_adjusted(c, p, nonzero))
    return tuple(out)
