"""A real HTTP server on 127.0.0.1 that speaks the chat-completions protocol.

Each request takes the next scripted behaviour: an answer (JSON, as a tool
call when the request offered tools, else as message text; for a request
ending in a pre-filled assistant turn, ``echo_prefix`` answers the way
llama.cpp's server does, with that turn's text followed by the answer), an
HTTP status, or a hang. Every request is kept (headers and JSON body) for the test to
inspect. The server thread and its handler threads are daemon threads and
``close`` releases any hang, so nothing outlives the test.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    text: str
    prompt_tokens: int = 50
    completion_tokens: int = 20
    cached_tokens: int | None = None  # reported as usage.prompt_tokens_details.cached_tokens when given
    echo_prefix: bool = False
    finish_reason: str = "stop"

    @classmethod
    def json(cls, payload: Any, **usage: int) -> Answer:
        return cls(json.dumps(payload), **usage)


@dataclass(frozen=True)
class Status:
    code: int
    message: str = "scripted failure"


@dataclass(frozen=True)
class Raw:
    """Any response: a status, raw body bytes (not necessarily JSON, nor UTF-8) and extra headers."""

    code: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Hang:
    seconds: float


class ChatServer:
    def __init__(self) -> None:
        self.script: deque[Any] = deque()
        self.requests: list[dict[str, Any]] = []
        self.request_times: list[float] = []
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                server.request_times.append(time.monotonic())
                behaviour = server.script.popleft() if server.script else Status(500, "script exhausted")
                if isinstance(behaviour, Hang):
                    server._release.wait(behaviour.seconds)
                    return
                if isinstance(behaviour, Raw):
                    self._send_raw(behaviour.code, behaviour.body, behaviour.headers)
                    return
                if isinstance(behaviour, Status):
                    self._send(behaviour.code, {"error": {"message": behaviour.message, "type": "test"}})
                    return
                self._send(200, server.completion(body, behaviour))

            def _send(self, code: int, payload: dict[str, Any]) -> None:
                self._send_raw(code, json.dumps(payload).encode(), ())

            def _send_raw(self, code: int, data: bytes, headers: tuple[tuple[str, str], ...]) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers:
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def push(self, *behaviours: Any) -> None:
        self.script.extend(behaviours)

    @staticmethod
    def completion(body: dict[str, Any], answer: Answer) -> dict[str, Any]:
        tools = body.get("tools") or []
        if tools:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": tools[0]["function"]["name"], "arguments": answer.text},
                    }
                ],
            }
            finish = "tool_calls"
        else:
            messages = body.get("messages") or [{}]
            prefilled = messages[-1].get("content") if messages[-1].get("role") == "assistant" else None
            text = (prefilled or "") + answer.text if answer.echo_prefix else answer.text
            message = {"role": "assistant", "content": text}
            finish = answer.finish_reason
        usage: dict[str, Any] = {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        }
        if answer.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": answer.cached_tokens}
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "test-model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": usage,
        }

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
