"""One mechanism process: loads one admitted mechanism and answers calls.

One JSON request per line on stdin, one JSON reply per line on a private copy
of stdout (fd 1 itself is pointed at /dev/null so ordinary output cannot
corrupt the channel). The parent treats every reply as untrusted data and
checks it itself; this side only does what it must do where the objects live:
run the code, keep only plain data, and say which line of the mechanism
raised. Exits when stdin reaches end of file, i.e. when the parent goes away.

Operations: ``load`` (compile and run the module), ``build`` (call the entry
point with a seed and keep the instance under an id), ``call`` (a public
method of an instance with tagged arguments, some of them relative to what
the process holds from earlier calls: see :mod:`sandbox._argcache`), ``drop`` (forget an instance),
``modules`` (mechanism modules in ``sys.modules``), ``ping``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from ._argcache import ArgumentReceiver, HeldArgumentsMiss
from ._hints import hint  # imported before confinement: a confined process opens no files

__all__ = ["main"]

_MESSAGE_CHARS = 500


class _State:
    def __init__(self) -> None:
        self.name = ""
        self.module: Any = None
        self.entry_point = "build"
        self.instances: dict[int, Any] = {}
        self.confinement = "unconfined"
        self.arguments = ArgumentReceiver()  # the trace, space and config last sent, never handed out


def _mechanism_line(error: BaseException, name: str) -> int:
    """The line of the mechanism's own code nearest the failure, 0 if none."""
    line, filename = 0, f"<{name}>"
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == filename:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _failure(code: str, error: BaseException, name: str, **extra: Any) -> dict[str, Any]:
    text = f"{type(error).__name__}: {error}{hint(error, f'<{name}>')}"
    return {"ok": False, "code": code, "message": text[:_MESSAGE_CHARS], "line": _mechanism_line(error, name),
            **extra}


def _load(request: dict[str, Any], state: _State) -> dict[str, Any]:
    from ._compile import compile_stage
    from ._loader import load_stage
    from ._policy import policy_from_dict

    if state.module is not None:
        return {"ok": False, "code": "already-loaded", "message": "this process already holds a mechanism"}
    compiled = compile_stage(request["source"], request["name"])
    if not compiled.ok:
        first = compiled.violations[0]
        return {"ok": False, "code": first.code, "message": first.message, "line": first.line}
    loaded = load_stage(compiled.value, request["name"], policy=policy_from_dict(request["policy"]),
                        entry_point=request["entry_point"])
    if not loaded.ok:
        first = loaded.violations[0]
        return {"ok": False, "code": first.code, "message": first.message, "line": first.line}
    state.name, state.module, state.entry_point = request["name"], loaded.value, request["entry_point"]
    return {"ok": True, "confinement": state.confinement}


def _public_methods(instance: Any) -> list[str]:
    names = []
    for name in dir(type(instance)):
        if not name.startswith("_") and callable(getattr(instance, name, None)):
            names.append(name)
    return names


def _build(request: dict[str, Any], state: _State) -> dict[str, Any]:
    if state.module is None:
        return {"ok": False, "code": "not-loaded", "message": "no mechanism is loaded"}
    try:
        instance = getattr(state.module, state.entry_point)(request["seed"])
        methods = _public_methods(instance)
    except BaseException as error:  # noqa: BLE001 - untrusted constructor: anything, even SystemExit
        return _failure("build-raised", error, state.name)
    state.instances[int(request["instance"])] = instance
    return {"ok": True, "methods": methods}


def _call(request: dict[str, Any], state: _State) -> dict[str, Any]:
    from ._plain import to_plain

    key, method = int(request["instance"]), request["method"]
    if key not in state.instances:
        return {"ok": False, "code": "not-loaded", "message": "no such instance"}
    instance = state.instances[key]
    if type(method) is not str or method.startswith("_"):
        return {"ok": False, "code": "missing-method", "message": f"{method!r} is not a public method"}
    try:
        args = state.arguments.decode(request["args"], request.get("held"))
    except HeldArgumentsMiss as miss:
        return {"ok": False, "code": miss.code, "message": str(miss)[:_MESSAGE_CHARS]}
    start = time.perf_counter()
    try:
        value = getattr(instance, method)(*args)
    except BaseException as error:  # noqa: BLE001 - SystemExit, RecursionError, MemoryError, anything
        return _failure("call-raised", error, state.name, duration_s=time.perf_counter() - start)
    duration = time.perf_counter() - start
    plain, converted = to_plain(value)
    if not plain:
        return {"ok": False, "code": "wrong-return-type", "duration_s": duration,
                "message": f"returned a {type(value).__name__}; return plain data (None, bool, int, float, "
                           "str, lists and dicts of those)"}
    return {"ok": True, "value": converted, "duration_s": duration}


def _drop(request: dict[str, Any], state: _State) -> dict[str, Any]:
    state.instances.pop(int(request["instance"]), None)
    return {"ok": True}


def _modules(request: dict[str, Any], state: _State) -> dict[str, Any]:
    """Mechanism modules present in this process's sys.modules (to prove a revert left no trace)."""
    return {"ok": True, "value": sorted(name for name in sys.modules if name.startswith("mechanism_"))}


_OPERATIONS = {"load": _load, "build": _build, "call": _call, "drop": _drop, "modules": _modules,
               "ping": lambda r, s: {"ok": True}}


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    # Pre-import everything a mechanism may use, before any untrusted code runs.
    from . import _codec, _compile, _environment, _loader, _plain  # noqa: F401
    from ._policy import MODULE_EXPORTS
    for module in MODULE_EXPORTS:
        __import__(module)
    from ._policy import DEFAULT_POLICY
    _environment.build_globals("mechanism_warm_up", DEFAULT_POLICY)  # first-use costs paid while idle
    from ._confine import confine

    state = _State()
    state.confinement = confine()  # from here on: no files, no processes, no sockets
    for line in sys.stdin:
        try:
            request = json.loads(line)
            reply = _OPERATIONS[request["op"]](request, state)
            text = json.dumps(reply)
        except BaseException as error:  # noqa: BLE001 - a broken request must not end the process
            text = json.dumps({"ok": False, "code": "host-error",
                               "message": f"{type(error).__name__}: {error}"[:_MESSAGE_CHARS]})
        channel.write(text + "\n")
        channel.flush()
    os._exit(0)  # stdin closed: the parent is gone or done
