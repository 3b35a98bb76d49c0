"""The task's noise floor, measured in the same run as the arms it qualifies.

An improvement means something only beside what the metric moves when the
configuration does not change. The baseline configuration is run ``repeats``
times through the executor the baselines use; where the space has locked seed
parameters (``SEED``, ``RANDOM_STATE``, ``..._SEED``: the script task locks
them, and its ``reseeded`` copy changes them) each repeat sets them to a new value, so the spread is that of a reseed,
not of a deterministic rerun. The measurement is saved as ``noise.json`` beside
the report and read back by ``--reanalyse`` and ``--merge``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.script_task import is_seed
from interfaces import ConfigError, Executor, ParamKind, Task

__all__ = ["NoiseFloor", "measure_noise", "seed_parameters", "save_noise", "load_noise", "noise_lines"]

_FILE = "noise.json"


@dataclass(frozen=True)
class NoiseFloor:
    """Metric values of the baseline configuration, one per repeat, and the seed parameters varied."""

    values: tuple[float, ...]
    varied: tuple[str, ...] = ()

    @property
    def std(self) -> float:
        return statistics.stdev(self.values)

    def to_dict(self) -> dict[str, Any]:
        return {"values": list(self.values), "varied": list(self.varied), "std": self.std}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NoiseFloor:
        return cls(tuple(float(v) for v in data["values"]), tuple(data.get("varied", ())))


def seed_parameters(task: Task) -> tuple[str, ...]:
    """The locked integer parameters whose names say they are seeds (the script task's own rule)."""
    return tuple(p.name for p in task.space().params
                 if p.locked and p.kind == ParamKind.INT and is_seed(p.name))


def measure_noise(task: Task, executor: Executor, repeats: int) -> NoiseFloor:
    """Run the baseline configuration ``repeats`` times (seeds varied where the space has them)."""
    if repeats < 2:
        raise ConfigError(f"a noise floor needs at least 2 repeats, not {repeats}", code="bad-config")
    defaults = task.space().defaults()
    reseeded = getattr(task, "reseeded", None)  # a task that can change its locked seeds (the script task)
    varied = seed_parameters(task) if reseeded is not None else ()
    values: list[float] = []
    for repeat in range(repeats):
        trial_task = reseeded({name: int(defaults[name]) + repeat for name in varied}) \
            if reseeded is not None and varied else task
        outcome = executor.submit(trial_task.build_trial(-(repeat + 1), trial_task.space().defaults())).result()
        if not outcome.ok or outcome.metric is None:
            raise ConfigError(f"noise repeat {repeat + 1} of the baseline failed: {outcome.status.value}: "
                              f"{outcome.reason}", code="noise-measurement-failed")
        values.append(float(outcome.metric))
    return NoiseFloor(tuple(values), varied)


def save_noise(noise: NoiseFloor, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _FILE
    path.write_text(json.dumps(noise.to_dict(), indent=1))
    return path


def load_noise(folder: Path) -> NoiseFloor | None:
    path = Path(folder) / _FILE
    if not path.exists():
        return None
    try:
        return NoiseFloor.from_dict(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a noise measurement: {exc}", code="bad-noise-file") from None


def noise_lines(noise: NoiseFloor | None, metric: str, mean_improvements: Sequence[float] = ()) -> list[str]:
    """The report's section on the noise floor (nothing when none was measured)."""
    if noise is None:
        return []
    how = (f"with {', '.join(noise.varied)} set to a new value each time" if noise.varied
           else "unchanged (the space has no seed parameter, so this is the spread of a rerun)")
    lines = ["## Noise floor", "",
             f"The baseline configuration run {len(noise.values)} times in this run, {how}: {metric} sd "
             f"{noise.std:.4g} (from {min(noise.values):.4g} to {max(noise.values):.4g})."]
    if mean_improvements and noise.std > 0:
        ratios = [m / noise.std for m in mean_improvements]
        lines.append(f"The arms' mean improvements are {min(ratios):.2g} to {max(ratios):.2g} times that sd.")
    elif noise.std == 0:
        lines.append("Every repeat gave the same value: the metric is deterministic here.")
    return lines + [""]
