"""Stage 5: hypothesis conformance suites, one per hook Protocol.

One suite serves every hook, registered ones included: :func:`check_hook`
reads the method, its return annotation and its budget off the hook's spec,
and draws each call's arguments from the argument kinds the spec declares
(:func:`sandbox.strategies.hook_arguments`). ``check_filter`` and the other
``check_*`` functions are the built-in hooks' shorthands for it; a new hook
needs none.

Each example builds instances from the same seed (``build`` and
``build_twin``, which :func:`sandbox.admit` points at two processes started
with different hash seeds, plus a third beside the first), feeds them the
same drawn call sequence and asserts: plain-data results of the annotated return type, no exception on
valid input, identical answers (determinism, also across hash seeds) and each
call inside the hook's time budget. One longer sequence then checks that
behaviour does not change character after many calls.

The suite reports the *first* failure it finds, without shrinking: the drawn
examples are already small, and shrinking a slow or crashing candidate only
spends the time limit. A failure raises :class:`SuiteFailure` (or, for an
in-process builder, the candidate's own exception) whose ``counterexample``
and ``__notes__`` say which seed and calls produced it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from interfaces import hook_spec

from . import strategies
from ._plain import matches_annotation, return_annotation, to_plain

__all__ = ["check_hook", "check_filter", "check_source", "check_advisor", "check_acceptance",
           "check_observer", "SuiteFailure"]

_REPR_CHARS = 400
_STEPS_KEPT = 7  # lines of a counterexample: the build line and the last calls


class SuiteFailure(AssertionError):
    """A conformance property does not hold for the candidate.

    ``code`` is a stable violation code (``call-timeout``, ``wrong-return-type``,
    ``not-deterministic``, ``missing-method``, or one a remote builder raises),
    ``line`` the candidate's line where known (0 otherwise)."""

    def __init__(self, code: str, message: str, line: int = 0) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.line = line
        self.counterexample: str | None = None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _REPR_CHARS else text[:_REPR_CHARS] + "..."


def _call(instance: Any, method: str, args: tuple, budget_s: float, hint: Any, which: str) -> Any:
    start = time.perf_counter()
    value = getattr(instance, method)(*args)
    elapsed = time.perf_counter() - start
    if elapsed > budget_s:
        raise SuiteFailure("call-timeout", f"{which}.{method} took {elapsed:.3f} s; the budget is {budget_s} s")
    plain, converted = to_plain(value)
    if not plain:
        raise SuiteFailure("wrong-return-type", f"{method} returned {type(value).__name__}; return plain data "
                           "(None, bool, int, float, str, lists and dicts of those)")
    value = converted
    if not matches_annotation(value, hint):
        raise SuiteFailure("wrong-return-type", f"{method} returned {_short(value)}, which does not match {hint}")
    return value


def check_hook(hook: str, build: Callable[[int], Any], *, max_examples: int = 12, calls_per_example: int = 3,
               build_twin: Callable[[int], Any] | None = None, long_run_calls: int = 40) -> None:
    """Run ``hook``'s conformance suite against ``build``; raise on the first failure.

    ``build_twin`` builds the second instance of each pair (default: ``build``);
    ``long_run_calls`` is the length of the one long call sequence (0 skips it)."""
    spec = hook_spec(hook)
    hint = return_annotation(spec.protocol, spec.method)
    twin = build_twin or build
    found: list[BaseException] = []

    def exercise(seed: int, draw: Callable[[], tuple], calls: int) -> None:
        steps = [f"Falsifying example: build({seed}) twice"]
        try:
            # With a separate twin, a third instance shares the first one's process:
            # state kept outside the instance then changes its answers.
            instances = [("first", build(seed)), ("second", twin(seed))]
            if build_twin is not None:
                instances.append(("third", build(seed)))
            for which, instance in instances:
                if not callable(getattr(instance, spec.method, None)):
                    raise SuiteFailure("missing-method", f"build({seed}) returned an object without a "
                                       f"{spec.method}() method ({which} instance)")
            for number in range(1, calls + 1):
                args = draw()
                steps.append(f"call {number}: {spec.method}{_short(args)}")
                answers = [_call(instance, spec.method, args, spec.call_budget_s, hint, which)
                           for which, instance in instances]
                steps.append(f"  answered {_short(answers[0])}")
                for (which, _), again in zip(instances[1:], answers[1:], strict=True):
                    if again != answers[0]:
                        raise SuiteFailure("not-deterministic", f"instances built with seed {seed} answered "
                                           f"{_short(answers[0])} and {_short(again)} ({which} instance) to call "
                                           f"{number}; draw randomness only from random.Random(seed) kept on "
                                           "self, keep state on self, and do not depend on the order of sets "
                                           "or on object identity")
        except Exception as error:  # not BaseException: hypothesis steers its own runs with those
            # The seed line, then the last few calls: the ones before answered without fault.
            kept = steps if len(steps) <= _STEPS_KEPT else \
                [steps[0], f"... {len(steps) - _STEPS_KEPT} earlier lines, all without fault"] + \
                steps[-(_STEPS_KEPT - 1):]
            text = "\n".join(kept)
            if isinstance(error, SuiteFailure):
                error.counterexample = text
            error.add_note(text)
            found.append(error)
            raise

    def run(examples: int, calls: int) -> None:
        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), print_blob=False,
                  phases=(Phase.explicit, Phase.generate))
        @given(seed=st.integers(0, 2**31 - 1), data=st.data())
        def conformance(seed: int, data: st.DataObject) -> None:
            if found:  # hypothesis replays the failing example: answer it without calling the candidate again
                raise found[0]
            exercise(seed, lambda: data.draw(strategies.hook_arguments(spec.name), label="arguments"), calls)

        try:
            conformance()
        except Exception:
            if found:
                raise found[0] from None
            raise

    run(max_examples, calls_per_example)
    if long_run_calls > 0:
        run(1, long_run_calls)


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
