"""The engine side of the admission worker: untrusted text is parsed elsewhere.

:func:`static_check` sends one source to a long-lived child
(:mod:`sandbox._worker_main`, started with :func:`sandbox._child.spawn_limited`:
own session, CPU and address-space limits, scrubbed environment, dies with its
parent) and rebuilds the parse, guard and compile records from its plain-data
reply. Requests and replies are JSON lines over pipes; both directions run
against a wall-clock deadline with ``select``, the reply is read in chunks and
capped at :attr:`WorkerLimits.max_reply_bytes`, every message is cut to
:attr:`WorkerLimits.max_message_chars`. Whatever the child does, the caller
gets a :class:`StaticVerdict`:

- the child dies (a segfault in the parser, a kill): the request is retried
  once on a fresh child (the death may have nothing to do with the source, such
  as the exit of the thread that started the child), then ``parse-crashed``
  with the signal;
- no reply within :attr:`WorkerLimits.wall_s`: ``parse-timeout``, no retry;
- a reply over the cap: ``reply-too-large``; a reply of the wrong shape or a
  worker that cannot start: ``internal-error``.

A failed child is killed with its process group and replaced on the next
request. One lock serialises requests, so :func:`static_check` may be called
from several threads.
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
from dataclasses import dataclass
from typing import Any

from ._child import child_pipes, kill_group, spawn_limited
from ._policy import Limits, Policy, policy_to_dict
from ._records import StageResult, Violation

__all__ = [
    "WORKER_CODES",
    "AdmissionWorker",
    "StaticVerdict",
    "WorkerLimits",
    "shared_worker",
    "static_check",
]

# Codes of the records this module makes itself, next to the stages' own.
WORKER_CODES = frozenset({"parse-crashed", "parse-timeout", "reply-too-large", "internal-error"})
_STAGE_ORDER = ("parse", "guard", "compile")


@dataclass(frozen=True)
class WorkerLimits:
    """Limits of the admission worker process and of one request."""

    wall_s: float = 10.0  # one source's parse, guard and compile (pre-scanned input takes under 1 s)
    start_wall_s: float = 60.0  # starting the child and importing the parser, on a loaded machine
    cpu_s: int = 600  # RLIMIT_CPU of one worker over its whole life
    recycle_cpu_s: float = 300.0  # a worker that has used this much CPU is replaced before the next request
    memory_bytes: int = 1 << 30
    max_reply_bytes: int = 1 << 20
    max_message_chars: int = 2_000
    max_violations: int = 500


@dataclass(frozen=True)
class StaticVerdict:
    """The parse, guard and compile records of one source, and the text the
    later stages (name, digest, load, verify) use: the guard's rewritten source
    when it returned one, otherwise the original."""

    stages: tuple[StageResult, ...]
    source: str


class _Failure(Exception):
    """A request that produced no usable reply: becomes one record, never leaves this module."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class _Died(Exception):
    """The child closed its end of a pipe: it exited or was killed."""


