"""The engine's own acceptance rules, used when no mechanism decides.

``keep-if-better`` keeps a trial whose metric is strictly better than the
incumbent's. ``noise-aware`` keeps it only when the gain exceeds ``k`` times
the task's measured noise floor, so a lucky seed is not mistaken for progress.
"""

from __future__ import annotations

from dataclasses import dataclass

from interfaces import ConfigError, TraceView, Trial

__all__ = ["BuiltinAcceptance", "ACCEPTANCE_RULES"]

ACCEPTANCE_RULES = ("keep-if-better", "noise-aware")


@dataclass(frozen=True)
class BuiltinAcceptance:
    rule: str = "keep-if-better"
    noise_floor: float | None = None
    k: float = 1.0

    def __post_init__(self) -> None:
        if self.rule not in ACCEPTANCE_RULES:
            raise ConfigError(f"unknown acceptance rule {self.rule!r}; choose one of {', '.join(ACCEPTANCE_RULES)}")
        if self.rule == "noise-aware" and not self.noise_floor:
            raise ConfigError(
                "the noise-aware acceptance rule needs the task's noise floor; "
                "measure it (--noise-repeats) or use keep-if-better"
            )

    def decide(self, trial: Trial, incumbent: Trial | None, trace: TraceView) -> bool:
        if not trial.ok:
            return False
        if incumbent is None or incumbent.metric is None:
            return True
        if not trace.is_better(trial.metric, incumbent.metric):
            return False
        if self.rule == "noise-aware":
            assert trial.metric is not None and self.noise_floor is not None
            return abs(incumbent.metric - trial.metric) > self.k * self.noise_floor
        return True

    def describe(self) -> str:
        if self.rule == "noise-aware":
            return f"noise-aware (gain > {self.k:g} x noise floor {self.noise_floor:g})"
        return "keep-if-better"
