"""How much of a trial's budget the run store costs.

    python -m benchmarks.store_bench [--trials 1000] [--budget-s 30]

Times, over a run of ``--trials`` trials: writing one trial (``begin_trial`` +
``finish_trial``, each a durable commit) and reading the whole trace (what the
engine does before each hook call), warm (the store keeps decoded trials) and
cold (a freshly opened store decodes every row). Each is printed as a fraction of the trial
budget (the engine's overhead target is < 1% of the budget per iteration) and
as a ratio against a reference measured in the same run: a bare SQLite insert
of the same JSON with the same durability settings, and a bare ``SELECT`` +
``json.loads`` of the same rows.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from engine.report import write_report
from engine.store import RunPaths, RunStore
from interfaces import Decision, Outcome, Proposal, Trial, TrialStatus

__all__ = ["make_trial", "bench_store", "bench_reference", "main"]


def make_trial(index: int) -> tuple[Trial, Outcome]:
    config = {f"P{k}": 0.001 * (index + k) for k in range(12)}
    metric = 1.0 - index * 1e-5
    trial = Trial(
        index,
        config,
        {"P1": config["P1"]},
        TrialStatus.OK,
        metric,
        Decision.BASELINE if index == 0 else Decision.DISCARD,
        duration_s=30.0,
        rationale="raise P1 a little",
        source="llm:model",
        log_tail="step 100 loss 3.2\n" * 40,
    )
    return trial, Outcome(TrialStatus.OK, metric, {"val_bpb": metric, "loss": 3.2, "tokens": 1e6})


def bench_store(
    directory: Path, trials: int, trace_reads: int
) -> tuple[list[float], list[float], list[float], float]:
    store = RunStore.open(RunPaths(directory).store)
    store.create_run("bench", task="bench", settings={}, provider="heuristic", model="")
    writes = []
    for index in range(trials):
        trial, outcome = make_trial(index)
        start = time.perf_counter()
        store.begin_trial("bench", index, Proposal(trial.changes, source="llm:model"), trial.config)
        store.finish_trial("bench", trial, outcome)
        writes.append(time.perf_counter() - start)
    reads = []
    for _ in range(trace_reads):
        start = time.perf_counter()
        trace = store.trace("bench")
        reads.append(time.perf_counter() - start)
    assert len(trace) == trials
    store.close()
    # A cold read decodes every row: what a resumed run or a report pays once.
    cold = []
    for _ in range(max(3, trace_reads // 4)):
        with RunStore.open(RunPaths(directory).store) as fresh:
            start = time.perf_counter()
            fresh.trace("bench")
            cold.append(time.perf_counter() - start)
    with RunStore.open(RunPaths(directory).store) as fresh:
        start = time.perf_counter()
        write_report(fresh, "bench", directory)
        report_s = time.perf_counter() - start
    return writes, reads, cold, report_s


def bench_reference(directory: Path, trials: int, trace_reads: int) -> tuple[list[float], list[float]]:
    conn = sqlite3.connect(directory / "bare.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (idx INTEGER PRIMARY KEY, trial TEXT, outcome TEXT)")
    conn.execute("CREATE TABLE f (idx INTEGER PRIMARY KEY, config TEXT)")
    writes = []
    for index in range(trials):
        trial, outcome = make_trial(index)
        start = time.perf_counter()
        # The same two commits the store makes: mark in flight, then trial + unmark.
        conn.execute("INSERT INTO f VALUES (?, ?)", (index, json.dumps(dict(trial.config))))
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO t VALUES (?, ?, ?)",
            (index, json.dumps(trial.to_dict()), json.dumps(outcome.to_dict())),
        )
        conn.execute("DELETE FROM f WHERE idx = ?", (index,))
        conn.execute("COMMIT")
        writes.append(time.perf_counter() - start)
    reads = []
    for _ in range(trace_reads):
        start = time.perf_counter()
        rows = [json.loads(text) for (text,) in conn.execute("SELECT trial FROM t ORDER BY idx")]
        reads.append(time.perf_counter() - start)
    assert len(rows) == trials
    conn.close()
    return writes, reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--trace-reads", type=int, default=20)
    parser.add_argument("--budget-s", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        writes, reads, cold, report_s = bench_store(Path(tmp), args.trials, args.trace_reads)
        ref_writes, ref_reads = bench_reference(Path(tmp), args.trials, args.trace_reads)

    budget = args.budget_s
    rows = [
        (
            "write one trial (begin + finish)",
            statistics.median(writes),
            max(writes),
            statistics.median(ref_writes),
        ),
        (
            f"read trace of {args.trials} trials (warm)",
            statistics.median(reads),
            max(reads),
            statistics.median(ref_reads),
        ),
        (
            f"read trace of {args.trials} trials (cold)",
            statistics.median(cold),
            max(cold),
            statistics.median(ref_reads),
        ),
    ]
    print(f"run store, {args.trials} trials, budget {budget:g} s per trial")
    print(f"{'operation':38} {'median ms':>10} {'max ms':>9} {'% budget':>9} {'vs bare sqlite':>15}")
    print("(bare sqlite: the same commits and JSON, or SELECT + json.loads, without the store's records)")
    for name, median, worst, reference in rows:
        print(
            f"{name:38} {median * 1e3:10.3f} {worst * 1e3:9.3f} {median / budget * 100:8.4f}% "
            f"{median / reference:14.3g}x"
        )
    per_iteration = rows[0][1] + rows[1][1]
    print(
        f"per iteration (one write + one warm trace read): {per_iteration * 1e3:.3f} ms = "
        f"{per_iteration / budget * 100:.4f}% of budget (target < 1%)"
    )
    print(
        f"write_report with progress.png at {args.trials} trials: {report_s:.3f} s "
        f"({report_s / budget * 100:.2f}% of one budget; run once per run, not per trial)"
    )


if __name__ == "__main__":
    main()