class AdmissionWorker:
    """One long-lived admission child, started on first use and replaced after
    every failure. ``module`` names the child's entry module (tests substitute
    misbehaving ones). The child confines itself with Landlock and seccomp once
    warmed up, as a mechanism process does (see :mod:`sandbox._confine`)."""

    def __init__(self, limits: WorkerLimits = WorkerLimits(), module: str = "sandbox._worker_main") -> None:
        self.limits = limits
        #: The kernel layers the running child applied to itself ("" before it starts).
        self.confinement = ""
        self.module = module
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._workdir: str | None = None
        self._owner_pid = os.getpid()
        self._pending = bytearray()

    @property
    def pid(self) -> int | None:
        """The current child's process id, or None when none is running."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def check(self, source: str, policy: Policy, entry_point: str) -> StaticVerdict:
        """The static stages of ``source``, run in the child. Never raises."""
        started = time.perf_counter()
        try:
            request = json.dumps({"source": source, "policy": policy_to_dict(policy),
                                  "entry_point": entry_point}).encode() + b"\n"
            with self._lock:
                return self._check_locked(source, request)
        except _Failure as failure:
            return self._failed(failure.code, failure.message, started, source)
        except Exception as error:  # noqa: BLE001 - an admission never raises; the record says what broke
            self.close()
            return self._failed("internal-error", f"the admission worker failed ({type(error).__name__}: "
                                f"{str(error)[:200]}); this is not a fault of the code", started, source)

    def close(self) -> None:
        """Stop the child (if any); the next request starts a fresh one."""
        process, workdir = self._process, self._workdir
        self._process = self._workdir = None
        self._pending.clear()
        if process is not None and self._owner_pid == os.getpid():
            kill_group(process)
            for stream in (process.stdin, process.stdout):
                if stream is None:
                    continue
                try:
                    stream.close()
                except OSError:
                    pass
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    def _check_locked(self, source: str, request: bytes) -> StaticVerdict:
        for attempt in (1, 2):
            process = self._running()
            try:
                reply = self._exchange(process, request, self.limits.wall_s)
            except _Died:
                status = self._reap(process)
                if attempt == 1:
                    continue
                raise _Failure("parse-crashed", f"the parser process died ({status}) twice while reading "
                               "this source; simplify deeply nested or repeated constructs and unusual "
                               "characters") from None
            except _Failure:
                self.close()
                raise
            if reply.get("cpu_s", 0) > self.limits.recycle_cpu_s:
                self.close()  # replaced before its CPU limit could end a later request
            return self._verdict(reply, source)
        raise AssertionError("unreachable")

    def _running(self) -> subprocess.Popen:
        """The live child, starting one (and waiting for its ready line) if needed."""
        if self._owner_pid != os.getpid():  # a forked copy of the engine: the child belongs to the parent
            self._process, self._workdir, self._owner_pid = None, None, os.getpid()
            self._pending.clear()
        if self._process is not None and self._process.poll() is None:
            return self._process
        self.close()
        limits = Limits(cpu_s=self.limits.cpu_s, memory_bytes=self.limits.memory_bytes)
        try:
            process, self._workdir = spawn_limited(self.module, limits)
            pipes = child_pipes(process)
        except OSError as error:
            raise _Failure("internal-error", f"the admission worker could not start ({error}); this is "
                           "not a fault of the code") from None
        self._process = process
        for stream in pipes:
            os.set_blocking(stream.fileno(), False)
        try:
            ready = self._read_reply(process, time.monotonic() + self.limits.start_wall_s)
        except (_Died, _Failure):
            self.close()
            raise _Failure("internal-error", "the admission worker did not start; this is not a fault of "
                           "the code") from None
        if ready.get("ready") is not True:
            self.close()
            raise _Failure("internal-error", "the admission worker started wrongly; this is not a fault "
                           "of the code")
        confinement = ready.get("confinement")
        self.confinement = confinement[:200] if type(confinement) is str else "not reported"
        return process

    def _reap(self, process: subprocess.Popen) -> str:
        """Kill what is left of a dead child and describe how it ended."""
        self.close()
        code = process.returncode
        if code is not None and code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit status {code}"

    def _exchange(self, process: subprocess.Popen, request: bytes, wall_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + wall_s
        self._write(process, request, deadline)
        return self._read_reply(process, deadline)

    def _write(self, process: subprocess.Popen, data: bytes, deadline: float) -> None:
        fd, view = child_pipes(process)[0].fileno(), memoryview(data)
        while view:
            self._wait(fd, deadline, writing=True)
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                raise _Died from None

    def _read_reply(self, process: subprocess.Popen, deadline: float) -> dict[str, Any]:
        """One JSON line from the child, read in chunks, never more than the cap."""
        fd, cap = child_pipes(process)[1].fileno(), self.limits.max_reply_bytes
        while b"\n" not in self._pending:
            if len(self._pending) > cap:
                raise _Failure("reply-too-large", f"the admission worker sent a reply over {cap} bytes; "
                               "it was stopped")
            self._wait(fd, deadline, writing=False)
            try:
                chunk = os.read(fd, min(65_536, cap + 1 - len(self._pending)))
            except BlockingIOError:
                continue
            if not chunk:
                raise _Died
            self._pending += chunk
        line, _, rest = bytes(self._pending).partition(b"\n")
        if rest or len(line) > cap:  # one reply per request; anything more is a worker out of step
            raise _Failure("reply-too-large" if len(line) > cap else "internal-error",
                           "the admission worker sent more than one reply; it was stopped")
        self._pending.clear()
        try:
            reply = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise _Failure("internal-error", "the admission worker sent a malformed reply; this is not a "
                           "fault of the code") from None
        if not isinstance(reply, dict):
            raise _Failure("internal-error", "the admission worker sent a malformed reply; this is not a "
                           "fault of the code")
        return reply

    def _wait(self, fd: int, deadline: float, *, writing: bool) -> None:
        remaining = deadline - time.monotonic()
        ready = False
        if remaining > 0:
            waiting = [fd]
            readable, writable, _ = select.select([] if writing else waiting, waiting if writing else [], [],
                                                  remaining)
            ready = bool(readable or writable)
        if not ready:
            raise _Failure("parse-timeout", f"parsing, guarding and compiling took over "
                           f"{self.limits.wall_s} s of wall-clock time; make the source smaller and simpler")

    def _verdict(self, reply: dict[str, Any], source: str) -> StaticVerdict:
        if "error" in reply:
            raise _Failure("internal-error", f"the admission worker refused the request "
                           f"({str(reply['error'])[:200]}); this is not a fault of the code")
        stages = reply.get("stages")
        if not isinstance(stages, list) or not 1 <= len(stages) <= len(_STAGE_ORDER):
            raise _Failure("internal-error", "the admission worker sent a malformed reply")
        # An admission stops at its first failing stage, so a reply may hold fewer stages than the order.
        pairs = zip(stages, _STAGE_ORDER[:len(stages)], strict=True)
        records = tuple(self._stage(data, expected) for data, expected in pairs)
        text = reply.get("source")
        if text is None:
            text = source
        elif not isinstance(text, str) or len(text) > len(source):  # a rewrite only ever removes code
            raise _Failure("internal-error", "the admission worker sent a malformed rewritten source")
        return StaticVerdict(records, text)

    def _stage(self, data: Any, expected: str) -> StageResult:
        """A stage record from plain data, every field checked and every text cut."""
        cut = self.limits.max_message_chars
        try:
            violations = tuple(
                Violation(_text(code, 64), _count(line), _count(col), _text(message, cut))
                for code, line, col, message in data["violations"][:self.limits.max_violations]
            )
            if data["stage"] != expected or type(data["ok"]) is not bool:
                raise ValueError(data.get("stage"))
            duration = float(data["duration_s"])
            return StageResult(expected, data["ok"], duration, violations,
                               _text(data["details"], cut))
        except (KeyError, TypeError, ValueError):
            raise _Failure("internal-error",
                           f"the admission worker sent a malformed {expected} record") from None

    def _failed(self, code: str, message: str, started: float, source: str) -> StaticVerdict:
        record = StageResult("parse", False, time.perf_counter() - started, (Violation(code, 0, 0, message),))
        return StaticVerdict((record,), source)


def _text(value: Any, limit: int) -> str:
    if type(value) is not str:
        raise TypeError(type(value).__name__)
    return value[:limit]


def _count(value: Any) -> int:
    if type(value) is not int:
        raise TypeError(type(value).__name__)
    return max(value, 0)


_shared: AdmissionWorker | None = None
_shared_lock = threading.Lock()


def shared_worker() -> AdmissionWorker:
    """The process-wide worker :func:`sandbox.admit` uses (created on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = AdmissionWorker()
            atexit.register(_shared.close)
        return _shared


def static_check(source: str, policy: Policy, entry_point: str) -> StaticVerdict:
    """Parse, guard and compile ``source`` in the shared admission worker. Never raises."""
    return shared_worker().check(source, policy, entry_point)
