"""Run a local model server as a child process and keep it on a short leash.

:class:`LocalServer` starts the server command (by default
``python -m engine.llm.local._serve``) in its own process group, waits until it
answers ``/health``, and exposes ``base_url`` for any OpenAI-compatible client.
It is stopped on every exit path: the ``with`` block ending normally or by an
exception (``KeyboardInterrupt`` included), interpreter exit, and, because the
child watches its parent, the engine being SIGKILLed. Stopping kills the whole
process group with SIGKILL, since llama.cpp's server ignores SIGTERM.

If the server dies during a run, :meth:`LocalServer.ensure_alive` restarts it
once, on the same port where possible so clients keep their ``base_url``; a
further death raises ``local-server-died`` so the run stops cleanly and can be
resumed.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Self

from interfaces.errors import ConfigError

from ._errors import LocalServerError
from .weights import DEFAULT_MODEL, check_gguf, resolve_model_path

__all__ = ["DEFAULT_LAUNCHER", "DEFAULT_N_CTX", "SERVER_LOG_NAME", "LocalServer", "server_for_run"]

#: Context of the served model. The Level 2 Generate request with its three earlier rounds is about
#: 3000 prompt tokens; a repair round appends the code and the violations to the same conversation,
#: so 4096 left no room for it. 8192 costs 50-120 MB more KV cache for the packaged models.
DEFAULT_N_CTX = 8192

DEFAULT_LAUNCHER: tuple[str, ...] = (sys.executable, "-m", "engine.llm.local._serve")
SERVER_LOG_NAME = "local-model.log"
_POLL_INTERVAL_S = 0.05
_HEALTH_TIMEOUT_S = 2.0
_LOG_TAIL_BYTES = 2000
_PROJECT_ROOT = Path(__file__).resolve().parents[3]


def _log_tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - _LOG_TAIL_BYTES))
            return handle.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _healthy(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"{address}/health", timeout=_HEALTH_TIMEOUT_S) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


_PASSED_ENV = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TMPDIR",
        "LD_LIBRARY_PATH",
        "PYTHONHOME",
        "VIRTUAL_ENV",
    }
)
_PASSED_ENV_PREFIXES = ("GGML_", "LLAMA_", "OMP_")


def _child_env() -> dict[str, str]:
    """What the server needs and nothing more: it has no use for the engine's API keys."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in _PASSED_ENV or key.startswith(_PASSED_ENV_PREFIXES)
    }
    # ``-m engine...`` must resolve to this copy of the project even when the
    # engine was started from another directory without installing it.
    paths = [str(_PROJECT_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


class LocalServer:
    """A model server child process; use as a context manager.

    ``log_path`` defaults to a temporary file, kept for inspection after the
    run; pass a path in the run directory. ``launcher`` is the command prefix; the server options of
    :func:`engine.llm.local._serve.build_parser` are appended to it. Any
    program that honours them (and writes the ready file) can stand in.
    """

    def __init__(
        self,
        model_path: Path | str,
        *,
        threads: int = 2,
        n_ctx: int = DEFAULT_N_CTX,
        log_path: Path | str | None = None,
        startup_timeout_s: float = 120.0,
        max_restarts: int = 1,
        port: int = 0,
        launcher: Sequence[str] = DEFAULT_LAUNCHER,
    ) -> None:
        for name, value, least in (
            ("threads", threads, 1),
            ("n_ctx", n_ctx, 1),
            ("max_restarts", max_restarts, 0),
        ):
            if value < least:
                raise ConfigError(
                    f"{name} must be at least {least}, got {value}", code="invalid-server-setting"
                )
        if startup_timeout_s <= 0:
            raise ConfigError(
                f"startup_timeout_s must be positive, got {startup_timeout_s}", code="invalid-server-setting"
            )
        self.model_path = check_gguf(model_path)
        self.threads = threads
        self.n_ctx = n_ctx
        self.startup_timeout_s = startup_timeout_s
        self.max_restarts = max_restarts
        self.launcher = tuple(launcher)
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="local-model-server-", suffix=".log")
            os.close(fd)
            log_path = name
        self.log_path = Path(log_path)
        self._requested_port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._address: str | None = None
        self._restarts = 0
        self._lock = threading.RLock()

    # -- public surface -------------------------------------------------

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, e.g. ``http://127.0.0.1:PORT/v1``."""
        if self._address is None:
            raise LocalServerError("the local server is not running", code="local-server-not-running")
        return f"{self._address}/v1"

    @property
    def pid(self) -> int | None:
        """The server's pid, which is also its process group id."""
        return self._process.pid if self._process is not None else None

    @property
    def restarts(self) -> int:
        return self._restarts

    def start(self) -> Self:
        with self._lock:
            if self._process is not None:
                raise LocalServerError("the local server is already running", code="local-server-running")
            try:
                self._launch(self._requested_port)
            except BaseException:
                self.stop()
                raise
            atexit.register(self.stop)
            return self

    def ensure_alive(self) -> str:
        """``base_url`` of a live server: restarts a dead one up to ``max_restarts`` times."""
        with self._lock:
            process = self._process
            if process is None:
                raise LocalServerError("the local server is not running", code="local-server-not-running")
            if process.poll() is None:
                return self.base_url
            exit_code = process.returncode
            port = self._port()
            self._kill_group()
            if self._restarts >= self.max_restarts:
                self.stop()
                raise LocalServerError(
                    f"the local model server died again (exit code {exit_code}) after "
                    f"{self._restarts} restart(s); stopping the run. Log: {self.log_path}\n"
                    f"{_log_tail(self.log_path)}",
                    code="local-server-died",
                )
            self._restarts += 1
            self._write_log_note(f"server exited with code {exit_code}; restart {self._restarts}")
            try:
                self._relaunch(port)
            except LocalServerError as error:
                self.stop()
                raise LocalServerError(
                    f"the local model server died (exit code {exit_code}) and did not come back: "
                    f"{error.message}",
                    code="local-server-died",
                ) from error
            return self.base_url

    def stop(self) -> None:
        """Kill the server's process group and reap it; safe to call any number of times."""
        with self._lock:
            self._kill_group()
            if self._log is not None:
                self._log.close()
                self._log = None
            self._address = None
            atexit.unregister(self.stop)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------

    def _port(self) -> int:
        if self._address is None:
            return self._requested_port
        return int(self._address.rsplit(":", 1)[1])

    def _relaunch(self, port: int) -> None:
        try:
            self._launch(port)
        except LocalServerError:
            if port == 0:
                raise
            # The old port may still be held (TIME_WAIT, or taken meanwhile): any port beats none.
            self._launch(0)

    def _write_log_note(self, note: str) -> None:
        with self.log_path.open("ab") as handle:
            handle.write(f"[local-server] {note}\n".encode())

    def _argv(self, port: int, ready_file: Path) -> list[str]:
        argv = [
            *self.launcher,
            "--model",
            str(self.model_path),
            "--port",
            str(port),
            "--threads",
            str(self.threads),
            "--n-ctx",
            str(self.n_ctx),
            "--parent-pid",
            str(os.getpid()),
            "--ready-file",
            str(ready_file),
        ]
        # PR_SET_PDEATHSIG fires when the forking *thread* exits: arm it only from the main thread.
        if threading.current_thread() is threading.main_thread():
            argv.append("--death-signal")
        return argv

    def _launch(self, port: int) -> None:
        self._address = None
        with tempfile.TemporaryDirectory(prefix="local-server-") as scratch:
            ready_file = Path(scratch) / "ready.json"
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            if self._log is None:
                self._log = self.log_path.open("ab")
            try:
                self._process = subprocess.Popen(
                    self._argv(port, ready_file),
                    stdin=subprocess.DEVNULL,
                    stdout=self._log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=_child_env(),
                )
                self._address = self._wait_until_ready(self._process, ready_file)
            except BaseException:
                # Includes KeyboardInterrupt during a long model load: nothing is left behind.
                self._kill_group()
                raise

    def _wait_until_ready(self, process: subprocess.Popen[bytes], ready_file: Path) -> str:
        deadline = time.monotonic() + self.startup_timeout_s
        address: str | None = None
        while True:
            if process.poll() is not None:
                raise LocalServerError(
                    f"the local model server exited with code {process.returncode} while starting "
                    f"(model {self.model_path}). Log: {self.log_path}\n{_log_tail(self.log_path)}",
                    code="local-server-start-failed",
                )
            if address is None and ready_file.is_file():
                address = str(json.loads(ready_file.read_text())["address"])
            if address is not None and _healthy(address):
                return address
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"the local model server was not ready within {self.startup_timeout_s:.0f} s "
                    f"(model {self.model_path}); raise startup_timeout_s on a slow machine. "
                    f"Log: {self.log_path}\n{_log_tail(self.log_path)}",
                    code="local-server-start-timeout",
                )
            time.sleep(_POLL_INTERVAL_S)

    def _kill_group(self) -> None:
        process = self._process
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
        self._process = None


def server_for_run(
    model: str = DEFAULT_MODEL,
    *,
    run_dir: Path | str,
    model_path: Path | str | None = None,
    cache_dir: Path | str | None = None,
    verify: bool = False,
    threads: int = 2,
    n_ctx: int = DEFAULT_N_CTX,
    startup_timeout_s: float = 120.0,
    launcher: Sequence[str] = DEFAULT_LAUNCHER,
    log_name: str | None = None,
) -> LocalServer:
    """An unstarted server for one run: weights resolved, log at ``run_dir/local-model.log`` (or
    ``run_dir/<log_name>``).

    ``model_path`` (``--model-path``) wins over ``model``; otherwise the
    registered model's weights are assembled or reused first, so a missing
    install fails here with ``model-not-installed``, before any process starts.
    """
    path = resolve_model_path(model, model_path=model_path, cache_dir=cache_dir, verify=verify)
    return LocalServer(
        path,
        threads=threads,
        n_ctx=n_ctx,
        log_path=Path(run_dir) / (log_name or SERVER_LOG_NAME),
        startup_timeout_s=startup_timeout_s,
        launcher=launcher,
    )
