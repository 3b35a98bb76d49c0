"""Engine side of the mechanism host.

Admitted mechanisms run in one long-lived child process (own process group,
rlimits, scrubbed environment, empty working directory). Only plain JSON data
crosses the pipe. A mechanism that raises, answers with the wrong type, runs
past its budget or kills the host is ejected; on a hang or a crash the host is
killed and restarted and the other mechanisms are reloaded from their
admitted source and seed. Their in-memory state is lost by that restart.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import os
import select
import shutil
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from ._admit import protocol_reference
from ._child import kill_group, spawn_limited
from ._codec import CodecError, encode_argument
from ._policy import DEFAULT_POLICY, Limits, Policy, policy_to_dict
from ._records import Admission, CallCounters, CallResult, Ejection, LoadResult

__all__ = ["MechanismHost"]

_HOST_CPU_S = 3600  # cumulative for the host's life; per-call hangs are cut by the wall clock
_GRACE_S = 1.0  # pipe and scheduling slack on top of a call's budget before the host is killed
_LIVE_HOSTS: "weakref.WeakSet[MechanismHost]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for host in list(_LIVE_HOSTS):
        host.close()


class _HostDied(Exception):
    pass


class _HostHung(Exception):
    pass


@dataclass
class _Loaded:
    admission: Admission
    seed: int
    hook: str
    method: str
    budget_s: float
    request: dict[str, Any]
    calls: int = 0
    ok: int = 0
    failed: int = 0
    total_s: float = 0.0
    per_method: dict[str, int] = field(default_factory=dict)


def _hook_details(protocol: str) -> tuple[str, str, str, float]:
    """(protocol reference for the host, hook name, method, budget) of a hook."""
    from interfaces import HOOKS

    matches = [s for s in HOOKS.values() if protocol in (s.name, s.protocol.__name__)]
    if not matches:
        raise KeyError(protocol)
    spec = matches[0]
    return f"{spec.protocol.__module__}:{spec.protocol.__qualname__}", spec.name, spec.method, spec.call_budget_s


class MechanismHost:
    """Load admitted mechanisms into a limited child process and call them.

    ``load(admission, seed)`` -> :class:`LoadResult`; ``call(handle, *args)``
    -> :class:`CallResult`; ``counters(handle)`` proves invocations (counted by
    the host itself); ``ejections()`` lists what was removed and why.
    """

    def __init__(self, limits: Limits = Limits(), policy: Policy = DEFAULT_POLICY) -> None:
        self.limits = limits
        self.policy = policy
        self.restarts = 0
        self._loaded: dict[str, _Loaded] = {}
        self._ejections: list[Ejection] = []
        self._retired: dict[str, _Loaded] = {}
        self._ids = itertools.count(1)
        self._process = None
        self._workdir = ""
        self._buffer = b""
        _LIVE_HOSTS.add(self)

    # -- process management ---------------------------------------------------
    def _start(self) -> None:
        self._process, self._workdir = spawn_limited("sandbox._host_main", self.limits, cpu_s=_HOST_CPU_S)
        self._buffer = b""

    def _stop(self) -> None:
        if self._process is not None:
            try:
                self._process.stdin.close()
            except OSError:
                pass
            kill_group(self._process)
            for stream in (self._process.stdout,):
                try:
                    stream.close()
                except OSError:
                    pass
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._process = None

    @property
    def pid(self) -> int | None:
        """The host process id, or None before the first load."""
        return self._process.pid if self._process is not None else None

    def _restart(self) -> None:
        """Kill and restart the host, then reload every mechanism still loaded."""
        self._stop()
        self.restarts += 1
        self._start()
        for handle, loaded in list(self._loaded.items()):
            try:
                reply = self._exchange(loaded.request, self.limits.load_wall_s)
            except (_HostDied, _HostHung):
                reply = {"ok": False, "code": "host-died", "message": "reloading killed the host"}
            if not reply.get("ok"):
                self._eject(handle, "host-died", f"could not be reloaded after a restart: {reply.get('message')}")
                self._stop()
                self._start()

    def _exchange(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        if self._process is None or self._process.poll() is not None:
            raise _HostDied("the host is not running")
        try:
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _HostDied("the host closed its input") from None
        deadline = time.monotonic() + timeout_s
        stream = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _HostHung(f"no answer within {timeout_s:.2f} s")
            ready, _, _ = select.select([stream], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(stream, 1 << 16)
            if not chunk:
                raise _HostDied("the host exited")
            self._buffer += chunk
            if len(self._buffer) > self.limits.max_reply_bytes:
                raise _HostDied("the host sent an oversized reply")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    # -- public API ----------------------------------------------------------
    def load(self, admission: Admission, seed: int) -> LoadResult:
        """Load an admitted mechanism and build one instance with ``seed``."""
        if not admission.admitted:
            return LoadResult(False, "", "not-admitted", "only admitted mechanisms can be loaded")
        if hashlib.sha256(admission.source.encode("utf-8", "surrogatepass")).hexdigest() != admission.digest:
            return LoadResult(False, "", "digest-mismatch", "the source does not match the admitted digest")
        try:
            reference, hook, method, budget = _hook_details(admission.protocol)
        except KeyError:
            return LoadResult(False, "", "unknown-hook", f"{admission.protocol} is not a hook Protocol")
        handle = f"{admission.name}#{next(self._ids)}"
        request = {"op": "load", "handle": handle, "name": admission.name, "source": admission.source,
                   "entry_point": admission.entry_point, "protocol": reference, "method": method,
                   "seed": seed, "budget_s": self.limits.call_wall_s or budget,
                   "policy": policy_to_dict(self.policy)}
        if self._process is None:
            self._start()
        try:
            reply = self._exchange(request, self.limits.load_wall_s)
        except (_HostDied, _HostHung) as error:
            self._restart()
            return LoadResult(False, handle, "load-failed", f"loading stopped the host: {error}")
        if not reply.get("ok"):
            return LoadResult(False, handle, reply.get("code", "load-failed"), reply.get("message", ""))
        self._loaded[handle] = _Loaded(admission, seed, hook, method, self.limits.call_wall_s or budget, request)
        return LoadResult(True, handle)

    def call(self, handle: str, *args: Any) -> CallResult:
        """Call the mechanism's hook method with interface records or plain data."""
        loaded = self._loaded.get(handle)
        if loaded is None:
            return CallResult(False, code="not-loaded", message=f"{handle} is not loaded (ejected or unloaded)")
        try:
            encoded = [encode_argument(a) for a in args]
        except CodecError as error:
            return CallResult(False, code=error.code, message=str(error))
        started = time.perf_counter()
        try:
            reply = self._exchange({"op": "call", "handle": handle, "args": encoded}, loaded.budget_s + _GRACE_S)
        except _HostHung:
            return self._fail_and_restart(handle, "call-timeout", f"no answer within {loaded.budget_s} s", started)
        except _HostDied as error:
            return self._fail_and_restart(handle, "host-died", f"the host died during the call ({error})", started)
        duration = float(reply.get("duration_s", time.perf_counter() - started))
        loaded.calls = int(reply.get("calls", loaded.calls))
        loaded.per_method[f"{loaded.hook}.{loaded.method}"] = loaded.calls
        loaded.total_s += duration
        if reply.get("ok"):
            loaded.ok += 1
            return CallResult(True, reply.get("value"), duration_s=duration)
        loaded.failed += 1
        code, message = reply.get("code", "call-raised"), reply.get("message", "")
        if code in ("call-raised", "wrong-return-type", "call-timeout"):
            self._eject(handle, code, message)
        return CallResult(False, None, code, message, duration)

    def _fail_and_restart(self, handle: str, code: str, message: str, started: float) -> CallResult:
        loaded = self._loaded[handle]
        loaded.calls += 1
        loaded.failed += 1
        self._stop()  # first: the hung or dead host cannot answer an unload
        self._eject(handle, code, message)
        self._restart()
        return CallResult(False, None, code, message, time.perf_counter() - started)

    def _eject(self, handle: str, code: str, message: str) -> None:
        loaded = self._loaded.pop(handle, None)
        if loaded is None:
            return
        self._ejections.append(Ejection(handle, loaded.admission.name, code, message))
        self._retired[handle] = loaded
        if self._process is not None and self._process.poll() is None:
            try:
                self._exchange({"op": "unload", "handle": handle, "name": loaded.admission.name},
                               self.limits.load_wall_s)
            except (_HostDied, _HostHung):
                pass  # the next call restarts the host

    def unload(self, handle: str) -> bool:
        """Remove a mechanism from the host; True if it was loaded."""
        loaded = self._loaded.pop(handle, None)
        if loaded is None:
            return False
        self._retired[handle] = loaded
        try:
            self._exchange({"op": "unload", "handle": handle, "name": loaded.admission.name},
                           self.limits.load_wall_s)
        except (_HostDied, _HostHung):
            self._restart()
        return True

    def counters(self, handle: str) -> CallCounters:
        """Call counts for a loaded, unloaded or ejected mechanism."""
        loaded = self._loaded.get(handle) or self._retired.get(handle)
        if loaded is None:
            return CallCounters(handle, 0, 0, 0, 0.0, ())
        return CallCounters(handle, loaded.calls, loaded.ok, loaded.failed, loaded.total_s,
                            tuple(sorted(loaded.per_method.items())))

    def modules(self) -> tuple[str, ...]:
        """Names of the mechanism modules registered in the host's ``sys.modules``."""
        if self._process is None:
            return ()
        try:
            reply = self._exchange({"op": "modules"}, self.limits.load_wall_s)
        except (_HostDied, _HostHung):
            self._restart()
            return ()
        return tuple(reply.get("value", ()))

    def ejections(self) -> tuple[Ejection, ...]:
        return tuple(self._ejections)

    def loaded(self) -> tuple[str, ...]:
        return tuple(self._loaded)

    def close(self) -> None:
        """Stop the host process. Safe to call more than once."""
        self._stop()
        self._loaded.clear()

    def __enter__(self) -> "MechanismHost":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
