"""Whether asking the model while a trial trains (``--overlap``) pays on this machine.

    python -m benchmarks.overlap_bench [--model qwen-1.5b] [--iterations 5] [--budget 30]

Runs the GPT task (cpu preset, one training thread, a time budget) with the local model at Level 1
three times, the same seed each time, one after another:

* ``sequential``: the default: propose, then train; the model's server on 2 threads;
* ``sequential-1``: the same on 1 server thread, the control that tells the thread count from the overlap;
* ``overlap``: ``--overlap`` with 1 server thread: the next proposal is asked while a trial trains.

For each it prints the wall seconds per iteration after the baseline (the figure overlap is for), the
model's seconds per proposal, and the training throughput of the trials against the run's own baseline
(tokens/s, the ratio that tells whether the model took cycles from the training: under a time budget a
trial that trains slower trains fewer steps and scores worse for no fault of its config). The ratio of
each arm's seconds per iteration to ``sequential``'s is the headline; the load average is printed
before and after each arm.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["ARMS", "main", "measure_arm"]

#: arm -> (overlap, server threads)
ARMS: dict[str, tuple[bool, int]] = {"sequential": (False, 2), "sequential-1": (False, 1), "overlap": (True, 1)}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure_arm(arm: str, *, model: str, iterations: int, budget: float, root: Path) -> dict[str, Any]:
    """One run of ``arm``; its seconds per iteration, proposal seconds and trial throughput ratios."""
    from engine.runner import Run
    from engine.settings import RunSettings
    from engine.store import RunPaths, RunStore
    from interfaces import Decision

    overlap, threads = ARMS[arm]
    settings = RunSettings(task="gpt", task_options={"budget_s": budget}, provider="local", model=model,
                           server_threads=threads, iterations=iterations, levels=("1",), seed=0,
                           overlap=overlap)
    load_before = _load()
    started = time.perf_counter()
    result = Run.create(settings, root / arm).execute()
    wall = time.perf_counter() - started
    with RunStore.open(RunPaths(result.run_dir).store) as store:
        trials = store.trials(result.run_id)
        outcomes = {t.index: store.outcome(result.run_id, t.index) for t in trials}
        calls = [c for c in store.llm_call_rows(result.run_id) if c["purpose"] == "propose"]
        finished = store.trial_finish_times(result.run_id)
    speeds = {i: float(o.metrics.get("tokens_per_second", 0.0)) for i, o in outcomes.items() if o is not None}
    baseline = next(t for t in trials if t.decision is Decision.BASELINE)
    ran = [t for t in trials if t.decision not in (Decision.BASELINE, Decision.REJECTED)]
    ratios = [speeds[t.index] / speeds[baseline.index] for t in ran if speeds.get(t.index) and speeds[baseline.index]]
    from datetime import datetime

    def at(index: int) -> float:
        return datetime.fromisoformat(finished[index]).timestamp()

    # From the baseline's end to the last trial's end: the iterations alone, no start-up or report.
    loop_s = at(max(t.index for t in ran)) - at(baseline.index)
    return {"arm": arm, "wall_s": wall, "loop_s": loop_s, "iterations": len(ran),
            "s_per_iteration": loop_s / max(1, len(ran)),
            "proposal_s": [float(c["duration_s"] or 0.0) for c in calls],
            "throughput_ratios": ratios, "baseline_tokens_per_s": speeds.get(baseline.index, 0.0),
            "best": min((t.metric for t in ran if t.metric is not None), default=float("nan")),
            "load_before": load_before, "load_after": _load()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen-1.5b")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated, from: " + ", ".join(ARMS))
    args = parser.parse_args(argv)
    arms = [a for a in args.arms.split(",") if a]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arm(s) {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    print(f"GPT cpu preset, {args.budget:g} s budget, {args.iterations} iterations, local {args.model}, "
          f"{os.cpu_count()} cores")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="overlap-bench-") as tmp:
        for arm in arms:
            m = results[arm] = measure_arm(arm, model=args.model, iterations=args.iterations, budget=args.budget,
                                           root=Path(tmp))
            proposals = m["proposal_s"]
            ratios = m["throughput_ratios"]
            print(f"{arm}: {m['iterations']} iterations in {m['loop_s']:.0f} s after the baseline "
                  f"(run {m['wall_s']:.0f} s); load {m['load_before']} -> {m['load_after']}")
            print(f"  s_per_iteration: {m['s_per_iteration']:.1f}")
            if proposals:
                print(f"  proposal_s: median {statistics.median(proposals):.1f}, mean "
                      f"{statistics.mean(proposals):.1f} over {len(proposals)}")
            if ratios:
                print(f"  trial_throughput_vs_baseline: median {statistics.median(ratios):.0%}, lowest "
                      f"{min(ratios):.0%} (baseline {m['baseline_tokens_per_s']:.0f} tokens/s)")
            print(f"  best_val_bpb: {m['best']:.4f}")
    reference = results.get("sequential")
    if reference is not None:
        for arm, m in results.items():
            if arm != "sequential":
                print(f"{arm}_vs_sequential_s_per_iteration: {m['s_per_iteration'] / reference['s_per_iteration']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
