"""Admission latency and call overhead of the sandbox.

Run: ``python -m benchmarks.sandbox_admission [--repeats N]``

Prints, for a realistic ~150-line mechanism: p50/p95 of the static stages
(parse, guard, compile) through the admission worker, round trip included;
``admit(verify=False)`` end to end (the worker, then the load in a confined
mechanism process), spaced as in a run and back to back; the same stages
in-process as the reference, measured in the same run; the
full admission time including the conformance suite in its child; and the
per-call cost of the restricted mechanism (in-process and through the
MechanismHost round trip) as a ratio against the same code compiled without
restrictions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path

from interfaces import ParamSpec, SearchConfig, SearchSpace, TraceView, Trial
from sandbox import (
    DEFAULT_POLICY,
    MechanismHost,
    admit,
    compile_stage,
    guard_stage,
    load_stage,
    parse_stage,
    unload,
)
from sandbox._worker import AdmissionWorker

__all__ = ["MECHANISM", "main"]

MECHANISM = (Path(__file__).resolve().parent.parent / "tests" / "sandbox" / "mechanisms" /
             "bandit_advisor.py.txt")


def _padded_source() -> str:
    """The bandit advisor plus helper methods, to the size a model writes."""
    base = MECHANISM.read_text()
    helpers = "\n".join(
        f"def helper_{i}(values):\n    total = 0.0\n    for index, value in enumerate(values):\n"
        f"        if index % 2 == 0:\n            total += value * {i}\n        else:\n"
        f"            total -= value / ({i} + 1)\n    return total\n"
        for i in range(9)
    )
    return base + "\n\n" + helpers


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1e3:8.2f} ms   p95 {p95 * 1e3:8.2f} ms"


def _arguments():
    space = SearchSpace(tuple(ParamSpec(f"P{i}", "float", 0.5, low=0.0, high=1.0) for i in range(6)))
    trials = [Trial(0, space.defaults(), {}, "ok", 2.0, "baseline")]
    for index in range(1, 30):
        changes = {f"P{index % 6}": (index % 10) / 10}
        trials.append(Trial(index, dict(space.defaults(), **changes), changes, "ok", 2.0 - index / 100,
                            "keep" if index % 3 == 0 else "discard"))
    return TraceView(tuple(trials)), space, SearchConfig(active=space.names)


def _time_calls(call, repeats: int) -> float:
    call()  # warm up
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - start) / repeats


def _through_worker(source: str, repeats: int) -> dict[str, list[float]]:
    """Static stages in a started worker (its start-up is not counted: it is
    paid once per engine run), then the load of the recompiled source."""
    samples: dict[str, list[float]] = {"worker": [], "load": [], "total": []}
    worker = AdmissionWorker()
    try:
        worker.check(source, DEFAULT_POLICY, "build")  # start it
        for index in range(repeats):
            start = time.perf_counter()
            verdict = worker.check(source, DEFAULT_POLICY, "build")
            checked = time.perf_counter()
            compiled = compile_stage(verdict.source, f"bench_worker_{index}")
            loaded = load_stage(compiled.value, f"bench_worker_{index}")
            done = time.perf_counter()
            assert all(s.ok for s in verdict.stages) and loaded.ok, verdict.stages
            samples["worker"].append(checked - start)
            samples["load"].append(done - checked)
            samples["total"].append(done - start)
            unload(f"bench_worker_{index}")
    finally:
        worker.close()
    return samples


def _admit_without_suite(source: str, repeats: int, gap_s: float) -> list[float]:
    """``admit(..., verify=False)`` as a run calls it: the static stages in the
    worker, then the load in a mechanism process (a started spare when one had
    ``gap_s`` to warm up)."""
    admit(source, "advisor", verify=False)  # the worker's and the first spare's start-up
    samples = []
    for _ in range(repeats):
        time.sleep(gap_s)
        start = time.perf_counter()
        admission = admit(source, "advisor", verify=False)
        samples.append(time.perf_counter() - start)
        assert admission.admitted, admission.feedback()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--calls", type=int, default=300)
    options = parser.parse_args()

    source = _padded_source()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (timings scale with contention)")
    print(f"mechanism: {len(source.splitlines())} lines, {len(source)} bytes")
    through_worker = _through_worker(source, options.repeats)
    print("through the admission worker (parse, guard, compile in the child; round trip included):")
    for name, samples in through_worker.items():
        print(f"  {name:<8} {_percentiles(samples)}")
    print("  (load here is in this process; the real one, in a mechanism process, follows)")
    spaced = _admit_without_suite(source, options.repeats, 1.0)
    back_to_back = _admit_without_suite(source, options.repeats, 0.0)
    print(f"admit(verify=False), worker + load in a confined mechanism process, 1 s apart as in a run: "
          f"{_percentiles(spaced)}")
    print(f"admit(verify=False), back to back (the spare has no time to warm up): {_percentiles(back_to_back)}")
    p50 = statistics.median(spaced)
    verdict = "ok" if p50 < 0.05 else "MISSED"
    print(f"parse+guard+compile+load p50 {p50 * 1e3:.2f} ms (target < 50 ms): {verdict}")

    print("in-process reference (same stages in this process, same run):")
    stages: dict[str, list[float]] = {"parse": [], "guard": [], "compile": [], "load": [], "total": []}
    for index in range(options.repeats):
        start = time.perf_counter()
        parsed = parse_stage(source)
        guarded = guard_stage(parsed.value)
        compiled = compile_stage(source, f"bench_{index}")
        loaded = load_stage(compiled.value, f"bench_{index}")
        stages["total"].append(time.perf_counter() - start)
        assert guarded.ok and compiled.ok and loaded.ok, (guarded.violations, compiled.violations)
        for record in (parsed, guarded, compiled, loaded):
            stages[record.stage].append(record.duration_s)
        unload(f"bench_{index}")
    for name, samples in stages.items():
        print(f"  {name:<8} {_percentiles(samples)}")
    print(f"in-process parse+guard+compile+load p50 {statistics.median(stages['total']) * 1e3:.2f} ms")

    full = []
    for _ in range(3):
        start = time.perf_counter()
        admission = admit(source, "advisor")
        full.append(time.perf_counter() - start)
        assert admission.admitted, admission.feedback()
    verify = next(s.duration_s for s in admission.stages if s.stage == "verify")
    print(f"full admission (child + conformance suite) median {statistics.median(full):.2f} s "
          f"(suite itself {verify:.2f} s; target < 5 s): {'ok' if statistics.median(full) < 5 else 'MISSED'}")

    trace, space, config = _arguments()
    plain = types.ModuleType("bench_plain")
    sys.modules["bench_plain"] = plain  # dataclasses looks its module up
    exec(compile(source, "<bench_plain>", "exec"), plain.__dict__)  # noqa: S102 - our own benchmark source
    compiled = compile_stage(source, "bench_restricted")
    restricted = load_stage(compiled.value, "bench_restricted").value
    plain_instance, restricted_instance = plain.build(3), restricted.build(3)
    plain_s = _time_calls(lambda: plain_instance.advise(trace, space, config), options.calls)
    restricted_s = _time_calls(lambda: restricted_instance.advise(trace, space, config), options.calls)
    unload("bench_restricted")
    with MechanismHost() as host:
        handle = host.load(admission, seed=3).handle
        host_s = _time_calls(lambda: host.call(handle, trace, space, config), options.calls // 3)
        assert host.counters(handle).calls > 0
    print(f"per call: unrestricted {plain_s * 1e6:.1f} us, restricted in-process {restricted_s * 1e6:.1f} us, "
          f"host round trip {host_s * 1e6:.1f} us")
    ratio = restricted_s / plain_s
    print(f"restricted / unrestricted: {ratio:.2f}x (target < 3x): {'ok' if ratio < 3 else 'MISSED'}")
    print(f"host round trip / unrestricted: {host_s / plain_s:.2f}x (includes serialising a 30-trial trace)")


if __name__ == "__main__":
    main()
