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
restrictions, the round trip against the restricted code in-process (on a
fixed trace and on one growing by a trial a call), and apart from it the
one-off cost of the host's reproducibility replays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path

from interfaces import Decision, ParamSpec, SearchConfig, SearchSpace, TraceView, Trial, TrialStatus
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
from sandbox._host import REPLAY_AT
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
    return f"p50 {statistics.median(ordered) * 1e3:8.2f} ms   p95 {_p95(samples) * 1e3:8.2f} ms"


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


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _paired(first, second, arguments: list) -> tuple[list[float], list[float]]:
    """Times of ``first(a)`` and ``second(a)`` for each ``a`` in ``arguments``, interleaved so that
    both see the same load, after one warm-up call of each."""
    first(arguments[0])
    second(arguments[0])
    firsts, seconds = [], []
    for argument in arguments:
        firsts.append(_timed(lambda argument=argument: first(argument)))
        seconds.append(_timed(lambda argument=argument: second(argument)))
    return firsts, seconds


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _grown_traces(trace: TraceView, space: SearchSpace, count: int) -> list[TraceView]:
    """``trace`` growing by one trial at a time, each view sharing the trials of the one before, as the
    store's views do."""
    trials, views = list(trace.trials), []
    for _ in range(count):
        index = len(trials)
        changes = {f"P{index % 6}": (index % 10) / 10}
        trials.append(Trial(index, dict(space.defaults(), **changes), changes, TrialStatus.OK,
                            2.0 - index / 1000, Decision.KEEP if index % 3 == 0 else Decision.DISCARD))
        views.append(TraceView(tuple(trials)))
    return views


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
    print(f"per call, {len(trace)}-trial trace: unrestricted {plain_s * 1e6:.1f} us, restricted in-process "
          f"{restricted_s * 1e6:.1f} us")
    ratio = restricted_s / plain_s
    print(f"restricted / unrestricted: {ratio:.2f}x (target < 3x): {'ok' if ratio < 3 else 'MISSED'}")

    grown = _grown_traces(trace, space, options.calls)
    with MechanismHost(replay_at=()) as host:  # the replays are a cost of their own, measured below
        handle = host.load(admission, seed=3).handle
        fixed = _paired(lambda view: restricted_instance.advise(view, space, config),
                        lambda view: host.call(handle, view, space, config), [trace] * options.calls)
        growing = _paired(lambda view: restricted_instance.advise(view, space, config),
                          lambda view: host.call(handle, view, space, config), grown)
        assert host.counters(handle).ok == 2 * options.calls + 2 and host.ejections() == ()
    print("host round trip against the restricted code in-process, the calls interleaved (p50 of each):")
    for name, (inside, through) in ((f"the same {len(trace)}-trial trace", fixed),
                                    (f"a trace growing by one trial a call, {len(grown[0])} to {len(grown[-1])} "
                                     "trials", growing)):
        host_ratio = statistics.median(through) / statistics.median(inside)
        print(f"  {name}: in-process {statistics.median(inside) * 1e6:.1f} us, host "
              f"{statistics.median(through) * 1e6:.1f} us (p95 {_p95(through) * 1e6:.1f} us): {host_ratio:.2f}x "
              f"(target < 5x): {'ok' if host_ratio < 5 else 'MISSED'}")
    unload("bench_restricted")

    with MechanismHost() as host:
        handle = host.load(admission, seed=3).handle
        window = _grown_traces(trace, space, max(REPLAY_AT) + 2)
        durations = [_timed(lambda view=view: host.call(handle, view, space, config)) for view in window]
        assert host.replays(handle) == len(REPLAY_AT) and host.ejections() == (), host.ejections()
    usual = statistics.median(durations)
    replays_s = sum(durations[n - 1] - usual for n in REPLAY_AT)
    print(f"reproducibility replays after calls {', '.join(map(str, REPLAY_AT))} (a fresh process each, the "
          f"history resent): {replays_s * 1e3:.0f} ms in all, once per mechanism; with them the first "
          f"{len(window)} calls average {statistics.mean(durations) * 1e6:.0f} us")

if __name__ == "__main__":
    main()
