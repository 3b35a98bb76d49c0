"""A stand-in model server honouring the launcher contract of ``engine.llm.local._serve``.

It parses the same options, arms the same parent guards, writes the same ready
file and answers ``/health`` and ``/v1/chat/completions`` like an
OpenAI-compatible server, without loading any model. What it does is chosen by
the model file's text after the ``GGUF`` magic (the launcher's argv is fixed):

* ``ok``: serve.
* ``fail``: exit with an error before becoming ready.
* ``hang``: never become ready.
* ``slow``: become ready after 30 s (a long model load).

Each server also starts a ``sleep`` grandchild in its process group, so a test
can check that the whole group is killed, not just the leader.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from engine.llm.local._parent_watch import watch_parent
from engine.llm.local._serve import build_parser, write_ready_file

FAKE_COMPLETION = {"answer": "fake"}


class _Handler(BaseHTTPRequestHandler):
    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._reply(200, {"status": "ok"})
        elif self.path == "/debug/env":
            self._reply(200, {"keys": sorted(os.environ)})
        elif self.path == "/v1/models":
            self._reply(
                200, {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "test"}]}
            )
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/chat/completions":
            self._reply(404, {"error": "not found"})
            return
        self._reply(
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": json.dumps(FAKE_COMPLETION)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )

    def log_message(self, *args: object) -> None:
        pass


def main() -> int:
    args = build_parser().parse_args()
    watch_parent(args.parent_pid, use_death_signal=args.death_signal)
    mode = Path(args.model).read_bytes()[4:].decode().strip()
    subprocess.Popen(["sleep", "300"])  # a grandchild in our process group
    print(f"fake server pid={os.getpid()} mode={mode}", flush=True)
    if mode == "fail":
        print("fake-load-error: cannot load this model", file=sys.stderr, flush=True)
        return 3
    if mode == "hang":
        threading.Event().wait()
    if mode == "slow":
        time.sleep(30)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), _Handler)
    host, port = httpd.server_address[:2]
    write_ready_file(args.ready_file, f"http://{host}:{port}")
    httpd.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
