"""Each mechanism runs under RestrictedPython's guards and answers as it does unrestricted.

A stand-in for the sandbox's loader (test-only, not a security boundary): the
restricted compile plus the standard guards. It catches constructs that
compile but fail once guarded (unpacking, item writes, attribute access).
"""

from __future__ import annotations

import builtins

import pytest
from RestrictedPython import compile_restricted_exec, limited_builtins, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)

from interfaces import Decision, Proposal, Trial, TrialStatus
from mechanism_library import MECHANISMS_DIR, get

from .helpers import TraceBuilder, build
from .spaces import MIXED, MIXED_ALL

ALLOWED = {"math", "random", "statistics", "collections", "itertools", "functools", "heapq", "bisect",
           "dataclasses", "typing", "enum", "operator", "fractions", "decimal", "copy", "string", "re",
           "__future__"}
EXTRA = ("min", "max", "sum", "sorted", "enumerate", "zip", "abs", "round", "len", "range", "list", "dict",
         "set", "tuple", "bool", "int", "float", "str", "isinstance", "any", "all", "map", "filter", "reversed")


def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if name not in ALLOWED:
        raise ImportError(f"{name} is not allowed")
    return __import__(name, globals, locals, fromlist, level)


def inplace(op, x, y):
    return {"+=": x.__add__, "-=": x.__sub__, "*=": x.__mul__}[op](y)


def own_objects_write_guard(module_name):
    """State lives on self: the mechanism may write to its own instances and plain containers only."""

    def guard(target):
        if isinstance(target, (list, dict)) or type(target).__module__ == module_name:
            return target
        return full_write_guard(target)

    return guard


def restricted(name):
    source = (MECHANISMS_DIR / f"{name}.py").read_text()
    result = compile_restricted_exec(source, filename=f"{name}.py")
    assert result.errors == ()
    guarded_builtins = {**safe_builtins, **limited_builtins, **{n: getattr(builtins, n) for n in EXTRA}}
    guarded_builtins["__import__"] = guarded_import
    namespace = {
        "__builtins__": guarded_builtins, "__name__": f"restricted_{name}", "__metaclass__": type,
        "_getattr_": safer_getattr, "_getitem_": default_guarded_getitem, "_getiter_": default_guarded_getiter,
        "_write_": own_objects_write_guard(f"restricted_{name}"), "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence, "_inplacevar_": inplace,
    }
    exec(result.code, namespace)  # noqa: S102 - RestrictedPython's output, under its guards
    return namespace["build"]


def situation():
    trace = TraceBuilder(MIXED)
    trace.baseline(3.0)
    metric = 3.0
    for step in range(12):
        changes = {"LR": 1e-3 * 1.2 ** (step % 5), "WD": 0.05 * (step % 4)} if step % 3 else {"OPT": "sgd"}
        metric = metric + (0.02 if step % 2 else -0.03)
        trace.run(changes, metric if step != 7 else None)
    for _ in range(5):
        trace.run({"DEPTH": 9}, 4.0)
    return trace.view()


CALLS = {
    "filter": lambda m, v: [m.check(Proposal(c), v, MIXED) for c in ({"WD": 0.3}, {"DEPTH": 9}, {"LR": 0.05})],
    "advisor": lambda m, v: [m.advise(v, MIXED, MIXED_ALL) for _ in range(3)],
    "source": lambda m, v: [m.propose(v, MIXED, MIXED_ALL) for _ in range(3)],
    "acceptance": lambda m, v: [m.decide(Trial(99, dict(MIXED.defaults()), {"WD": 0.2}, TrialStatus.OK, x,
                                                Decision.DISCARD), v.incumbent(), v) for x in (2.5, 3.5, 3.01)],
    "observer": lambda m, v: [[m.observe(t, v) for t in v.trials], m.summary()],
}


@pytest.mark.parametrize("name", [p.stem for p in sorted(MECHANISMS_DIR.glob("*.py"))])
def test_restricted_mechanism_answers_like_the_plain_one(name):
    call = CALLS[get(name).hook]
    view = situation()
    guarded = call(restricted(name)(5), view)
    plain = call(build(name, 5), view)
    assert guarded == plain
