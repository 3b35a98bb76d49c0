"""The mechanism host process: loads admitted mechanisms and answers calls.

One JSON request per line on stdin, one JSON reply per line on a private
copy of stdout (fd 1 itself is pointed at /dev/null so nothing else can
corrupt the channel). Exits when stdin reaches end of file, i.e. when the
parent goes away.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

__all__ = ["main"]


class _Mechanism:
    def __init__(self, instance: Any, method: str, hint: Any, budget_s: float) -> None:
        self.instance = instance
        self.method = method
        self.hint = hint
        self.budget_s = budget_s
        self.calls = 0


def _load(request: dict[str, Any], mechanisms: dict[str, _Mechanism]) -> dict[str, Any]:
    from ._compile import compile_stage
    from ._loader import load_stage
    from ._plain import return_annotation
    from ._policy import policy_from_dict
    from ._verify_child import resolve

    compiled = compile_stage(request["source"], request["name"])
    if not compiled.ok:
        return {"ok": False, "code": "load-failed", "message": str(compiled.violations[0])}
    name = request["name"]
    if name not in sys.modules:
        loaded = load_stage(compiled.value, name, policy=policy_from_dict(request["policy"]),
                            entry_point=request["entry_point"])
        if not loaded.ok:
            return {"ok": False, "code": "load-failed", "message": str(loaded.violations[0])}
    module = sys.modules[name]
    protocol = resolve(request["protocol"])
    try:
        instance = getattr(module, request["entry_point"])(request["seed"])
    except BaseException as error:  # untrusted constructor
        return {"ok": False, "code": "build-raised", "message": f"{type(error).__name__}: {error}"[:500]}
    if not callable(getattr(instance, request["method"], None)):
        return {"ok": False, "code": "missing-method", "message": f"no method {request['method']}()"}
    mechanisms[request["handle"]] = _Mechanism(instance, request["method"],
                                               return_annotation(protocol, request["method"]),
                                               request["budget_s"])
    return {"ok": True}


def _call(request: dict[str, Any], mechanisms: dict[str, _Mechanism]) -> dict[str, Any]:
    from ._codec import decode_argument
    from ._plain import is_plain, matches_annotation

    mechanism = mechanisms.get(request["handle"])
    if mechanism is None:
        return {"ok": False, "code": "not-loaded", "message": "no such mechanism in the host"}
    args = [decode_argument(a) for a in request["args"]]
    mechanism.calls += 1
    start = time.perf_counter()
    try:
        value = getattr(mechanism.instance, mechanism.method)(*args)
    except BaseException as error:  # SystemExit, RecursionError, MemoryError, anything
        return {"ok": False, "code": "call-raised", "calls": mechanism.calls,
                "duration_s": time.perf_counter() - start,
                "message": f"{type(error).__name__}: {error}"[:500]}
    duration = time.perf_counter() - start
    if not is_plain(value) or not matches_annotation(value, mechanism.hint):
        return {"ok": False, "code": "wrong-return-type", "calls": mechanism.calls, "duration_s": duration,
                "message": f"returned a {type(value).__name__}, expected plain data matching {mechanism.hint}"}
    if duration > mechanism.budget_s:
        return {"ok": False, "code": "call-timeout", "calls": mechanism.calls, "duration_s": duration,
                "message": f"the call took {duration:.3f} s; the budget is {mechanism.budget_s} s"}
    return {"ok": True, "value": value, "calls": mechanism.calls, "duration_s": duration}


def _unload(request: dict[str, Any], mechanisms: dict[str, _Mechanism]) -> dict[str, Any]:
    from ._loader import unload

    mechanisms.pop(request["handle"], None)
    if request.get("name") and not any(h.split("#")[0] == request["name"] for h in mechanisms):
        unload(request["name"])
    return {"ok": True}


def _modules(request: dict[str, Any], mechanisms: dict[str, _Mechanism]) -> dict[str, Any]:
    """Mechanism modules present in this process's sys.modules (to prove a revert left no trace)."""
    return {"ok": True, "value": sorted(name for name in sys.modules if name.startswith("mechanism_"))}


_OPERATIONS = {"load": _load, "call": _call, "unload": _unload, "modules": _modules,
               "ping": lambda r, m: {"ok": True}}


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the host
    # Pre-import everything a mechanism may use, before any untrusted code runs.
    from . import _codec, _compile, _environment, _loader, _plain  # noqa: F401
    from ._policy import MODULE_EXPORTS
    for module in MODULE_EXPORTS:
        __import__(module)

    mechanisms: dict[str, _Mechanism] = {}
    for line in sys.stdin:
        try:
            request = json.loads(line)
            reply = _OPERATIONS[request["op"]](request, mechanisms)
            text = json.dumps(reply)
        except BaseException as error:  # a broken request must not end the host
            text = json.dumps({"ok": False, "code": "host-error", "message": f"{type(error).__name__}: {error}"[:500]})
        channel.write(text + "\n")
        channel.flush()
    os._exit(0)  # stdin closed: the parent is gone or done
