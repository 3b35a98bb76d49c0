"""The engine's own overhead per iteration, as a fraction of the trial budget.

    python -m benchmarks.engine_overhead [--iterations 30] [--budget 30]
    python -m benchmarks.engine_overhead --provider local --model qwen-1.5b
    python -m benchmarks.engine_overhead --provider local --model qwen-1.5b --model-levels 1 --iterations 20

Runs a real search (all levels, heuristic provider, real store, executor and
mechanism host) on a trivial script whose trials take milliseconds, then
splits the wall time of the run into what the trials' subprocesses took, what
the model calls took, and everything else: the engine's own work (proposal
screening, the store, Level 1.5, Level 2 admission and mechanism calls, the
report). Start-up, the baseline and the final report happen once per run
and are shown apart. The figure is the remainder per iteration divided by the trial
budget a real task uses (30 s for the GPT cpu preset), measured in this run.
Target: under 1 %.

With ``--provider local`` it then measures the model's share as well: a run
of the default settings (all levels, Level 1.5 every 5 iterations, Level 2
every 2 cycles) with the local model on the surrogate task, which has the GPT
task's search space (so the GPT task's prompts) and millisecond trials. It
prints the model's seconds per iteration and as a share of the trial budget
(target: at most 25 %), the seconds per Level 1 proposal (target: at most 3 s
with the 1.5B on an idle machine), the prompt tokens each proposal sent and
those the server evaluated rather than read from its cache, and how many
proposals were valid. The load average is printed with it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

if TYPE_CHECKING:
    from interfaces import Trial

__all__ = ["SCRIPT", "main", "measure", "measure_model", "tokens_by_level"]

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


def tokens_by_level(calls: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per level: requests, and per request the median prompt tokens sent, evaluated (not read from the
    server's cache) and generated, and the mean evaluated (a median hides the few requests after a cache
    miss, which are what a level that evicts another's prefix costs)."""
    import statistics

    out: dict[str, dict[str, float]] = {}
    for level in sorted({str(c["level"]) for c in calls}):
        rows = [c for c in calls if str(c["level"]) == level]
        sent = [int(c["prompt_tokens"] or 0) for c in rows]
        evaluated = [s - int(c["cached_prompt_tokens"] or 0) for s, c in zip(sent, rows, strict=True)]
        generated = [int(c["completion_tokens"] or 0) for c in rows]
        out[level] = {"requests": len(rows), "sent_median": statistics.median(sent),
                      "evaluated_median": statistics.median(evaluated),
                      "evaluated_mean": statistics.mean(evaluated),
                      "generated_median": statistics.median(generated)}
    return out


def measure_model(iterations: int, model: str, root: Path, levels: tuple[str, ...] = ("1", "1.5", "2")) -> dict[str, Any]:
    """A default-settings run with the local ``model`` on the surrogate task: where the model's time goes."""
    import statistics

    from benchmarks.local_model_bench import level1_figures, proposal_tokens, token_medians
    from engine.runner import Run
    from engine.settings import RunSettings
    from engine.store import RunPaths, RunStore

    settings = RunSettings(task="surrogate", provider="local", model=model, iterations=iterations, levels=levels)
    started = time.perf_counter()
    result = Run.create(settings, root / "runs").execute()
    wall = time.perf_counter() - started
    store = RunStore.open(RunPaths(result.run_dir).store)
    try:
        calls = store.llm_call_rows(result.run_id)
        made, valid, codes, propose = level1_figures(store, result.run_id)
        tokens = proposal_tokens(store, result.run_id)
    finally:
        store.close()
    by_level: dict[str, float] = {}
    for call in calls:
        by_level[call["level"]] = by_level.get(call["level"], 0.0) + float(call["duration_s"] or 0.0)
    prompt_median, evaluated_median = token_medians(tokens)
    return {"wall_s": wall, "iterations": iterations, "levels": levels, "model_s": sum(by_level.values()), "by_level_s": by_level,
            "proposals": made, "valid_proposals": valid, "invalid_codes": sorted(codes),
            "proposal_requests": len(propose),
            "proposal_s_median": statistics.median(propose) if propose else float("nan"),
            "proposal_s_mean": statistics.mean(propose) if propose else float("nan"),
            "prompt_tokens_median": prompt_median, "evaluated_tokens_median": evaluated_median,
            "cached_share": sum(c for _, c in tokens) / max(1, sum(p for p, _ in tokens)),
            "tokens_by_level": tokens_by_level(calls)}


def _print_model(m: dict[str, Any], model: str, budget: float) -> None:
    per_iteration = m["model_s"] / m["iterations"]
    levels = ", ".join(f"Level {level} {seconds:.0f} s" for level, seconds in sorted(m["by_level_s"].items()))
    print(f"local {model}, surrogate task (the GPT task's space), levels {','.join(m['levels'])}, default cadence: "
          f"{m['iterations']} iterations in "
          f"{m['wall_s']:.0f} s; model calls {m['model_s']:.0f} s ({levels})")
    print(f"  model_s_per_iteration: {per_iteration:.2f}")
    print(f"  model_fraction_of_{budget:g}s_budget: {per_iteration / budget:.1%}  (target <= 25%)")
    print(f"  level1_proposal_s: median {m['proposal_s_median']:.2f}, mean {m['proposal_s_mean']:.2f} over "
          f"{m['proposal_requests']} requests  (target <= 3 s with the 1.5B)")
    print(f"  level1_prompt_tokens: median {m['prompt_tokens_median']:.0f} sent, {m['evaluated_tokens_median']:.0f} "
          f"evaluated; {m['cached_share']:.0%} of all proposal prompt tokens read from the cache")
    for level, t in m["tokens_by_level"].items():
        print(f"  level{level}_tokens_per_request: {t['requests']:.0f} requests; median {t['sent_median']:.0f} "
              f"sent, {t['evaluated_median']:.0f} evaluated (mean {t['evaluated_mean']:.0f}), "
              f"{t['generated_median']:.0f} generated")
    invalid = ", ".join(m["invalid_codes"]) or "none"
    print(f"  level1_valid_proposals: {m['valid_proposals']} of {m['proposals']} (invalid: {invalid})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--budget", type=float, default=30.0, help="the trial budget the overhead is compared to")
    parser.add_argument("--provider", choices=("heuristic", "local"), default="heuristic",
                        help="local: also measure the model's share with the local model")
    parser.add_argument("--model", default="qwen-1.5b", help="with --provider local: the packaged model")
    parser.add_argument("--model-levels", default="1,1.5,2",
                        help="with --provider local: the levels of the model's run (1: Level 1 proposals only)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
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
    if args.provider == "local":
        with tempfile.TemporaryDirectory() as tmp:
            levels = tuple(level.strip() for level in args.model_levels.split(",") if level.strip())
            _print_model(measure_model(args.iterations, args.model, Path(tmp), levels), args.model, args.budget)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
