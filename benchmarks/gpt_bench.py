"""Benchmark the GPT task's cpu preset: speed, utilisation, noise floor and effect sizes.

    python -m benchmarks.gpt_bench [--budget 30] [--seeds 5] [--repeats 5] [--effect-runs 3] [--fixed-steps 100]
                                   [--compile]

Every training runs as a real trial through GptTask and the LocalExecutor
(one at a time, so trials do not compete for cores). Printed:

* tokens/s and model FLOP utilisation: model FLOPs per token x tokens/s over
  the fp32 matmul throughput of this machine, measured with torch in the
  same run on the same number of threads, twice: on square 512 matrices, and
  at the model's own shapes (every linear layer's forward product and its two
  backward ones, at the preset's micro-batch), the peak this model's matmuls
  could reach here;
* with ``--compile``, every trial compiles before its timer (COMPILE): the
  compile seconds of the first trial (a cold cache, unless an earlier run
  filled it) and the median of the rest, and each trial's total seconds;
* the noise floor: std of val_bpb over seeds, and over repeats of one seed,
  in the time-budget mode; and std over seeds in the fixed-steps mode, which
  does not depend on how loaded the machine is (a repeat there is exact);
* the load average (``/proc/loadavg``, 1 minute) before and after, since on a
  shared machine the time-budget figures depend on it;
* the effect of halving TOTAL_BATCH_SIZE and of doubling MATRIX_LR, each as
  the mean change in val_bpb over paired seeds, in multiples of the noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch

from benchmarks.gpt import GptTask
from engine.executors import LocalExecutor

__all__ = ["load_average", "matmul_flops_per_second", "model_matmul_flops_per_second", "main"]


def matmul_flops_per_second(threads: int, size: int = 512, seconds: float = 1.0) -> float:
    """Sustained fp32 matmul throughput of this machine (the utilisation reference)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        for _ in range(3):
            a @ b
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ b
            count += 1
        return 2 * size**3 * count / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)


