"""How closely a surrogate tracks real trials it was not fitted on."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from interfaces import ConfigError, SearchSpace, Trial

from ._model import fit_surrogate

__all__ = ["HoldoutRun", "HoldoutReport", "holdout_report"]


def _spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None  # a rank correlation of fewer than 3 points, or of a constant, says nothing
    return float(stats.spearmanr(a, b).statistic)


@dataclass(frozen=True)
class HoldoutRun:
    run: str
    points: int
    rmse: float
    spearman: float | None
    crashes_recorded: int
    crashes_predicted: int


@dataclass(frozen=True)
class HoldoutReport:
    """Leave-one-run-out: fit on every other run, predict this one.

    ``rmse_over_noise`` near 1 means the surface predicts held-out trials
    about as well as a re-measurement of the same configuration would.
    """

    runs: tuple[HoldoutRun, ...]
    noise: float
    points: int
    rmse: float
    rmse_over_noise: float | None
    spearman: float | None
    mean_run_spearman: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        def show(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3g}"

        lines = [
            f"Leave-one-run-out over {len(self.runs)} runs, {self.points} held-out trials; "
            f"noise (std of repeats) {self.noise:.4g}.",
            "",
            f"- RMSE {self.rmse:.4g} ({show(self.rmse_over_noise)} x noise)",
            f"- Spearman, pooled: {show(self.spearman)}; mean within a run: {show(self.mean_run_spearman)}",
            "",
            "| held-out run | trials | RMSE | Spearman | crashes recorded | crashes predicted |",
            "|---|---|---|---|---|---|",
        ]
        lines += [f"| {r.run} | {r.points} | {r.rmse:.4g} | {show(r.spearman)} | {r.crashes_recorded} | "
                  f"{r.crashes_predicted} |" for r in self.runs]
        return "\n".join(lines) + "\n"


def holdout_report(trials: Mapping[str, Sequence[Trial]], space: SearchSpace, noise: float,
                   **fit_options: Any) -> HoldoutReport:
    """``trials`` maps a run name to that run's trials; needs at least two runs."""
    if len(trials) < 2:
        raise ConfigError("a held-out evaluation needs trials from at least two runs", code="too-few-runs")
    rows: list[HoldoutRun] = []
    actual_all: list[float] = []
    predicted_all: list[float] = []
    for held_out, held_trials in trials.items():
        training = [t for name, ts in trials.items() if name != held_out for t in ts]
        model = fit_surrogate(training, space, noise, **fit_options)
        ok = [t for t in held_trials if t.ok]
        actual = [float(t.metric) for t in ok if t.metric is not None]  # every one: ok means measured
        predicted = [model.predict(t.config) for t in ok]
        crashed = [t for t in held_trials if not t.ok and t.status.value != "rejected"]
        errors = np.subtract(actual, predicted)
        rows.append(HoldoutRun(
            run=str(held_out),
            points=len(ok),
            rmse=float(np.sqrt(np.mean(errors ** 2))) if ok else math.nan,
            spearman=_spearman(actual, predicted),
            crashes_recorded=len(crashed),
            crashes_predicted=sum(model.crash_reason(t.config) is not None for t in crashed),
        ))
        actual_all += actual
        predicted_all += predicted
    errors = np.subtract(actual_all, predicted_all)
    rmse = float(np.sqrt(np.mean(errors ** 2))) if actual_all else math.nan
    within = [r.spearman for r in rows if r.spearman is not None]
    return HoldoutReport(
        runs=tuple(rows),
        noise=float(noise),
        points=len(actual_all),
        rmse=rmse,
        rmse_over_noise=rmse / noise if noise > 0 else None,
        spearman=_spearman(actual_all, predicted_all),
        mean_run_spearman=float(np.mean(within)) if within else None,
    )
