"""The engine's own overhead per iteration, as a fraction of the trial budget.

    python -m benchmarks.engine_overhead [--iterations 30] [--budget 30]

Runs a real search (all levels, heuristic provider, real store, executor and
mechanism host) on a trivial script whose trials take milliseconds, then
splits the wall time of the run into what the trials' subprocesses took, what
the model calls took, and everything else: the engine's own work (proposal
screening, the store, Level 1.5, Level 2 admission and mechanism calls, the
report). Start-up, the baseline and the final report happen once per run
and are shown apart. The figure is the remainder per iteration divided by the trial
budget a real task uses (30 s for the GPT cpu preset), measured in this run.
Target: under 1 %.
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

if TYPE_CHECKING:
    from interfaces import Trial

__all__ = ["SCRIPT", "measure", "main"]

SCRIPT = '''
import math
LEARNING_RATE = 0.01
WEIGHT_DECAY = 0.1
BATCH_SIZE = 64
DEPTH = 4
WARMUP_RATIO = 0.1
USE_BIAS = False
loss = ((math.log10(LEARNING_RATE) + 2.5) ** 2 + (math.log2(BATCH_SIZE) - 4) ** 2 * 0.1
        + (DEPTH - 6) ** 2 * 0.05 + WEIGHT_DECAY + (0.3 if USE_BIAS else 0.0) + WARMUP_RATIO)
print(f"loss: {loss:.6f}")
'''


def measure(iterations: int, levels: tuple[str, ...], root: Path) -> dict[str, float]:
    # Imported here for their start-up cost, which is not per iteration.
    for module in ("engine.llm", "engine.report", "engine.store", "sandbox"):
        importlib.import_module(module)
    from engine.levels.inner import InnerLoop
    from engine.runner import Run
    from engine.settings import RunSettings
    from engine.store import RunPaths, RunStore

    marks: dict[str, float] = {}
    baseline, save_best = InnerLoop.ensure_baseline, Run._save_best

    def timed_baseline(self: InnerLoop) -> Trial:
        trial = baseline(self)
        marks["loop_start"] = time.perf_counter()
        return trial

    def timed_save_best(self: Run, task: Any, inner: InnerLoop) -> None:
        marks["loop_end"] = time.perf_counter()
        return save_best(self, task, inner)

    script = root / "objective.py"
    script.write_text(SCRIPT)
    settings = RunSettings(task="script", task_options={"path": str(script), "metric": "loss", "budget_s": 10.0},
                           provider="heuristic", iterations=iterations, levels=levels, outer_every=5,
                           research_every=2)
    with mock.patch.object(InnerLoop, "ensure_baseline", timed_baseline), \
            mock.patch.object(Run, "_save_best", timed_save_best):
        started = time.perf_counter()
        result = Run.create(settings, root / "runs").execute()
        wall = time.perf_counter() - started
    store = RunStore.open(RunPaths(result.run_dir).store)
    trials = store.trials(result.run_id)
    trial_s = sum(t.duration_s for t in trials if t.index > 0)
    llm_s = store.usage(result.run_id)["total"]["duration_s"]
    store.close()
    loop_s = marks["loop_end"] - marks["loop_start"]
    engine_s = loop_s - trial_s - llm_s
    return {"wall_s": wall, "loop_s": loop_s, "trial_s": trial_s, "llm_s": llm_s, "engine_s": engine_s,
            "once_s": wall - loop_s, "iterations": iterations, "per_iteration_s": engine_s / iterations,
            "trials": len(trials)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--budget", type=float, default=30.0, help="the trial budget the overhead is compared to")
    args = parser.parse_args()
    for levels in (("1",), ("1", "1.5", "2")):
        with tempfile.TemporaryDirectory() as tmp:
            m = measure(args.iterations, levels, Path(tmp))
        share = m["per_iteration_s"] / args.budget
        print(f"levels {','.join(levels)}: {m['iterations']} iterations, {m['trials']} trials (rejected ones included); "
              f"search loop {m['loop_s']:.2f} s = trial subprocesses {m['trial_s']:.2f} s + model calls "
              f"{m['llm_s']:.2f} s + engine {m['engine_s']:.2f} s; once per run (start-up, baseline, report) "
              f"{m['once_s']:.2f} s")
        print(f"  engine_overhead_per_iteration_s: {m['per_iteration_s']:.4f}")
        print(f"  engine_overhead_fraction_of_{args.budget:g}s_budget: {share:.4%}  (target < 1%)")


if __name__ == "__main__":
    main()
