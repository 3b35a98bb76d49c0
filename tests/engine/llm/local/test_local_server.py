"""LocalServer lifecycle against a fake OpenAI-compatible server (no model needed)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

from engine.llm.local import (
    MODELS,
    SERVER_LOG_NAME,
    LocalServer,
    LocalServerError,
    ModelFileError,
    ModelNotInstalledError,
    server_for_run,
)
from interfaces.errors import ConfigError

from ._helpers import (
    FAKE_LAUNCHER,
    PROJECT_ROOT,
    live_group_members,
    wait_until_dead,
    wait_until_group_gone,
    wait_until_no_process_mentions,
)

ModelFactory = Callable[[str], Path]


def fake_server(model: Path, tmp_path: Path, **options: object) -> LocalServer:
    options.setdefault("startup_timeout_s", 60.0)
    return LocalServer(model, launcher=FAKE_LAUNCHER, log_path=tmp_path / "run" / "server.log", **options)


def test_serves_an_openai_client_and_stops_the_whole_group(fake_model: ModelFactory, tmp_path: Path) -> None:
    with fake_server(fake_model("ok"), tmp_path) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", server.base_url)
        pgid = server.pid
        assert pgid is not None and len(live_group_members(pgid)) == 2  # the server and its grandchild
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        reply = client.chat.completions.create(model="local", messages=[{"role": "user", "content": "hi"}])
        assert json.loads(reply.choices[0].message.content or "") == {"answer": "fake"}
        assert server.ensure_alive() == server.base_url
    assert wait_until_group_gone(pgid) == []
    assert "fake server pid=" in (tmp_path / "run" / "server.log").read_text()
    with pytest.raises(LocalServerError) as caught:
        _ = server.base_url
    assert caught.value.code == "local-server-not-running"


def test_server_gets_no_secrets_from_the_engine_environment(
    fake_model: ModelFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("GGML_SCHED_MAX_COPIES", "1")
    with fake_server(fake_model("ok"), tmp_path) as server:
        address = server.base_url.removesuffix("/v1")
        with urllib.request.urlopen(f"{address}/debug/env", timeout=10) as response:
            keys = set(json.load(response)["keys"])
    assert {"OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY"}.isdisjoint(keys)
    assert {"PATH", "PYTHONPATH", "GGML_SCHED_MAX_COPIES"} <= keys


def test_missing_or_non_gguf_model_fails_before_spawning(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError) as caught:
        LocalServer(tmp_path / "absent.gguf", launcher=FAKE_LAUNCHER)
    assert caught.value.code == "model-not-found"
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    with pytest.raises(ModelFileError) as caught:
        LocalServer(text, launcher=FAKE_LAUNCHER)
    assert caught.value.code == "model-not-gguf"


def test_server_that_exits_while_starting_is_reported_not_waited_for(
    fake_model: ModelFactory, tmp_path: Path
) -> None:
    server = fake_server(fake_model("fail"), tmp_path, startup_timeout_s=120.0)
    with pytest.raises(LocalServerError) as caught:
        server.start()
    # A hang would have ended in the timeout code instead.
    assert caught.value.code == "local-server-start-failed"
    assert "exited with code 3" in caught.value.message
    assert "fake-load-error: cannot load this model" in caught.value.message
    assert str(server.log_path) in caught.value.message
    assert server.pid is None


def test_server_that_never_becomes_ready_times_out_and_is_killed(
    fake_model: ModelFactory, tmp_path: Path
) -> None:
    model = fake_model("hang")
    # Long enough for the fake to start even on a loaded machine.
    server = fake_server(model, tmp_path, startup_timeout_s=6.0)
    with pytest.raises(LocalServerError) as caught:
        server.start()
    assert caught.value.code == "local-server-start-timeout"
    # On a loaded machine the fake may be killed before it logs its pid: look for it by its model path.
    assert wait_until_no_process_mentions(str(model)) == []


def test_death_mid_run_restarts_once_on_the_same_url_then_stops_the_run(
    fake_model: ModelFactory, tmp_path: Path
) -> None:
    with fake_server(fake_model("ok"), tmp_path) as server:
        url, first = server.base_url, server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert wait_until_dead(first)  # its grandchild lives on until ensure_alive kills the group
        assert server.ensure_alive() == url
        second = server.pid
        assert second is not None and second != first and server.restarts == 1
        assert wait_until_group_gone(first) == []
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        client.chat.completions.create(model="local", messages=[{"role": "user", "content": "again"}])

        os.kill(second, signal.SIGKILL)
        assert wait_until_dead(second)
        with pytest.raises(LocalServerError) as caught:
            server.ensure_alive()
        assert caught.value.code == "local-server-died"
        assert "after 1 restart(s)" in caught.value.message
        assert wait_until_group_gone(second) == []
        assert server.pid is None
    assert "restart 1" in server.log_path.read_text()


@pytest.mark.parametrize("error", [RuntimeError("engine bug"), KeyboardInterrupt()])
def test_any_exception_in_the_block_stops_the_server(
    fake_model: ModelFactory, tmp_path: Path, error: BaseException
) -> None:
    with pytest.raises(type(error)), fake_server(fake_model("ok"), tmp_path) as server:
        pgid = server.pid
        raise error
    assert pgid is not None and wait_until_group_gone(pgid) == []


@pytest.mark.usefixtures("sigint_as_a_terminal_sends_it")
def test_ctrl_c_during_a_slow_load_leaves_nothing_behind(fake_model: ModelFactory, tmp_path: Path) -> None:
    server = fake_server(fake_model("slow"), tmp_path)
    log = server.log_path
    def interrupt_once_loading() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "pid=" not in (log.read_text() if log.exists() else ""):
            time.sleep(0.05)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    timer = threading.Timer(0.0, interrupt_once_loading)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            server.start()
    finally:
        timer.cancel()
    assert wait_until_no_process_mentions(str(server.model_path)) == []


@contextlib.contextmanager
def _squat(port: int, timeout_s: float = 10.0) -> Iterator[socket.socket]:
    """Listen on ``port``; retried briefly, as the dead server's connections may still hold it."""
    deadline = time.monotonic() + timeout_s
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        while True:
            try:
                squatter.bind(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        squatter.listen()
        yield squatter


def test_restart_moves_to_a_free_port_when_the_old_one_is_taken(
    fake_model: ModelFactory, tmp_path: Path
) -> None:
    with fake_server(fake_model("ok"), tmp_path) as server:
        old_url, first = server.base_url, server.pid
        assert first is not None
        port = int(old_url.rsplit(":", 1)[1].removesuffix("/v1"))
        os.kill(first, signal.SIGKILL)
        assert wait_until_dead(first)
        with _squat(port):
            new_url = server.ensure_alive()
            assert new_url != old_url and new_url == server.base_url
            client = openai.OpenAI(base_url=new_url, api_key="unused", max_retries=0)
            client.chat.completions.create(model="local", messages=[{"role": "user", "content": "moved"}])
        assert server.restarts == 1


def test_a_restart_that_cannot_start_ends_the_run(fake_model: ModelFactory, tmp_path: Path) -> None:
    model = fake_model("ok")
    with fake_server(model, tmp_path) as server:
        first = server.pid
        assert first is not None
        model.write_bytes(b"GGUFfail")  # the next launch fails, on any port
        os.kill(first, signal.SIGKILL)
        assert wait_until_dead(first)
        with pytest.raises(LocalServerError) as caught:
            server.ensure_alive()
        assert caught.value.code == "local-server-died"
        assert "did not come back" in caught.value.message
        assert server.pid is None


_PARENT = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path
    from engine.llm.local import LocalServer
    model, log, launcher, in_thread = sys.argv[1], sys.argv[2], sys.argv[3:5], sys.argv[5] == "thread"
    server = LocalServer(model, launcher=launcher, log_path=log, startup_timeout_s=60)
    if in_thread:
        # The starting thread ends at once: the server must outlive it, and die only with the process.
        worker = threading.Thread(target=server.start)
        worker.start()
        worker.join()
    else:
        server.start()
    print(server.pid, flush=True)
    time.sleep(600)
    """
)


def _spawn_parent(model: Path, log: Path, how: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    argv = [sys.executable, "-c", _PARENT, str(model), str(log), *FAKE_LAUNCHER, how]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env, cwd=PROJECT_ROOT)


@pytest.mark.parametrize("how", ["main", "thread"])
def test_sigkilled_engine_leaves_no_server_behind(fake_model: ModelFactory, tmp_path: Path, how: str) -> None:
    parent = _spawn_parent(fake_model("ok"), tmp_path / "server.log", how)
    try:
        assert parent.stdout is not None
        pgid = int(parent.stdout.readline())
        time.sleep(0.5)  # past the starting thread's end
        assert len(live_group_members(pgid)) == 2
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert wait_until_group_gone(pgid) == []
    finally:
        parent.kill()
        parent.wait()


def test_sigkilled_engine_during_model_load_leaves_no_server_behind(
    fake_model: ModelFactory, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    parent = _spawn_parent(fake_model("slow"), log, "main")
    try:
        deadline = time.monotonic() + 30
        while not (match := re.search(r"pid=(\d+)", log.read_text() if log.exists() else "")):
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.05)
        pgid = int(match.group(1))
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert wait_until_group_gone(pgid) == []
    finally:
        parent.kill()
        parent.wait()


@pytest.mark.parametrize(
    "setting", [{"threads": 0}, {"n_ctx": 0}, {"startup_timeout_s": 0.0}, {"max_restarts": -1}]
)
def test_invalid_settings_are_rejected(fake_model: ModelFactory, setting: dict[str, float]) -> None:
    with pytest.raises(ConfigError) as caught:
        LocalServer(fake_model("ok"), launcher=FAKE_LAUNCHER, **setting)  # type: ignore[arg-type]
    assert caught.value.code == "invalid-server-setting"
    assert next(iter(setting)) in caught.value.message


def test_server_for_run_logs_into_the_run_directory(fake_model: ModelFactory, tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    server = server_for_run(model_path=fake_model("ok"), run_dir=run_dir, launcher=FAKE_LAUNCHER)
    assert server.pid is None  # not started yet
    with server:
        assert server.ensure_alive() == server.base_url
    assert "fake server pid=" in (run_dir / SERVER_LOG_NAME).read_text()


def test_server_for_run_fails_before_any_process_without_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in MODELS["qwen-1.5b"].part_modules:
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ModelNotInstalledError):
        server_for_run("qwen-1.5b", run_dir=tmp_path / "run", cache_dir=tmp_path / "empty-cache")
    assert not (tmp_path / "run").exists()
