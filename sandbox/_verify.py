"""Stages 4 and 5 as the caller sees them: load the candidate in two limited
mechanism processes and run its conformance suite *here*, driving every call
over the processes' pipes.

The verdict is this process's own record of what it asked and what came
back: the candidate can only answer calls, with plain data that is checked
here, so even code that escaped every other layer inside its process cannot
print a verdict, and a flood of output is cut at the reply limit. The two
processes run with different hash seeds, so answers that depend on string
hashing (set order) show up as non-determinism.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from ._codec import CodecError, encode_argument
from ._policy import Limits, Policy, policy_to_dict
from ._process import MechanismProcess, ProcessFailure, clip, take_process
from ._records import StageResult, Violation

__all__ = ["verify_stages", "RemoteBuilder", "RemoteInstance", "HASH_SEEDS"]

HASH_SEEDS = (0, 1)
_GRACE_S = 1.0  # pipe and scheduling slack on top of a call's own budget
_KEEP_INSTANCES = 4  # instances kept alive per process; older ones are dropped


class _Deadline(Exception):
    """The whole verification ran past its wall-clock limit."""


class RemoteInstance:
    """A mechanism instance living in a :class:`MechanismProcess`; its public
    methods (as the process reported them at build time) are callable here."""

    def __init__(self, builder: RemoteBuilder, instance: int, methods: tuple[str, ...]) -> None:
        self._builder = builder
        self._instance = instance
        self._methods = methods

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self._methods:
            raise AttributeError(name)
        return lambda *args: self._builder.call(self._instance, name, args)


class RemoteBuilder:
    """``build(seed)`` for a candidate loaded in one process; every failure on
    the far side becomes a :class:`~sandbox.SuiteFailure` with a code."""

    def __init__(self, process: MechanismProcess, call_budget_s: float, deadline: float, wall_s: float,
                 last_line: int) -> None:
        self.process = process
        self.last_line = last_line
        self.call_budget_s = call_budget_s
        self.deadline = deadline
        self.wall_s = wall_s
        self._ids = itertools.count(1)
        self._live: list[int] = []

    def _exchange(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        from ._conformance import SuiteFailure

        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline()
        try:
            return self.process.exchange(request, min(timeout_s, remaining))
        except ProcessFailure as failure:
            if failure.code == "timeout" and timeout_s > remaining:
                raise _Deadline() from None
            code = {"timeout": "call-timeout", "reply-too-large": "reply-too-large",
                    "cpu-limit": "cpu-limit"}.get(failure.code, "child-crashed")
            raise SuiteFailure(code, f"{failure}; {_ADVICE[code]}") from None

    def __call__(self, seed: int) -> RemoteInstance:
        from ._conformance import SuiteFailure

        instance = next(self._ids)
        reply = self._exchange({"op": "build", "instance": instance, "seed": seed}, self.wall_s)
        if not reply.get("ok"):
            raise SuiteFailure("build-raised", f"build({seed}) raised {clip(reply.get('message', ''))}; the "
                               "constructor must not raise", _line(reply, self.last_line))
        self._live.append(instance)
        while len(self._live) > _KEEP_INSTANCES:
            self._exchange({"op": "drop", "instance": self._live.pop(0)}, self.wall_s)
        methods = reply.get("methods")
        names = tuple(m for m in methods if type(m) is str) if type(methods) is list else ()
        return RemoteInstance(self, instance, names)

    def call(self, instance: int, method: str, args: tuple) -> Any:
        from ._conformance import SuiteFailure

        try:
            encoded = [encode_argument(a) for a in args]
        except CodecError as error:
            raise SuiteFailure(error.code, str(error)) from None
        reply = self._exchange({"op": "call", "instance": instance, "method": method, "args": encoded},
                               self.call_budget_s + _GRACE_S)
        if reply.get("ok"):
            return reply.get("value")
        code = reply.get("code")
        code = code if code in ("call-raised", "wrong-return-type", "missing-method") else "call-raised"
        message = clip(reply.get("message", ""))
        if code == "call-raised":
            message = f"the mechanism raised {message}; it must not raise on valid input"
        raise SuiteFailure(code, message, _line(reply, self.last_line))


_ADVICE = {
    "call-timeout": "remove unbounded loops and keep each call well inside its budget",
    "reply-too-large": "return small plain values",
    "child-crashed": "avoid unbounded memory use and deep recursion",
    "cpu-limit": "remove unbounded loops",
}


def _line(reply: dict[str, Any], last_line: int = 1 << 30) -> int:
    """The reply's line number if it is one the source has, else 0."""
    line = reply.get("line", 0)
    return line if type(line) is int and 0 <= line <= last_line else 0


