"""A GPT-like search space and a known objective to fit surrogates against."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from interfaces import Decision, ParamKind, ParamSpec, SearchSpace, Trial, TrialStatus

SPACE = SearchSpace((
    ParamSpec("DEPTH", ParamKind.INT, 8, low=2, high=16, locked=True),
    ParamSpec("LR", ParamKind.FLOAT, 0.004, low=1e-4, high=0.1, log=True),
    ParamSpec("WEIGHT_DECAY", ParamKind.FLOAT, 0.1, low=0.0, high=0.5),
    ParamSpec("WARMUP_STEPS", ParamKind.INT, 50, low=0, high=400),
    ParamSpec("WINDOW_PATTERN", ParamKind.CHOICE, "SSSL", choices=("L", "SL", "SSSL")),
    ParamSpec("USE_ROPE", ParamKind.BOOL, True),
))

NOISE = 0.004


def true_metric(config: Mapping[str, Any]) -> float:
    """A smooth bowl with its optimum at LR=0.01, WEIGHT_DECAY=0.2, WARMUP=100."""
    lr = (math.log10(config["LR"]) + 2.0) ** 2 * 0.04
    wd = (config["WEIGHT_DECAY"] - 0.2) ** 2 * 0.5
    warm = ((config["WARMUP_STEPS"] - 100) / 400) ** 2 * 0.2
    window = {"L": 0.02, "SL": 0.0, "SSSL": 0.01}[config["WINDOW_PATTERN"]]
    rope = 0.0 if config["USE_ROPE"] else 0.03
    return 1.0 + lr + wd + warm + window + rope


def random_config(rng: random.Random) -> dict[str, Any]:
    return {
        "DEPTH": 8,
        "LR": 10 ** rng.uniform(-4, -1),
        "WEIGHT_DECAY": rng.uniform(0.0, 0.5),
        "WARMUP_STEPS": rng.randint(0, 400),
        "WINDOW_PATTERN": rng.choice(["L", "SL", "SSSL"]),
        "USE_ROPE": rng.random() < 0.5,
    }


def synthetic_runs(runs: int, per_run: int, seed: int = 0, noise: float = NOISE,
                   crash_lr: float | None = None) -> dict[str, tuple[Trial, ...]]:
    """Runs that each start from the default and then try random configs.

    With ``crash_lr``, every config with LR above it crashes (like a divergence).
    """
    rng = random.Random(seed)
    out = {}
    for run in range(runs):
        trials = []
        for index in range(per_run):
            config = dict(SPACE.defaults()) if index == 0 else random_config(rng)
            if crash_lr is not None and config["LR"] > crash_lr:
                trials.append(Trial(index, config, {}, TrialStatus.DIVERGED, None, Decision.DISCARD))
                continue
            metric = true_metric(config) + rng.gauss(0, noise)
            decision = Decision.BASELINE if index == 0 else Decision.DISCARD
            trials.append(Trial(index, config, {}, TrialStatus.OK, metric, decision))
        out[f"run{run}"] = tuple(trials)
    return out
