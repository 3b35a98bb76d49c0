"""Fit the surrogate of the cpu preset on recorded GPT trials and report how it tracks held-out runs.

    python -m benchmarks.gpt_fit [--stores benchmarks/results/gpt-trials] \\
        [--out benchmarks/surrogate/models/gpt_cpu.json] [--report FILE.md] [--noise STD]

Reads every ``run.sqlite`` under ``--stores`` (as written by
``python -m benchmarks.gpt_collect``), estimates the noise from the
configurations measured more than once, fits on all runs and saves the model,
then prints the leave-one-run-out report (:func:`benchmarks.surrogate.holdout_report`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.surrogate import estimate_noise, fit_surrogate, holdout_report
from benchmarks.surrogate.models import GPT_CPU
from engine.store import STORE_FILENAME

from .gpt import GptTask
from .trial_stores import trials_from_stores

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="fit the GPT cpu-preset surrogate")
    parser.add_argument("--stores", type=Path, default=Path("benchmarks/results/gpt-trials"))
    parser.add_argument("--out", type=Path, default=GPT_CPU)
    parser.add_argument("--report", type=Path, default=None, help="also write the holdout report here")
    parser.add_argument("--noise", type=float, default=None,
                        help="the std of val_bpb between repeats (default: estimated from the stores)")
    args = parser.parse_args(argv)
    databases = sorted(args.stores.rglob(STORE_FILENAME))
    by_run = {Path(key.split("::")[0]).parent.name: trials
              for key, trials in trials_from_stores(databases).items()}
    everything = [t for trials in by_run.values() for t in trials]
    noise = estimate_noise(everything) if args.noise is None else args.noise
    space = GptTask().space()
    model = fit_surrogate(everything, space, noise, source=f"{len(by_run)} runs under {args.stores.as_posix()}")
    model.save(args.out)
    report = holdout_report(by_run, space, noise)
    ok = sum(t.ok for t in everything)
    print(f"runs: {len(by_run)} trials: {len(everything)} ok: {ok} noise: {noise:.4f}")
    print(f"model: {args.out}")
    print(report.to_markdown())
    if args.report is not None:
        args.report.write_text(report.to_markdown())
        args.report.with_suffix(".json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
