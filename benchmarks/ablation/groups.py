"""The ablation groups and how their repeats are run.

A: Level 1 only. B: Levels 1 and 1.5. C: Levels 1, 1.5 and 2. D: Levels 1 and 2.
The proposer groups (:data:`GROUP_SETTINGS`) run Level 1 with an Optuna
sampler in the loop (the run's ``--sampler``, GP by default): S, the sampler
alone through the engine (the control for the loop itself against the plain
Optuna baseline); W, the model's priors for a warm start of
:data:`WARM_START` trials, then the model and the sampler in turns; P, the
same warm start, then the model picks among the sampler's candidates; CW, W
with Levels 1.5 and 2 (which may change the proposer). CN is C where Level 2
splices only what it wrote itself (likeness below 0.6 to the library and earlier
sessions), the arm that removes what it pasted.
Each (group, seed) is a fresh engine run in its own directory, starting from
the pristine baseline; the same seeds are used for every group (paired).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interfaces import ConfigError

from ._data import RunData

if TYPE_CHECKING:  # the engine is imported where a repeat runs, not with this module
    from engine.settings import RunSettings

__all__ = ["GROUPS", "GROUP_SETTINGS", "WARM_START", "group_settings", "run_groups", "parse_groups"]

GROUPS: dict[str, tuple[str, ...]] = {
    "A": ("1",),
    "B": ("1", "1.5"),
    "C": ("1", "1.5", "2"),
    "D": ("1", "2"),
    "S": ("1",),
    "W": ("1",),
    "P": ("1",),
    "CW": ("1", "1.5", "2"),
    "CN": ("1", "1.5", "2"),
}

#: Trials the model proposes first in groups W, P and CW.
WARM_START = 5

#: The run settings a group sets beside its levels: the proposer groups' policy, and CN's new-only rule.
GROUP_SETTINGS: dict[str, dict[str, Any]] = {
    "S": {"proposer": "sampler"},
    "W": {"proposer": "alternate", "warm_start": WARM_START},
    "P": {"proposer": "pick", "warm_start": WARM_START},
    "CW": {"proposer": "alternate", "warm_start": WARM_START},
    "CN": {"research_new_only": True},
}


def _split(group: str) -> tuple[str, tuple[str, ...]]:
    """A group's base (a key of GROUPS) and the library mechanisms it adds (``A+tabu_filter``)."""
    base, *mechanisms = group.split("+")
    return base.strip().upper(), tuple(m.strip() for m in mechanisms if m.strip())


def parse_groups(text: str) -> tuple[str, ...]:
    names = tuple("+".join((_split(name)[0], *_split(name)[1])) for name in text.split(",") if name.strip())
    unknown = [name for name in names if _split(name)[0] not in GROUPS]
    if unknown:
        raise ConfigError(f"unknown group(s) {', '.join(unknown)}; known: {', '.join(GROUPS)}", code="unknown-group")
    return names


def group_settings(group: str, base: RunSettings, seed: int) -> RunSettings:
    """The base RunSettings with this group's levels and this repeat's seed.

    For the surrogate task the repeat's seed is also its ``noise_seed``: each
    repeat gets fresh noise draws, and every group of one seed the same ones.
    """
    name, mechanisms = _split(group)
    if name not in GROUPS:
        raise ConfigError(f"unknown group {group!r}; known: {', '.join(GROUPS)}", code="unknown-group")
    options = dict(base.task_options)
    if base.task == "surrogate":
        options["noise_seed"] = seed
    return replace(base, levels=GROUPS[name], seed=seed, task_options=options, mechanisms=mechanisms,
                   **GROUP_SETTINGS.get(name, {}))


def run_groups(groups: Sequence[str], seeds: Sequence[int], base: RunSettings, runs_root: Path, *, parallel: int = 1,
               run_repeat: Callable[[str, dict, str], RunData] | None = None) -> list[RunData]:
    """Every (group, seed) repeat; ``parallel`` repeats at a time, each in its
    own process (engine runs share nothing but the file system)."""
    if run_repeat is None:
        from ._engine import run_engine_repeat

        run_repeat = run_engine_repeat
    jobs = [(group, group_settings(group, base, seed).to_dict(), str(runs_root))
            for seed in seeds for group in groups]
    if parallel <= 1:
        return [run_repeat(*job) for job in jobs]
    with ProcessPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(run_repeat, *zip(*jobs, strict=True)))
