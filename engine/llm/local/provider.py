"""The ``local`` provider: a :class:`LocalServer` plus the one OpenAI-compatible client.

There is no second code path for the local model: requests go through the
same openai + instructor provider as any hosted endpoint (as ``llamacpp``,
strict ``json_schema`` answers). This wrapper only keeps the server alive: it
checks the server before every request and, when a request fails because the
server went away, lets the server restart once and asks again. A second death
stops the run cleanly with ``local-server-died``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from interfaces import ProviderError

from .server import server_for_run
from .weights import DEFAULT_MODEL, MODELS

__all__ = ["LocalProvider", "local_provider", "MAX_OUTPUT_TOKENS", "REQUEST_TIMEOUT_S"]

_SERVER_GONE = ("provider-unavailable", "provider-timeout")
#: A 1.5B model writing a mechanism on two CPU cores needs about 180 s when the machine is quiet
#: (300 tokens of code after a 2500-token prompt) and several times that when it is not.
REQUEST_TIMEOUT_S = 900.0
#: The longest answer, a Generate round's 8000 characters of code, is about 2500 tokens. A small model
#: that loops is stopped here instead of filling the whole context (minutes at a few tokens a second).
MAX_OUTPUT_TOKENS = 3072


class LocalProvider:
    name = "local"

    def __init__(self, inner: Any, server: Any, label: str) -> None:
        self.inner = inner
        self.server = server
        self.model = label

    def describe(self) -> str:
        return (f"local model {self.model} served by llama.cpp on {self.server.base_url} "
                f"(a real language model on this machine; no key, no network)")

    def ask(self, request: Any, response_model: Any) -> Any:
        self.server.ensure_alive()
        try:
            return self.inner.ask(request, response_model)
        except ProviderError as exc:
            if exc.code not in _SERVER_GONE:
                raise
            restarts = self.server.restarts
            self.server.ensure_alive()  # raises local-server-died after the one restart is spent
            if self.server.restarts == restarts:
                raise
            return self.inner.ask(request, response_model)


@contextlib.contextmanager
def local_provider(model: str | None, *, run_dir: Path, model_path: str | None = None, ledger: Any = None,
                   record: Path | None = None, threads: int = 2, timeout_s: float = REQUEST_TIMEOUT_S,
                   max_attempts: int = 1, max_output_tokens: int = MAX_OUTPUT_TOKENS,
                   log_name: str | None = None, **server_options: Any) -> Iterator[Any]:
    """Start the server for a run, yield the provider, stop the server on every exit path.

    ``threads`` are the server's llama.cpp threads: on cores shared with other
    busy processes one thread is faster than two (they wait for each other at
    every step). Requests wait ``timeout_s`` and are tried ``max_attempts``
    times: a retry starts the generation over, and a dead server is restarted
    by this provider, not by retrying. An answer stops at ``max_output_tokens``.
    The server's log is ``run_dir/local-model.log``, or ``run_dir/<log_name>``
    (a run with a second model for some level logs each server apart).
    """
    from engine.llm import RecordingProvider, make_provider

    name = model or DEFAULT_MODEL
    label = Path(model_path).name if model_path else name
    server = server_for_run(name, run_dir=run_dir, model_path=model_path, threads=threads, log_name=log_name,
                            **server_options)
    with server:
        served = MODELS[name].filename if not model_path and name in MODELS else label
        inner = make_provider("llamacpp", model=served, base_url=server.base_url, ledger=ledger,
                              timeout_s=timeout_s, max_attempts=max_attempts, max_output_tokens=max_output_tokens)
        provider: Any = LocalProvider(inner, server, label)
        if record is not None:
            provider = RecordingProvider(provider, record)
        yield provider
