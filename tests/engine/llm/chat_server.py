"""A real HTTP server on 127.0.0.1 that speaks the chat-completions protocol.

Each request takes the next scripted behaviour: an answer (JSON, as a tool
call when the request offered tools, else as message text; for a request
ending in a pre-filled assistant turn, ``echo_prefix`` answers the way
llama.cpp's server does, with that turn's text followed by the answer), an
HTTP status, or a hang. A request with ``"stream": true`` gets its answer as
server-sent events, ``chunk_chars`` characters to a chunk, with a usage chunk
at the end when it asked for one; :class:`Broken` is such a stream cut off
after some chunks. Every request is kept (headers and JSON body) for the test to
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
    chunk_chars: int = 4  # streamed: the characters of the answer in one chunk
    stream_usage: bool = True  # streamed: a usage chunk at the end, when the request asked for one
    chunk_delay_s: float = 0.0  # streamed: the wait before each chunk, as a model takes time for a token

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


@dataclass(frozen=True)
class Broken:
    """A streamed answer cut off after ``after`` chunks: the connection dropped mid-body, or with ``clean``
    the body properly ended, without the answer's last chunk; with ``error``, an error event (the way a
    server reports a failure once the stream has begun) and then the body's end."""

    answer: Answer
    after: int
    clean: bool = False
    error: str | None = None


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
                if isinstance(behaviour, Broken):
                    events: list[Any] = server.chunks(body, behaviour.answer)[:behaviour.after]
                    if behaviour.error is not None:
                        events.append({"error": {"message": behaviour.error, "type": "server_error"}})
                    self._stream(events, end=behaviour.clean or behaviour.error is not None, delay_s=behaviour.answer.chunk_delay_s)
                    return
                if body.get("stream"):
                    self._stream(server.chunks(body, behaviour) + ["[DONE]"], end=True, delay_s=behaviour.chunk_delay_s)
                    return
                self._send(200, server.completion(body, behaviour))

            def _stream(self, events: list[Any], *, end: bool, delay_s: float = 0.0) -> None:
                # HTTP/1.1 chunked, as real servers stream: a connection dropped before the last chunk is then
                # a broken body to the client, not the end of one.
                self.protocol_version = "HTTP/1.1"
                self.close_connection = True
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for event in events:
                        server._release.wait(delay_s)
                        data = event if isinstance(event, str) else json.dumps(event)
                        piece = f"data: {data}\n\n".encode()
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                        self.wfile.flush()
                    if end:
                        self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

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

    @staticmethod
    def chunks(body: dict[str, Any], answer: Answer) -> list[dict[str, Any]]:
        """The answer as a stream of ``chat.completion.chunk`` objects, the way OpenAI's server streams it."""
        whole = ChatServer.completion(body, answer)
        message, finish = whole["choices"][0]["message"], whole["choices"][0]["finish_reason"]
        calls = message.get("tool_calls")
        text = calls[0]["function"]["arguments"] if calls else message["content"]
        pieces = [text[i:i + answer.chunk_chars] for i in range(0, len(text), answer.chunk_chars)]

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {"id": whole["id"], "object": "chat.completion.chunk", "created": whole["created"],
                    "model": whole["model"], "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                                                          "logprobs": None}]}

        if calls:
            opening = {"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": calls[0]["id"], "type": "function",
                 "function": {"name": calls[0]["function"]["name"], "arguments": ""}}]}
            deltas = [{"tool_calls": [{"index": 0, "function": {"arguments": piece}}]} for piece in pieces]
        else:
            opening = {"role": "assistant", "content": ""}
            deltas = [{"content": piece} for piece in pieces]
        events = [chunk(opening), *(chunk(delta) for delta in deltas), chunk({}, finish)]
        if answer.stream_usage and (body.get("stream_options") or {}).get("include_usage"):
            events.append({**chunk({}), "choices": [], "usage": whole["usage"]})
        return events

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
