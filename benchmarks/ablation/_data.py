"""What the analysis needs from one repeat: its trials, in one flat shape.

A repeat is one arm (a group of levels, or a baseline searcher) under one
seed. Everything the statistics use is derived here from the per-trial rows,
so the analysis can be redone from the CSV alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interfaces import Decision, Trial, TrialStatus, thaw

__all__ = ["TrialRow", "RunData"]


@dataclass(frozen=True)
class TrialRow:
    index: int
    status: str
    metric: float | None
    decision: str
    seconds: float = 0.0
    tokens: int | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    #: Who proposed it: the trial's ``source`` (``llm``-like ``provider:model``, ``sampler:<name>``,
    #: ``mechanism:<name>`` with what the mechanism was, ``baseline:<method>``).
    source: str = ""
    #: Seconds from the start of the repeat until this trial's result was recorded: the model's time, the
    #: engine's and the training's together (None where unknown, as in CSVs written before it was kept).
    elapsed: float | None = None

    @property
    def ran(self) -> bool:
        return self.decision != Decision.REJECTED.value

    @property
    def ok(self) -> bool:
        return self.status == TrialStatus.OK.value and self.metric is not None and math.isfinite(self.metric)

    @classmethod
    def from_trial(cls, trial: Trial, tokens: int | None = None, source: str | None = None,
                   elapsed: float | None = None) -> TrialRow:
        return cls(trial.index, trial.status.value, trial.metric, trial.decision.value, trial.duration_s, tokens,
                   thaw(dict(trial.config)), trial.source if source is None else source, elapsed)


@dataclass(frozen=True)
class RunData:
    """One repeat. ``tokens``/``cost_usd`` are the run's LLM usage (0 for the
    baselines, which call no model; None when unknown); ``seconds`` is its
    wall-clock time."""

    arm: str
    seed: int
    minimize: bool
    rows: tuple[TrialRow, ...]
    tokens: int | None = 0
    cost_usd: float | None = 0.0
    seconds: float = 0.0
    status: str = "finished"
    run_dir: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(sorted(self.rows, key=lambda r: r.index)))

    @classmethod
    def from_trials(cls, arm: str, seed: int, minimize: bool, trials: Iterable[Trial],
                    elapsed: Mapping[int, float] | None = None, **usage: Any) -> RunData:
        known = elapsed or {}
        return cls(arm, seed, minimize, tuple(TrialRow.from_trial(t, elapsed=known.get(t.index)) for t in trials),
                   **usage)

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.minimize else a > b

    @property
    def baseline(self) -> float | None:
        for row in self.rows:
            if row.decision == Decision.BASELINE.value:
                return row.metric if row.ok else None
        return None

    def searched(self) -> tuple[TrialRow, ...]:
        """Trials that ran after the baseline: the trial budget being spent."""
        return tuple(r for r in self.rows if r.ran and r.decision != Decision.BASELINE.value)

    def best_so_far(self) -> list[float | None]:
        """Per row (in index order), the best OK metric up to and including it."""
        best: float | None = None
        out: list[float | None] = []
        for row in self.rows:
            metric = row.metric if row.ok else None
            if metric is not None and (best is None or self._better(metric, best)):
                best = metric
            out.append(best)
        return out

    def improvement_after(self, count: int) -> float | None:
        """How much the best metric beat this repeat's own baseline after the
        first ``count`` searched trials (0 when nothing beat it)."""
        baseline = self.baseline
        if baseline is None:
            return None
        best = baseline
        for row in self.searched()[:count]:
            metric = row.metric if row.ok else None
            if metric is not None and self._better(metric, best):
                best = metric
        return baseline - best if self.minimize else best - baseline

    def best_source(self) -> str:
        """The source of the first searched trial that reached this repeat's best metric, or ``none`` when
        nothing beat the baseline."""
        baseline = self.baseline
        best_row: TrialRow | None = None
        for row in self.searched():
            if not row.ok or row.metric is None:
                continue
            reference = baseline if best_row is None else best_row.metric
            if reference is None or self._better(row.metric, reference):
                best_row = row
        if best_row is None or (baseline is not None and not self._better(best_row.metric, baseline)):  # type: ignore[arg-type]
            return "none"
        return best_row.source or "unknown"

    def improvement_by(self, seconds: float) -> float | None:
        """How much the best metric beat the baseline among the trials recorded within ``seconds`` of the
        repeat's start (0 before anything beat it); None without a baseline or without recorded times."""
        baseline = self.baseline
        if baseline is None or any(row.elapsed is None for row in self.searched()):
            return None
        best = baseline
        for row in self.searched():
            if row.elapsed is not None and row.elapsed <= seconds and row.ok and row.metric is not None \
                    and self._better(row.metric, best):
                best = row.metric
        return baseline - best if self.minimize else best - baseline

    @property
    def improvement(self) -> float | None:
        return self.improvement_after(len(self.rows))

    @property
    def keep_rate(self) -> float | None:
        searched = self.searched()
        return sum(r.decision == Decision.KEEP.value for r in searched) / len(searched) if searched else None

    @property
    def crash_rate(self) -> float | None:
        searched = self.searched()
        return sum(not r.ok for r in searched) / len(searched) if searched else None
