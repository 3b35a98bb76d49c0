"""Engine side of one mechanism process: a limited child that holds exactly one
mechanism module and its instances (see :mod:`sandbox._host_main`).

Everything that comes back is data from a process that may be hostile: each
reply is read incrementally against a deadline, capped in size, parsed as
JSON and then checked by the caller. Nothing the child says is trusted as a
verdict; durations are measured here, with this process's clock.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from typing import Any

from ._child import child_pipes, kill_group, spawn_limited
from ._policy import Limits

__all__ = ["MechanismProcess", "ProcessFailure", "MESSAGE_CHARS", "HOST_CPU_S", "clip", "take_process"]

# Longest message kept from a child; a longer one is cut here, whatever the
# child claims to have cut, so a flood never reaches the store or a prompt.
MESSAGE_CHARS = 2_000

HOST_CPU_S = 3600  # cumulative for a hosted mechanism's life; a single hang is cut by the wall clock


def clip(text: Any, limit: int = MESSAGE_CHARS) -> str:
    """``text`` as a str of at most ``limit`` characters, saying when it was cut."""
    value = text if type(text) is str else repr(text)
    return value if len(value) <= limit else value[:limit] + f"... [{len(value) - limit} characters cut]"


class ProcessFailure(Exception):
    """The child did not answer properly. ``code``: ``timeout`` (no answer in
    time), ``died`` (it exited or was killed), ``cpu-limit`` (killed by its CPU
    rlimit), ``reply-too-large``,
    ``bad-reply`` (not one JSON object)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class MechanismProcess:
    """One limited child speaking one JSON request and one reply per line."""

    def __init__(self, limits: Limits, *, hash_seed: int = 0, cpu_s: int = HOST_CPU_S,
                 module: str = "sandbox._host_main") -> None:
        self.limits = limits
        self.hash_seed = hash_seed
        self.process, self._workdir = spawn_limited(module, limits, cpu_s=cpu_s, hash_seed=hash_seed)
        self._stdin, self._stdout = child_pipes(self.process)
        self._buffer = b""

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def exchange(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request and return the reply; raise :class:`ProcessFailure`."""
        return self.exchange_encoded(json.dumps(request).encode(), timeout_s)

    def exchange_encoded(self, request: bytes, timeout_s: float) -> dict[str, Any]:
        """:meth:`exchange` for a request already encoded as one line of JSON (no newline)."""
        if not self.alive():
            raise ProcessFailure(self._death_code(), self._death())
        try:
            self._stdin.write(request + b"\n")
            self._stdin.flush()
        except (BrokenPipeError, OSError):
            raise ProcessFailure("died", "the mechanism process closed its input") from None
        deadline = time.monotonic() + timeout_s
        stream = self._stdout.fileno()
        cap = self.limits.max_reply_bytes
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProcessFailure("timeout", f"no answer within {timeout_s:.2f} s")
            ready, _, _ = select.select([stream], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(stream, 1 << 16)
            if not chunk:
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                raise ProcessFailure(self._death_code(), self._death())
            self._buffer += chunk
            if len(self._buffer) > cap and b"\n" not in self._buffer[:cap + 1]:
                raise ProcessFailure("reply-too-large", f"the reply exceeded {cap} bytes")
        line, _, self._buffer = self._buffer.partition(b"\n")
        if len(line) > cap:
            raise ProcessFailure("reply-too-large", f"the reply exceeded {cap} bytes")
        try:
            reply = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise ProcessFailure("bad-reply", "the reply was not JSON") from None
        if type(reply) is not dict:
            raise ProcessFailure("bad-reply", "the reply was not a JSON object")
        return reply

    def _death_code(self) -> str:
        return "cpu-limit" if self.process.poll() == -signal.SIGXCPU else "died"

    def _death(self) -> str:
        code = self.process.poll()
        if code is None:
            return "the mechanism process stopped answering"
        if code == -signal.SIGXCPU:
            return "the mechanism process was killed for exceeding its CPU-time limit"
        if code == -signal.SIGKILL:
            return "the mechanism process was killed (signal 9)"
        if code < 0:
            return f"the mechanism process died from signal {-code}"
        return f"the mechanism process exited with status {code}"

    def close(self, *, wait: bool = False) -> None:
        """SIGKILL the process group at once and remove the working directory;
        idempotent. The dead process is reaped by a background thread (a
        caller seldom needs to wait for it: nothing can run after SIGKILL), or
        here with ``wait=True``."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for stream in (self._stdin, self._stdout):
            try:
                stream.close()
            except OSError:
                pass
        if wait:
            self._reap()
        else:
            threading.Thread(target=self._reap, name="sandbox-reaper", daemon=True).start()

    def _reap(self) -> None:
        kill_group(self.process)  # waits for the group leader
        shutil.rmtree(self._workdir, ignore_errors=True)


# One started, idle process per kind, so a load does not wait for an
# interpreter to start and import (about 80 ms on a small machine): taking
# one starts its replacement at once, which then warms up while the taken one
# works. Spares hold no mechanism and run nothing untrusted until taken.
_SPARES: dict[tuple[Any, ...], MechanismProcess] = {}
_SPARES_LOCK = threading.Lock()


def take_process(limits: Limits, *, hash_seed: int = 0, cpu_s: int = HOST_CPU_S,
                 module: str = "sandbox._host_main") -> MechanismProcess:
    """A started :class:`MechanismProcess` of this kind, warm where one was ready."""
    key = (limits, hash_seed, cpu_s, module)
    with _SPARES_LOCK:
        spare = _SPARES.pop(key, None)
        _SPARES[key] = MechanismProcess(limits, hash_seed=hash_seed, cpu_s=cpu_s, module=module)
    if spare is not None and spare.alive():
        return spare
    if spare is not None:
        spare.close()
    return MechanismProcess(limits, hash_seed=hash_seed, cpu_s=cpu_s, module=module)


@atexit.register
def _close_spares() -> None:
    with _SPARES_LOCK:
        for spare in _SPARES.values():
            spare.close(wait=True)
        _SPARES.clear()
