"""The verify child: load one candidate and run its conformance suite.

Reads one JSON request on stdin, writes one JSON reply on stdout. Runs under
the limits of :mod:`sandbox._child`; a bomb kills this process, not the host.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any

__all__ = ["main", "resolve"]


def resolve(reference: str) -> Any:
    """``"package.module:qualname"`` to the object it names."""
    module_name, _, qualname = reference.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _stage_dict(stage: Any) -> dict[str, Any]:
    return {"stage": stage.stage, "ok": stage.ok, "duration_s": stage.duration_s, "details": stage.details,
            "counterexample": stage.counterexample, "violations": [v.__dict__ for v in stage.violations]}


def _verify(request: dict[str, Any], build: Any) -> dict[str, Any]:
    from ._conformance import check_hook
    from ._records import StageResult, Violation

    start = time.perf_counter()
    try:
        if request["hook"]:
            check_hook(request["hook"], build, max_examples=request["max_examples"])
        elif request["verify"]:
            resolve(request["verify"])(build)
        else:
            protocol = resolve(request["protocol"])
            instance = build(0)
            if not isinstance(instance, protocol):
                raise AssertionError(f"build(0) returned {type(instance).__name__}, which does not "
                                     f"implement {protocol.__name__}")
    except BaseException as error:  # the candidate's own exceptions included
        notes = getattr(error, "__notes__", None)
        example = "\n".join(str(n) for n in notes) if notes else None
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        code = text.split(":", 1)[0] if text.split(":", 1)[0] in (
            "call-timeout", "wrong-return-type", "not-deterministic", "missing-method") else "call-raised"
        message = text.split(": ", 1)[-1] if code != "call-raised" else (
            f"the mechanism raised {type(error).__name__}: {error}; it must not raise on valid input")
        violation = Violation(code, 0, 0, message)
        return _stage_dict(StageResult("verify", False, time.perf_counter() - start, (violation,),
                                       counterexample=example))
    return _stage_dict(StageResult("verify", True, time.perf_counter() - start))


def main() -> None:
    from ._compile import compile_stage
    from ._loader import load_stage
    from ._policy import policy_from_dict

    request = json.loads(sys.stdin.readline())
    policy = policy_from_dict(request["policy"])
    stages = []
    compiled = compile_stage(request["source"], request["name"])
    loaded = load_stage(compiled.value, request["name"], policy=policy, entry_point=request["entry_point"]) \
        if compiled.ok else compiled
    stages.append(_stage_dict(loaded))
    if loaded.ok and request["run_suite"]:
        stages.append(_verify(request, getattr(loaded.value, request["entry_point"])))
    sys.stdout.write(json.dumps({"stages": stages}) + "\n")
    sys.stdout.flush()
