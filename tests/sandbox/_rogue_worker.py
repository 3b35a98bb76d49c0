"""An admission worker that misbehaves on request, for the worker tests.

Started by :class:`sandbox._worker.AdmissionWorker` in place of
``sandbox._worker_main``. It says ready, then acts on the first line of each
request's source: ``# rogue: <mode>``. Any other source gets a well-formed
reply with one clean parse stage."""

from __future__ import annotations

import json
import os
import sys
import time


def _clean(_request_source: str, **extra) -> dict:
    reply = {"stages": [{"stage": "parse", "ok": True, "duration_s": 0.0, "details": "", "violations": []}],
             "source": None, "cpu_s": 0.0}
    reply.update(extra)
    return reply


def _act(mode: str, source: str, out) -> None:
    if mode == "crash":
        import ctypes

        ctypes.string_at(0)  # SIGSEGV, like a crash inside a native parser
    elif mode == "exit":
        os._exit(3)
    elif mode == "hang":
        time.sleep(3600)
    elif mode == "flood":
        while True:
            out.write(b"x" * 65_536)  # never a newline
    elif mode == "long-message":
        reply = _clean(source)
        reply["stages"][0].update(ok=False, violations=[["syntax-error", 1, 0, "m" * 200_000]])
        out.write(json.dumps(reply).encode() + b"\n")
    elif mode == "garbage":
        out.write(b"this is not json\n")
    elif mode == "two-replies":
        out.write((json.dumps(_clean(source)) + "\n").encode() * 2)
    elif mode == "bad-shape":
        reply = _clean(source)
        reply["stages"][0]["violations"] = [["syntax-error", "one", 0, "line is not a number"]]
        out.write(json.dumps(reply).encode() + b"\n")
    elif mode == "rewrite":
        out.write(json.dumps(_clean(source, source=source.split("\n", 1)[1])).encode() + b"\n")
    elif mode == "grow":
        out.write(json.dumps(_clean(source, source=source + "\nextra = 1\n")).encode() + b"\n")
    elif mode == "tired":
        out.write(json.dumps(_clean(source, cpu_s=10_000.0)).encode() + b"\n")
    else:
        out.write(json.dumps(_clean(source)).encode() + b"\n")


def main() -> None:
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    out.write(b'{"ready": true}\n')
    for line in sys.stdin.buffer:
        source = json.loads(line)["source"]
        first = source.split("\n", 1)[0]
        _act(first.removeprefix("# rogue: ") if first.startswith("# rogue: ") else "", source, out)
