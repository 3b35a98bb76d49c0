"""Child-process entry: serve one GGUF model over an OpenAI-compatible HTTP API.

Run as ``python -m engine.llm.local._serve`` by :class:`LocalServer`, so the
engine process itself never loads llama.cpp. The parent guards are armed
before the model loads, so a parent killed during a slow load still takes the
server with it. Readiness is reported by writing the listening address to
``--ready-file`` (atomically); the parent then confirms with ``/health``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path

from ._parent_watch import watch_parent

__all__ = ["build_parser", "main", "write_ready_file"]

EXIT_START_FAILED = 3


def build_parser() -> argparse.ArgumentParser:
    """The launcher contract: every server command accepts exactly these options."""
    parser = argparse.ArgumentParser(prog="python -m engine.llm.local._serve")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free loopback port")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--death-signal", action="store_true", help="arm PR_SET_PDEATHSIG")
    parser.add_argument("--ready-file", required=True, type=Path)
    return parser


def write_ready_file(path: Path, listening_address: str) -> None:
    """Publish the address under a temporary name first: the parent never reads half a file."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps({"address": listening_address.rstrip("/"), "pid": os.getpid()}))
    os.replace(temp, path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    watch_parent(args.parent_pid, use_death_signal=args.death_signal)

    import xllamacpp  # loaded only here, in the child

    params = xllamacpp.CommonParams()
    params.model.path = str(args.model)
    params.n_ctx = args.n_ctx
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    try:
        server = xllamacpp.Server(params)  # returns once the model is loaded and listening
    except RuntimeError as error:
        print(f"local-server-start-failed: {error} (model {args.model})", file=sys.stderr, flush=True)
        return EXIT_START_FAILED
    write_ready_file(args.ready_file, server.listening_address)
    print(f"serving {args.model} on {server.listening_address}", file=sys.stderr, flush=True)
    # The HTTP server runs on llama.cpp's own threads; this one only keeps the process alive.
    # The parent stops it with SIGKILL to the process group.
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