def _model_matmuls(values: dict) -> list[tuple[int, int, int, int]]:
    """(rows, inner, columns, count) of every matmul in one micro-batch's forward and backward, from
    train.py's hyperparameter values: each linear layer's X @ W, dY @ W^T and X^T @ dY."""
    width = -(-values["DEPTH"] * values["ASPECT_RATIO"] // values["HEAD_DIM"]) * values["HEAD_DIM"]
    rows = min(values["DEVICE_BATCH_SIZE"], values["TOTAL_BATCH_SIZE"] // values["SEQ_LEN"]) * values["SEQ_LEN"]
    layers = [(width, 3 * width, values["DEPTH"]), (width, width, values["DEPTH"]),
              (width, 4 * width, values["DEPTH"]), (4 * width, width, values["DEPTH"]), (width, 256, 1)]
    shapes = []
    for fan_in, fan_out, count in layers:
        shapes += [(rows, fan_in, fan_out, count), (rows, fan_out, fan_in, count), (fan_in, rows, fan_out, count)]
    return shapes


def model_matmul_flops_per_second(values: dict, threads: int, seconds: float = 1.0) -> float:
    """fp32 matmul throughput at the model's own shapes: the time the model's matmuls take here, each
    shape weighted by how often a step runs it, over their FLOPs. Small and thin products run below a
    square matrix's rate, so this is the fairer ceiling for the model's utilisation."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        shapes = _model_matmuls(values)
        per_shape = seconds / len(shapes)
        total_flops = total_seconds = 0.0
        for rows, inner, columns, count in shapes:
            a, b = torch.randn(rows, inner), torch.randn(inner, columns)
            for _ in range(3):
                a @ b
            runs, start = 0, time.perf_counter()
            while time.perf_counter() - start < per_shape or runs < 3:
                a @ b
                runs += 1
            total_seconds += count * (time.perf_counter() - start) / runs
            total_flops += count * 2 * rows * inner * columns
        return total_flops / total_seconds
    finally:
        torch.set_num_threads(previous)


def load_average() -> float:
    """The 1-minute load average, or NaN where the system does not say."""
    try:
        with open("/proc/loadavg") as handle:
            return float(handle.read().split()[0])
    except OSError:
        return float("nan")


def _run(executor: LocalExecutor, budget: float, seed: int, changes: dict | None = None,
         max_steps: int | None = None, compile: bool = False) -> dict:
    task = GptTask(budget_s=budget if max_steps is None else None, seed=seed, max_steps=max_steps, compile=compile)
    config = {**task.space().defaults(), **(changes or {})}
    outcome = executor.submit(task.build_trial(seed, config)).result()
    if not outcome.ok:
        raise SystemExit(f"a benchmark trial failed: {outcome.status.value}: {outcome.reason}")
    return dict(outcome.metrics)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GPT cpu preset benchmark")
    parser.add_argument("--budget", type=float, default=30.0, help="training seconds per run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="repeats of one seed")
    parser.add_argument("--effect-runs", type=int, default=3, help="paired seeds per effect")
    parser.add_argument("--fixed-steps", type=int, default=100, help="steps of the fixed-steps noise runs (0: skip)")
    parser.add_argument("--compile", action="store_true", help="every trial compiles first (COMPILE), before its timer")
    args = parser.parse_args(argv)

    task = GptTask()
    defaults = dict(task.space().defaults())
    threads = defaults["THREADS"]
    load_before = load_average()
    peak = matmul_flops_per_second(threads)
    shaped = model_matmul_flops_per_second(defaults, threads)
    with LocalExecutor(workers=1, root=tempfile.mkdtemp(prefix="gpt-bench-")) as executor:
        across_seeds = [_run(executor, args.budget, seed, compile=args.compile) for seed in range(args.seeds)]
        one_seed = [_run(executor, args.budget, 0, compile=args.compile) for _ in range(args.repeats)]
        effects = {}
        for label, changes in (("halve TOTAL_BATCH_SIZE", {"TOTAL_BATCH_SIZE": task.space().defaults()["TOTAL_BATCH_SIZE"] // 2}),
                               ("double MATRIX_LR", {"MATRIX_LR": task.space().defaults()["MATRIX_LR"] * 2})):
            changed = [_run(executor, args.budget, seed, changes, compile=args.compile)["val_bpb"]
                       for seed in range(args.effect_runs)]
            effects[label] = statistics.fmean(c - across_seeds[s]["val_bpb"] for s, c in enumerate(changed))
        fixed = [_run(executor, args.budget, seed, max_steps=args.fixed_steps, compile=args.compile)["val_bpb"]
                 for seed in range(args.seeds if args.fixed_steps > 0 else 0)]
        peak_after = matmul_flops_per_second(threads)
        shaped_after = model_matmul_flops_per_second(defaults, threads)
    load_after = load_average()

    runs = across_seeds + one_seed
    tokens_per_second = statistics.median(r["tokens_per_second"] for r in runs)
    flops = runs[0]["flops_per_token"]
    reference = (peak + peak_after) / 2
    shaped_reference = (shaped + shaped_after) / 2
    seed_std = statistics.stdev(r["val_bpb"] for r in across_seeds) if args.seeds > 1 else float("nan")
    repeat_std = statistics.stdev(r["val_bpb"] for r in one_seed) if args.repeats > 1 else float("nan")
    noise = max(seed_std, repeat_std)
    print(f"load_average_before_after: {load_before:.2f} {load_after:.2f} (on {os.cpu_count()} cores)")
    print(f"budget_seconds: {args.budget}")
    print(f"threads: {threads}")
    print(f"matmul_gflops: {reference / 1e9:.1f}")
    print(f"matmul_gflops_before_after: {peak / 1e9:.1f} {peak_after / 1e9:.1f}")
    print(f"tokens_per_second: {tokens_per_second:.0f}")
    print(f"model_flops_per_token: {flops:.0f}")
    print(f"model_flop_utilisation: {flops * tokens_per_second / reference:.3f}")
    print(f"model_matmul_gflops: {shaped_reference / 1e9:.1f}")
    print(f"model_matmul_gflops_before_after: {shaped / 1e9:.1f} {shaped_after / 1e9:.1f}")
    print(f"model_flop_utilisation_of_model_matmuls: {flops * tokens_per_second / shaped_reference:.3f}")
    print(f"compile: {args.compile}")
    print(f"trial_total_seconds_median: {statistics.median(r['total_seconds'] for r in runs):.1f}")
    if args.compile:
        rest = [r["compile_seconds"] for r in runs[1:]]
        print(f"compile_seconds_first_rest_median: {runs[0]['compile_seconds']:.1f} "
              f"{statistics.median(rest) if rest else float('nan'):.1f}")
    print(f"val_bpb_mean: {statistics.fmean(r['val_bpb'] for r in across_seeds):.4f}")
    print(f"val_bpb_std_across_{args.seeds}_seeds: {seed_std:.4f}")
    print(f"val_bpb_std_{args.repeats}_repeats_one_seed: {repeat_std:.4f}")
    if len(fixed) > 1:
        print(f"fixed_steps_{args.fixed_steps}_val_bpb_mean: {statistics.fmean(fixed):.4f}")
        print(f"fixed_steps_{args.fixed_steps}_val_bpb_std_across_{args.seeds}_seeds: {statistics.stdev(fixed):.4f}")
    for label, delta in effects.items():
        print(f"effect_{label.replace(' ', '_').lower()}: {delta:+.4f} val_bpb = {delta / noise:+.1f} x noise")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
