"""Stage 5: hypothesis conformance suites, one per hook Protocol.

Each suite builds two instances from the same seed, feeds both the same
drawn call sequence and asserts: plain-data results of the annotated return
type, no exception on valid input, identical answers (determinism) and each
call inside the hook's time budget. A failure raises AssertionError (or the
candidate's own exception) carrying hypothesis's shrunk example in
``__notes__``; :func:`run_suite` turns that into a record.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from interfaces import hook_spec

from . import strategies
from ._plain import is_plain, matches_annotation, return_annotation

__all__ = ["check_hook", "check_filter", "check_source", "check_advisor", "check_acceptance",
           "check_observer", "SuiteFailure"]


class SuiteFailure(AssertionError):
    """A conformance property does not hold for the candidate."""


def _call(instance: Any, method: str, args: tuple, budget_s: float, hint: Any, which: str) -> Any:
    start = time.perf_counter()
    value = getattr(instance, method)(*args)
    elapsed = time.perf_counter() - start
    if elapsed > budget_s:
        raise SuiteFailure(f"call-timeout: {which}.{method} took {elapsed:.3f} s; the budget is {budget_s} s")
    if not is_plain(value):
        raise SuiteFailure(f"wrong-return-type: {method} returned {type(value).__name__}; return plain data "
                           "(None, bool, int, float, str, lists and dicts of those)")
    if not matches_annotation(value, hint):
        raise SuiteFailure(f"wrong-return-type: {method} returned {value!r}, which does not match {hint}")
    return value


def check_hook(hook: str, build: Callable[[int], Any], *, max_examples: int = 12,
               calls_per_example: int = 3) -> None:
    """Run ``hook``'s conformance suite against ``build``; raise on failure."""
    spec = hook_spec(hook)
    hint = return_annotation(spec.protocol, spec.method)

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(seed=st.integers(0, 2**31 - 1), data=st.data())
    def conformance(seed: int, data: st.DataObject) -> None:
        first, second = build(seed), build(seed)
        for which in (first, second):
            if not callable(getattr(which, spec.method, None)):
                raise SuiteFailure(f"missing-method: build({seed}) returned an object without a "
                                   f"{spec.method}() method")
        for _ in range(calls_per_example):
            args = data.draw(strategies.hook_arguments(spec.name), label="arguments")
            answer = _call(first, spec.method, args, spec.call_budget_s, hint, "first")
            again = _call(second, spec.method, args, spec.call_budget_s, hint, "second")
            note(f"answer: {answer!r}")
            if answer != again:
                raise SuiteFailure(f"not-deterministic: two instances built with seed {seed} answered "
                                   f"{answer!r} and {again!r} to the same call; draw randomness only from "
                                   "random.Random(seed) kept on self")

    conformance()


def check_filter(build: Callable[[int], Any], **options: Any) -> None:
    check_hook("filter", build, **options)


def check_source(build: Callable[[int], Any], **options: Any) -> None:
    check_hook("source", build, **options)


def check_advisor(build: Callable[[int], Any], **options: Any) -> None:
    check_hook("advisor", build, **options)


def check_acceptance(build: Callable[[int], Any], **options: Any) -> None:
    check_hook("acceptance", build, **options)


def check_observer(build: Callable[[int], Any], **options: Any) -> None:
    check_hook("observer", build, **options)
