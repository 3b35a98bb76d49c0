"""Record real GPT trials for fitting the surrogate task.

    python -m benchmarks.gpt_collect --seeds 0 1 2 3 --trials 20 --budget 20 \\
        --out benchmarks/results/gpt-trials

One run per seed, each in its own run store (``<out>/collect-s<seed>/run.sqlite``,
the engine's format, read by :func:`benchmarks.trial_stores.fit_from_stores`).
A run measures the preset's defaults first, then ``--trials`` configurations,
then the defaults again (so every run holds a repeat, and the noise can be
estimated from the stores alone). Half the configurations are uniform draws
from the whole curated space (random search); the other half change one to
three parameters of the defaults, drawn the same way, because that is where a
search spends most of its trials and where the surrogate must be right. Each
trial is committed to the store as soon as it ends, so an interrupted
collection keeps what it measured; ``--resume`` skips seeds whose run is
complete.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.ablation.baselines import RandomSearcher
from engine.executors import LocalExecutor
from engine.store import RunPaths, RunStore
from interfaces import Decision, Outcome, Proposal, SearchSpace, Trial

from .gpt import GptTask
from .gpt_bench import load_average

__all__ = ["draw_configs", "collect_run", "main"]


def draw_configs(space: SearchSpace, seed: int, count: int) -> list[tuple[dict[str, Any], str]]:
    """``count`` (config, how it was drawn) pairs: alternately a random draw and a local change."""
    searcher = RandomSearcher(space, seed)
    rng = np.random.default_rng(seed + 10_000)
    free = [spec.name for spec in space if not spec.locked]
    defaults = dict(space.defaults())
    configs = []
    for i in range(count):
        draw = searcher.suggest()
        if i % 2 == 0:
            configs.append((draw, "random"))
        else:
            names = rng.choice(free, size=int(rng.integers(1, 4)), replace=False)
            configs.append(({**defaults, **{str(n): draw[str(n)] for n in names}}, "local"))
    return configs


def _record(store: RunStore, run_id: str, index: int, config: Mapping[str, Any], source: str,
            outcome: Outcome, defaults: Mapping[str, Any]) -> Trial:
    changes = {k: v for k, v in config.items() if defaults.get(k) != v}
    # the load average goes with every trial: on a shared machine it moves val_bpb more than seeds do
    proposal = Proposal(changes=changes, rationale=f"{source} draw; load average {load_average():.2f}",
                        source=f"collect:{source}")
    store.begin_trial(run_id, index, proposal, config)
    trial = Trial(index=index, config=config, changes=changes, status=outcome.status,
                  metric=outcome.metric if outcome.ok else None,
                  decision=Decision.BASELINE if source == "baseline" else Decision.DISCARD,
                  duration_s=outcome.duration_s, rationale=proposal.rationale, source=proposal.source,
                  reason=outcome.reason, log_tail=outcome.log_tail[-2000:])
    store.finish_trial(run_id, trial, outcome)
    return trial


def collect_run(task: GptTask, seed: int, trials: int, out: Path, command: str) -> Path:
    """One run: defaults, ``trials`` drawn configurations, defaults again."""
    run_dir = out / f"collect-s{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    database = RunPaths(run_dir).store
    run_id = f"collect-s{seed}"
    space = task.space()
    defaults = dict(space.defaults())
    plan = [(defaults, "baseline"), *draw_configs(space, seed, trials), (defaults, "repeat")]
    store = RunStore.open(database)
    try:
        if run_id not in {info.run_id for info in store.runs()}:
            store.create_run(run_id, task="gpt", provider="none", model="none",
                             settings={"command": command, "seed": seed, "trials": trials,
                                       "budget_s": task.budget_s, "preset": task.preset})
        done = {t.index for t in store.trials(run_id)}
        with LocalExecutor(workers=1, root=run_dir / "trials") as executor:
            for index, (config, source) in enumerate(plan):
                if index in done:
                    continue
                outcome = executor.submit(task.build_trial(index, config)).result()
                trial = _record(store, run_id, index, config, source, outcome, defaults)
                print(json.dumps({"seed": seed, "index": index, "source": source, "status": trial.status.value,
                                  "val_bpb": trial.metric, "seconds": round(outcome.duration_s, 1),
                                  "load": load_average()}), flush=True)
        store.set_status(run_id, "finished")
    finally:
        store.close()
    return database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="record real GPT trials for the surrogate")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--trials", type=int, default=20, help="drawn configurations per run")
    parser.add_argument("--budget", type=float, default=20.0, help="training seconds per trial")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gpt-trials"))
    args = parser.parse_args(argv)
    command = "python -m benchmarks.gpt_collect " + shlex.join(sys.argv[1:] if argv is None else argv)
    task = GptTask(budget_s=args.budget)
    for seed in args.seeds:
        print(f"store: {collect_run(task, seed, args.trials, args.out, command)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
