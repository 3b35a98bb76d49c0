"""A read-only view over the trials of a run, with the queries mechanisms need.

The engine builds a fresh ``TraceView`` before each hook call and owns it; a
mechanism may read it freely and must not keep references to it between calls
(copy what you need into your own state). Trials are ordered by ``index``.
Lower metric is better unless ``minimize`` is False; use :meth:`is_better`
rather than comparing metrics directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .records import Decision, Trial, TrialStatus

__all__ = ["TraceView"]


@dataclass(frozen=True)
class TraceView:
    trials: tuple[Trial, ...]
    minimize: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "trials", tuple(sorted(self.trials, key=lambda t: t.index)))

    def __len__(self) -> int:
        return len(self.trials)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self.trials)

    def is_better(self, a: float | None, b: float | None) -> bool:
        """True when metric ``a`` is strictly better than ``b`` (None is worst)."""
        if a is None:
            return False
        if b is None:
            return True
        return a < b if self.minimize else a > b

    def last(self, n: int) -> tuple[Trial, ...]:
        """The ``n`` most recent trials (fewer if the trace is shorter)."""
        return self.trials[-n:] if n > 0 else ()

    def baseline(self) -> Trial | None:
        """The first trial decided BASELINE, if any."""
        for trial in self.trials:
            if trial.decision is Decision.BASELINE:
                return trial
        return None

    def incumbent(self) -> Trial | None:
        """The current best: the most recent trial decided KEEP or BASELINE."""
        for trial in reversed(self.trials):
            if trial.kept:
                return trial
        return None

    def best_metric(self) -> float | None:
        """Best finite metric among trials that ran OK (kept or not)."""
        best: float | None = None
        for trial in self.trials:
            if trial.ok and self.is_better(trial.metric, best):
                best = trial.metric
        return best

    def ran(self) -> tuple[Trial, ...]:
        """Trials that actually ran (everything but REJECTED)."""
        return tuple(t for t in self.trials if t.decision is not Decision.REJECTED)

    def kept(self) -> tuple[Trial, ...]:
        return tuple(t for t in self.trials if t.decision is Decision.KEEP)

    def touching(self, name: str) -> tuple[Trial, ...]:
        """Trials whose changes include parameter ``name``."""
        return tuple(t for t in self.trials if name in t.changes)

    def values_tried(self, name: str) -> tuple[Any, ...]:
        """Distinct values proposed for ``name`` that ran, in first-tried order."""
        seen: list[Any] = []
        for trial in self.ran():
            if name in trial.changes and trial.changes[name] not in seen:
                seen.append(trial.changes[name])
        return tuple(seen)

    def change_counts(self) -> dict[str, int]:
        """How many trials that ran changed each parameter."""
        counts: Counter[str] = Counter()
        for trial in self.ran():
            counts.update(trial.changes.keys())
        return dict(counts)

    def discard_streak(self) -> int:
        """Consecutive most-recent trials that ran and were not kept."""
        streak = 0
        for trial in reversed(self.ran()):
            if trial.decision is Decision.DISCARD:
                streak += 1
            else:
                break
        return streak

    def status_counts(self) -> dict[str, int]:
        return dict(Counter(t.status.value for t in self.trials))

    def has_tried(self, config: Mapping[str, Any]) -> bool:
        """True when a trial that ran had exactly this full configuration."""
        target = dict(config)
        return any(dict(t.config) == target for t in self.ran())

    def to_list(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.trials]

    @classmethod
    def from_list(cls, data: Iterable[Mapping[str, Any]], *, minimize: bool = True) -> TraceView:
        return cls(tuple(Trial.from_dict(d) for d in data), minimize=minimize)

    @staticmethod
    def statuses() -> tuple[str, ...]:
        return tuple(s.value for s in TrialStatus)
