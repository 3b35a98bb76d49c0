"""The GPT pretraining task: a ScriptTask over train.py with a curated space and presets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from interfaces import ConfigError, ParamKind, ParamSpec, SearchSpace, TrialRequest

from ..script_task import ScriptTask
from .prepare import prepare

__all__ = ["COMPILE_GRACE_S", "GptTask", "PRESETS", "NOISE_FLOOR", "TRAIN_SCRIPT", "batch_choices", "curated_specs",
           "load_gpt_task"]

TRAIN_SCRIPT = Path(__file__).with_name("train.py")

# Std of val_bpb for the cpu preset at a 30 s budget: 0.0143 across 5 seeds, 0.0101 over 5 repeats of
# one seed, the larger taken; measured on an idle 2-core machine (load average 0.1-1.0) with
# `python -m benchmarks.gpt_bench --budget 30 --seeds 5 --repeats 5 --effect-runs 3 --fixed-steps 100`
# (docs/gpt-task.md). On a shared machine the steps done in the budget follow the load and the noise
# grows several-fold (0.094 at load 9-18): measure it per run there with ``--noise-repeats``.
NOISE_FLOOR: float | None = 0.0143

# Seconds a trial may take beyond its budget when train.py compiles first (COMPILE): compiling runs
# before the training timer, 20-320 s measured on the cpu preset at 2 cores (cold cache, shared machine),
# and the trial's wall-clock allowance must not count it as a hang.
COMPILE_GRACE_S = 600.0

# Values a preset sets on top of train.py's own literals.
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {},
    "gpu": {
        "DEPTH": 8, "ASPECT_RATIO": 64, "HEAD_DIM": 128, "WINDOW_PATTERN": "SSSL", "SEQ_LEN": 2048,
        "TOTAL_BATCH_SIZE": 2**19, "DEVICE_BATCH_SIZE": 64, "TIME_BUDGET": 300.0,
        "EVAL_TOKENS": 2**21, "DEVICE": "cuda", "COMPILE": True, "THREADS": 8,
    },
}

# One-letter kind aliases keep the parameter table below at one spec a line.
F, I, C, B = ParamKind.FLOAT, ParamKind.INT, ParamKind.CHOICE, ParamKind.BOOL  # noqa: E741


def batch_choices(values: Mapping[str, Any]) -> tuple[int, ...]:
    """TOTAL_BATCH_SIZE values that always split into whole micro-batches:
    SEQ_LEN times a power of two, from a quarter of the preset's batch to 16
    times it (a choice, so no other value can be proposed). Since
    DEVICE_BATCH_SIZE is a power of two too, the micro-batch divides the step."""
    sequences = max(1, values["TOTAL_BATCH_SIZE"] // values["SEQ_LEN"])
    low, high = max(1, sequences // 4), sequences * 16
    return tuple(values["SEQ_LEN"] * 2**i for i in range(16) if low <= 2**i <= high)


def curated_specs(values: Mapping[str, Any]) -> list[ParamSpec]:
    """The searchable space around ``values`` (a preset's defaults); run settings are locked."""
    v = values
    return [
        ParamSpec("DEPTH", I, v["DEPTH"], low=1, high=2 * v["DEPTH"], description="transformer blocks"),
        ParamSpec("ASPECT_RATIO", I, v["ASPECT_RATIO"], low=max(1, v["ASPECT_RATIO"] // 4),
                  high=4 * v["ASPECT_RATIO"], log=True,
                  description="model width = DEPTH * ASPECT_RATIO, rounded up to a multiple of HEAD_DIM"),
        ParamSpec("HEAD_DIM", C, v["HEAD_DIM"], choices=(8, 16, 32, 64, 128), description="attention head width"),
        ParamSpec("WINDOW_PATTERN", C, v["WINDOW_PATTERN"], choices=("L", "SL", "SSL", "SSSL"),
                  description="per-layer attention window, cycled: L full, S half context"),
        ParamSpec("SEQ_LEN", I, v["SEQ_LEN"], low=16, high=8192, locked=True, description="context length"),
        ParamSpec("TOTAL_BATCH_SIZE", C, v["TOTAL_BATCH_SIZE"], choices=batch_choices(v),
                  description="tokens per optimizer step: SEQ_LEN times a power of two"),
        ParamSpec("DEVICE_BATCH_SIZE", C, v["DEVICE_BATCH_SIZE"], choices=tuple(2**i for i in range(10)),
                  description="sequences per forward/backward (capped at one step's worth); "
                              "gradients accumulate up to TOTAL_BATCH_SIZE"),
        ParamSpec("EMBEDDING_LR", F, v["EMBEDDING_LR"], low=1e-3, high=10.0, log=True, description="Adam"),
        ParamSpec("UNEMBEDDING_LR", F, v["UNEMBEDDING_LR"], low=1e-4, high=1.0, log=True, description="Adam"),
        ParamSpec("MATRIX_LR", F, v["MATRIX_LR"], low=1e-3, high=1.0, log=True, description="Muon"),
        ParamSpec("SCALAR_LR", F, v["SCALAR_LR"], low=1e-4, high=2.0, log=True, description="Adam"),
        ParamSpec("WEIGHT_DECAY", F, v["WEIGHT_DECAY"], low=0.0, high=0.5, description="on Muon matrices"),
        ParamSpec("ADAM_BETAS", C, v["ADAM_BETAS"],
                  choices=((0.8, 0.95), (0.9, 0.95), (0.9, 0.99), (0.85, 0.9), (0.95, 0.99)),
                  description="Adam beta1, beta2"),
        ParamSpec("WARMUP_RATIO", F, v["WARMUP_RATIO"], low=0.0, high=0.5),
        ParamSpec("WARMDOWN_RATIO", F, v["WARMDOWN_RATIO"], low=0.0, high=1.0),
        ParamSpec("FINAL_LR_FRAC", F, v["FINAL_LR_FRAC"], low=0.0, high=1.0),
        ParamSpec("SEED", I, v["SEED"], low=0, high=2**31 - 1, locked=True),
        ParamSpec("TIME_BUDGET", F, v["TIME_BUDGET"], low=0.1, high=86400.0, locked=True),
        ParamSpec("MAX_STEPS", I, v["MAX_STEPS"], low=0, high=10**7, locked=True),
        ParamSpec("EVAL_TOKENS", I, v["EVAL_TOKENS"], low=1, high=2**30, locked=True),
        ParamSpec("THREADS", I, v["THREADS"], low=1, high=256, locked=True),
        ParamSpec("DEVICE", C, v["DEVICE"], choices=("auto", "cpu", "cuda"), locked=True),
        ParamSpec("COMPILE", B, v["COMPILE"], locked=True),
    ]


class GptTask(ScriptTask):
    """Train train.py's GPT for a fixed budget; minimise val_bpb.

    ``preset`` picks the scale (``"cpu"``: seconds on one thread; ``"gpu"``:
    Karpathy's 5-minute H100 scale). ``budget_s`` sets TIME_BUDGET,
    ``max_steps`` switches to the deterministic fixed-steps mode, ``threads``
    sets THREADS, ``seed`` sets SEED, ``compile`` sets COMPILE (the preset's
    when None: torch.compile before the training timer, each trial's allowance
    grown by :data:`COMPILE_GRACE_S`) and ``data`` is the text to prepare (the
    default corpus when None). ``extra`` sets any other locked value (for
    tests: a tiny model, a short evaluation). Given ``data`` is prepared and
    checked here, at the preset's SEQ_LEN, so data that cannot train is a
    ``DataError`` (a ConfigError, :mod:`.prepare`) before any trial; the
    default corpus is prepared on first use.
    """

    def __init__(self, preset: str = "cpu", data: str | Path | None = None, budget_s: float | None = None,
                 max_steps: int | None = None, *, threads: int | None = None, seed: int | None = None,
                 compile: bool | None = None, extra: Mapping[str, Any] | None = None, memory_limit_mb: int | None = 8192) -> None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}",
                              code="unknown-preset")
        probe = ScriptTask(TRAIN_SCRIPT)
        values = {**probe.script_values(), **PRESETS[preset]}
        for key, given in (("TIME_BUDGET", budget_s), ("MAX_STEPS", max_steps), ("THREADS", threads),
                           ("SEED", seed)):
            if given is not None:
                values[key] = float(given) if key == "TIME_BUDGET" else int(given)
        if compile is not None:
            values["COMPILE"] = bool(compile)
        values.update(extra or {})
        try:
            specs = curated_specs(values)
        except ValueError as exc:  # a setting outside what train.py accepts
            raise ConfigError(str(exc), code="bad-gpt-setting") from None
        self.preset = preset
        self.data = data
        self._seq_len = int(values["SEQ_LEN"])
        self._data_dir: Path | None = None
        fixed = values["MAX_STEPS"] > 0
        super().__init__(
            TRAIN_SCRIPT,
            name="gpt",
            metric="val_bpb",
            minimize=True,
            overrides=specs,
            only=[s.name for s in specs],
            noise_floor=NOISE_FLOOR if preset == "cpu" else None,
            # in fixed-steps mode the budget is the wall-clock allowance, not a training budget
            budget_s=budget_s if (fixed and budget_s is not None) else (600.0 if fixed else values["TIME_BUDGET"]),
            grace_s=120.0 + (COMPILE_GRACE_S if values["COMPILE"] else 0.0),
            memory_limit_mb=memory_limit_mb,
            throughput_metric="tokens_per_second",  # train.py's closing line; fixed steps do fixed work
            fixed_work=fixed,
            steps_metric="num_steps",  # train.py's count of optimiser steps, printed in both modes
        )
        if data is not None:
            self.data_dir()

    def space(self) -> SearchSpace:
        return self._space

    def data_dir(self) -> Path:
        """The prepared data (prepared on first use, then cached on disk)."""
        if self._data_dir is None:
            self._data_dir = prepare(self.data, seq_len=self._seq_len)
        return self._data_dir

    def build_trial(self, index: int, config: Mapping[str, Any]) -> TrialRequest:
        request = super().build_trial(index, config)
        threads = str({**self._space.defaults(), **dict(config)}["THREADS"])
        env = {"GPT_DATA_DIR": str(self.data_dir()), "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        return replace(request, env=env)


def load_gpt_task(*, noise_repeats: int = 0, **options: Any) -> GptTask:
    """The ``gpt`` task's factory, an ``autoresearch.tasks`` entry point: task options in, a task out."""
    # ``noise_repeats`` is the runner's (it measures the floor through the executor), not the task's.
    return GptTask(**options)
