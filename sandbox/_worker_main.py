"""The admission worker process: the static stages on untrusted text.

Started by :class:`sandbox._worker.AdmissionWorker` under the limits of
:mod:`sandbox._child`. It prints one ``{"ready": true}`` line once the parser
is imported, then answers each JSON request line (``source``, ``policy``,
``entry_point``) with one JSON reply line: the parse, guard and compile stage
records as plain data, the source the later stages must use, and the CPU time
this process has used. Code objects and parse trees stay here. A crash or hang
of this process costs the caller one admission, never the caller itself.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from ._records import StageResult, Violation

__all__ = ["MAX_MESSAGE_CHARS", "main", "stage_to_wire", "static_stages"]

MAX_MESSAGE_CHARS = 2_000
_CRASH_ADVICE = {
    "parse": "simplify unusual whitespace, line continuations and deeply repeated constructs",
    "guard": "flatten deeply nested or very long chains of statements (long elif chains, nested functions)",
    "compile": "flatten deeply nested or very long chains of statements and expressions",
}


def _shielded(stage: str, run: Callable[[], StageResult]) -> StageResult:
    """Run one stage; any exception it lets out becomes a ``<stage>-crashed`` record."""
    start = time.perf_counter()
    try:
        return run()
    except Exception as error:  # noqa: BLE001 - RecursionError, MemoryError, libcst's own errors, anything
        message = (f"the {stage} stage failed on this source ({type(error).__name__}); "
                   f"{_CRASH_ADVICE[stage]}")
        violation = Violation(f"{stage}-crashed", 0, 0, message)
        return StageResult(stage, False, time.perf_counter() - start, (violation,))


def static_stages(source: str, policy: Any, entry_point: str) -> tuple[list[StageResult], str]:
    """Parse, guard and restricted-compile ``source`` in this process.

    Returns the stage records and the text the later stages use: the guard may
    hand back a rewritten source (the original without its ``__main__`` block)
    as a str ``value``; otherwise the original. The compile stage sees that text,
    under the module name derived from it. Never raises."""
    from ._admit import module_name
    from ._compile import compile_stage
    from ._guard import guard_stage
    from ._parse import parse_stage

    stages = [_shielded("parse", lambda: parse_stage(source, policy))]
    if not stages[0].ok:
        return stages, source
    parsed = stages[0].value
    guarded = _shielded("guard", lambda: guard_stage(parsed, policy, entry_point, source=source))
    stages.append(guarded)
    text = guarded.value if isinstance(guarded.value, str) else source
    stages.append(_shielded("compile", lambda: compile_stage(text, module_name(text)[0])))
    return stages, text


def stage_to_wire(stage: StageResult) -> dict[str, Any]:
    """Plain JSON form of a stage record, messages cut to :data:`MAX_MESSAGE_CHARS`."""
    return {
        "stage": stage.stage, "ok": stage.ok, "duration_s": stage.duration_s,
        "details": stage.details[:MAX_MESSAGE_CHARS],
        "violations": [[v.code, v.line, v.col, v.message[:MAX_MESSAGE_CHARS]] for v in stage.violations],
    }


def _answer(line: bytes) -> dict[str, Any]:
    from ._policy import policy_from_dict

    try:
        request = json.loads(line)
        policy = policy_from_dict(request["policy"])
        source, entry_point = request["source"], request["entry_point"]
        if not (isinstance(source, str) and isinstance(entry_point, str)):
            raise TypeError("source and entry_point must be str")
    except Exception as error:  # noqa: BLE001 - a malformed request is answered, not fatal
        return {"error": f"malformed request ({type(error).__name__})"}
    stages, text = static_stages(source, policy, entry_point)
    return {"stages": [stage_to_wire(s) for s in stages], "source": text if text != source else None}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_WARM_UP = "import os\n\n\ndef build(seed):\n    return f'{seed!r:>4}' + '{}'.format(seed)\n"


def main() -> None:
    # Replies go to a private copy of the stdout pipe; anything else that writes
    # to fd 1 (a library's print) lands on stderr, which the parent discards.
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    from . import _compile, _guard, _parse  # noqa: F401 - imported before "ready", so requests are fast
    from ._confine import confine
    from ._policy import DEFAULT_POLICY

    # Every path of the pipeline once (a violation takes the positioned guard pass), so
    # nothing is imported later; then the kernel layers, as in a mechanism process: a
    # parser bug that a crafted text turns into code execution finds no files, programs
    # or sockets.
    static_stages(_WARM_UP, DEFAULT_POLICY, "build")
    confinement = confine()

    def send(reply: dict[str, Any]) -> None:
        reply["cpu_s"] = _cpu_seconds()
        replies.write(json.dumps(reply).encode() + b"\n")

    send({"ready": True, "confinement": confinement})
    for line in sys.stdin.buffer:
        try:
            reply = _answer(line)
        except Exception as error:  # noqa: BLE001 - the worker answers every request it can
            reply = {"error": f"internal error ({type(error).__name__})"}
        send(reply)