def _load(process: MechanismProcess, request: dict[str, Any], limits: Limits) -> tuple[Violation | None, str]:
    """(the violation or None, the confinement the process reported)."""
    last_line = request["source"].count("\n") + 1
    try:
        reply = process.exchange(request, limits.load_wall_s)
    except ProcessFailure as failure:
        if failure.code == "timeout":
            return Violation("load-timeout", 0, 0, f"running the module took over {limits.load_wall_s} s; "
                             "module-level code must only define things"), ""
        code = "cpu-limit" if failure.code == "cpu-limit" else "child-crashed"
        return Violation(code, 0, 0, f"{failure}; module-level code must only define things, "
                         "without unbounded loops or memory use"), ""
    if reply.get("ok"):
        return None, clip(reply.get("confinement", "not reported"), 200)
    raised, passed_on = reply.get("code"), ("missing-entry-point", "restricted-compile")
    code = raised if isinstance(raised, str) and raised in passed_on else "load-failed"
    return Violation(code, _line(reply, last_line), 0, clip(reply.get("message", ""))), ""


def verify_stages(source: str, name: str, *, entry_point: str, policy: Policy, limits: Limits,
                  suite: Callable[..., None] | None, call_budget_s: float = 2.0,
                  process_module: str = "sandbox._host_main") -> tuple[StageResult, ...]:
    """The ``load`` stage and, when ``suite`` is given, the ``verify`` stage.

    ``suite(build, build_twin)`` raises on failure; it runs in this process
    against :class:`RemoteInstance` objects. ``process_module`` is the program
    the processes run (another one stands in for a compromised process in the
    tests). Never raises."""
    from ._conformance import SuiteFailure

    started = time.perf_counter()
    deadline = time.monotonic() + limits.verify_wall_s
    request = {"op": "load", "source": source, "name": name, "entry_point": entry_point,
               "policy": policy_to_dict(policy)}
    processes = [take_process(limits, hash_seed=HASH_SEEDS[0], cpu_s=limits.cpu_s, module=process_module)]
    try:
        problem, confinement = _load(processes[0], request, limits)
        loaded = StageResult("load", problem is None, time.perf_counter() - started,
                             () if problem is None else (problem,),
                             details=f"confinement: {confinement}" if confinement else "")
        if problem is not None or suite is None:
            return (loaded,)
        begun = time.perf_counter()
        processes.append(take_process(limits, hash_seed=HASH_SEEDS[1], cpu_s=limits.cpu_s,
                                      module=process_module))
        problem, _ = _load(processes[1], request, limits)
        if problem is not None:
            violation = Violation("not-deterministic", problem.line, 0, "loading failed under a second hash "
                                  f"seed ({problem.message}); do not depend on the order of sets")
            return (loaded, StageResult("verify", False, time.perf_counter() - begun, (violation,)))
        budget = limits.call_wall_s or call_budget_s
        last_line = source.count("\n") + 1
        build, twin = (RemoteBuilder(p, budget, deadline, limits.load_wall_s, last_line) for p in processes)
        try:
            suite(build, twin)
        except _Deadline:
            violation = Violation("verify-timeout", 0, 0, f"the conformance suite ran past {limits.verify_wall_s} "
                                  "s of wall-clock time; keep every call fast")
            return (loaded, StageResult("verify", False, time.perf_counter() - begun, (violation,)))
        except SuiteFailure as failure:
            violation = Violation(failure.code, failure.line, 0, clip(failure.message))
            return (loaded, StageResult("verify", False, time.perf_counter() - begun, (violation,),
                                        counterexample=clip(failure.counterexample or "", 4000) or None))
        except Exception as error:  # noqa: BLE001 - a custom suite's own assertion, or a protocol mismatch
            violation = Violation("verify-failed", 0, 0, clip(f"{type(error).__name__}: {error}"))
            return (loaded, StageResult("verify", False, time.perf_counter() - begun, (violation,)))
        return (loaded, StageResult("verify", True, time.perf_counter() - begun))
    finally:
        for process in processes:
            process.close()
