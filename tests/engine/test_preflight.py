"""A provider that cannot answer stops the run before anything trains, with one line that says what to fix.

The servers here are real sockets on 127.0.0.1: a port that was bound and closed (nothing listens), and a
small HTTP server that answers the model list the way a refusing or a listing server does.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.llm import make_provider
from engine.run import app
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import AutoresearchError, ProviderError

QUAD = Path(__file__).parent / "data" / "quad.py"
OPTIONS = {"path": str(QUAD), "metric": "loss", "budget_s": 10.0}


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: bound, then closed."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-preflight-test")


def _serve(status: int, body: dict) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _preflight_code(base_url: str, model: str, endpoint: str = "openai") -> str | None:
    provider = make_provider(endpoint, model=model, base_url=base_url)
    try:
        provider.preflight()  # type: ignore[attr-defined]
    except ProviderError as exc:
        return exc.code
    return None


def _trials(run_dir: Path, run_id: str) -> list:
    with RunStore.open(run_dir) as store:
        return store.trials(run_id)


def test_a_closed_port_fails_the_run_before_the_baseline_trains(tmp_path, closed_port, key):
    settings = RunSettings(task="script", task_options=OPTIONS, provider="openai", model="gpt-4o-mini",
                           base_url=f"http://127.0.0.1:{closed_port}/v1", iterations=3)
    run = Run.create(settings, tmp_path)
    with pytest.raises(AutoresearchError) as failed:
        run.execute()
    assert failed.value.code == "provider-unreachable"
    assert "--base-url" in failed.value.message and "start the server" in failed.value.message
    assert len(_trials(run.run_dir, run.run_id)) == 0  # not even the baseline
    assert not (run.run_dir / "trials").exists() or not any((run.run_dir / "trials").iterdir())
    with RunStore.open(run.run_dir) as store:
        record = store.run(run.run_id)
    assert record.status == "failed"
    assert "provider-unreachable" in record.note


def test_the_command_line_says_it_in_one_line_with_the_code(tmp_path, closed_port, key):
    result = CliRunner().invoke(app, ["script", str(QUAD), "--metric", "loss", "--provider", "openai",
                                      "--base-url", f"http://127.0.0.1:{closed_port}/v1", "--iterations", "2",
                                      "--run-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "[provider-unreachable]" in errors[0], result.output
    assert f"127.0.0.1:{closed_port}" in errors[0]


def test_an_unknown_host_is_unreachable_too(key):
    assert _preflight_code("http://no-such-host.invalid/v1", "gpt-4o-mini") == "provider-unreachable"


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_provider_auth(key, status):
    for url in _serve(status, {"error": {"message": "invalid api key"}}):
        assert _preflight_code(url, "gpt-4o-mini") == "provider-auth"


def test_a_server_error_is_unreachable(key):
    for url in _serve(503, {"error": {"message": "loading"}}):
        assert _preflight_code(url, "gpt-4o-mini") == "provider-unreachable"


def test_a_model_the_server_does_not_list_is_model_not_found(key):
    listing = {"object": "list", "data": [{"id": "qwen2.5-coder", "object": "model", "created": 0,
                                           "owned_by": "me"}]}
    for url in _serve(200, listing):
        assert _preflight_code(url, "gpt-4o-mini") == "model-not-found"
        assert _preflight_code(url, "qwen2.5-coder") is None
        # llama.cpp's server answers under any model name, so its list is not held against the name
        assert _preflight_code(url, "default", endpoint="llamacpp") is None


@pytest.mark.parametrize("status", [404, 501])
def test_a_server_that_does_not_list_models_passes(key, status):
    for url in _serve(status, {"error": {"message": "not found"}}):
        assert _preflight_code(url, "gpt-4o-mini") is None


def test_a_recording_provider_checks_the_provider_it_wraps(tmp_path, closed_port, key):
    provider = make_provider("openai", model="gpt-4o-mini", base_url=f"http://127.0.0.1:{closed_port}/v1",
                             record=tmp_path / "transcript.jsonl")
    with pytest.raises(ProviderError) as failed:
        provider.preflight()  # type: ignore[attr-defined]
    assert failed.value.code == "provider-unreachable"


def test_proposals_that_cannot_reach_the_provider_stop_the_run(tmp_path, wrap_provider):
    from engine.levels.inner import UNREACHABLE_LIMIT

    asked: list[str] = []

    def gone(inner, request, response_model):
        if request.purpose == "propose":
            asked.append(request.purpose)
            raise ProviderError("propose call failed after 4 request(s): APIConnectionError: Connection error.",
                                code="provider-unavailable")
        return inner.ask(request, response_model)

    wrap_provider(gone)
    settings = RunSettings(task="script", task_options=OPTIONS, provider="heuristic", iterations=4, levels=("1",))
    run = Run.create(settings, tmp_path)
    with pytest.raises(AutoresearchError) as stopped:
        run.execute()
    assert stopped.value.code == "provider-unreachable"
    assert len(asked) == UNREACHABLE_LIMIT
    trials = _trials(run.run_dir, run.run_id)
    assert trials[0].decision.value == "baseline"
    rejected = trials[1:]
    assert len(rejected) == UNREACHABLE_LIMIT - 1  # the last failure stops the run instead of being recorded
    assert all(t.reason.startswith("provider-unavailable:") for t in rejected)
    assert not any("malformed-answer" in t.reason for t in rejected)
