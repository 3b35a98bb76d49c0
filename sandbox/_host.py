"""Engine side of the mechanism host: one limited process per mechanism.

Each admitted mechanism runs alone in its own child (own process group,
rlimits, scrubbed environment, empty working directory), so one mechanism's
failure, memory use or poisoned interpreter state (a registered ABC, a
changed decimal context, a patched class) cannot change another's answers,
and a hang is always charged to the mechanism that hung. Only plain JSON
data crosses a pipe, and every answer is checked here against the hook's
return annotation and budget, with this process's clock: the child is never
trusted to judge itself. Each process keeps the trace, space and config it was
last sent, and a call sends only what it lacks (:mod:`sandbox._argcache`).

Reproducibility is checked at run time too: after a sample of calls the
recorded history (each request as sent) is replayed on a fresh instance,
built with the same seed in a fresh process under another hash seed; a
mechanism whose answers diverge is ejected as ``not-reproducible``.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from ._argcache import MISS_CODE, ArgumentSender, Outgoing
from ._codec import CodecError
from ._plain import is_plain, matches_annotation, return_annotation
from ._policy import DEFAULT_POLICY, Limits, Policy, policy_to_dict
from ._process import MechanismProcess, ProcessFailure, clip, take_process
from ._records import Admission, CallCounters, CallResult, Ejection, LoadResult

__all__ = ["MechanismHost", "REPLAY_AT"]

_GRACE_S = 1.0  # pipe and scheduling slack on top of a call's budget before the process is killed
_LIVE_HOSTS: weakref.WeakSet[MechanismHost] = weakref.WeakSet()

# After which calls the history is replayed on a fresh instance. Replays grow
# with the history, so they thin out; past the last one, or past
# _HISTORY_BYTES of recorded arguments, no more are made.
REPLAY_AT = (2, 8, 32, 128)
_HISTORY_BYTES = 16 << 20
_REPLAY_HASH_SEED = 1
_EJECTING = ("call-raised", "wrong-return-type", "missing-method")


@atexit.register
def _close_all() -> None:
    for host in list(_LIVE_HOSTS):
        host.close()


@dataclass
class _Loaded:
    admission: Admission
    seed: int
    hook: str
    method: str
    budget_s: float
    hint: Any
    process: MechanismProcess
    sender: ArgumentSender = field(default_factory=ArgumentSender)  # what the process holds
    calls: int = 0
    ok: int = 0
    failed: int = 0
    total_s: float = 0.0
    history: list[tuple[bytes, str]] = field(default_factory=list)  # (request as sent, answer)
    history_bytes: int = 0
    replays: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class MechanismHost:
    """Load admitted mechanisms, each into its own limited process, and call them.

    ``load(admission, seed)`` -> :class:`LoadResult`; ``call(handle, *args)``
    -> :class:`CallResult`; ``counters(handle)`` proves invocations (counted
    here, not by the mechanism's process); ``ejections()`` lists what was
    removed and why. ``replay_at`` sets after which calls the history is
    replayed to check reproducibility (empty: never).
    """

    def __init__(self, limits: Limits = Limits(), policy: Policy = DEFAULT_POLICY, *,
                 replay_at: tuple[int, ...] = REPLAY_AT) -> None:
        self.limits = limits
        self.policy = policy
        self.replay_at = frozenset(replay_at)
        self._loaded: dict[str, _Loaded] = {}
        self._ejections: list[Ejection] = []
        self._retired: dict[str, _Loaded] = {}
        self._ids = itertools.count(1)
        _LIVE_HOSTS.add(self)

    # -- processes -------------------------------------------------------------
    def _start(self, admission: Admission, seed: int, method: str, hash_seed: int = 0,
               ) -> tuple[MechanismProcess | None, str, str]:
        """A process with the mechanism loaded and instance 0 built: (process, code, message);
        on success the message is the confinement the process reported."""
        process = take_process(self.limits, hash_seed=hash_seed)
        request = {"op": "load", "source": admission.source, "name": admission.name,
                   "entry_point": admission.entry_point, "policy": policy_to_dict(self.policy)}
        confinement = ""
        try:
            reply = process.exchange(request, self.limits.load_wall_s)
            if reply.get("ok"):
                confinement = clip(reply.get("confinement", "not reported"), 200)
                reply = process.exchange({"op": "build", "instance": 0, "seed": seed}, self.limits.load_wall_s)
                methods = reply.get("methods") if reply.get("ok") else None
                if reply.get("ok") and (type(methods) is not list or method not in methods):
                    reply = {"ok": False, "code": "missing-method", "message": f"build({seed}) returned an "
                             f"object without a {method}() method"}
        except ProcessFailure as failure:
            reply = {"ok": False, "code": "load-failed", "message": f"loading stopped the process: {failure}"}
        if reply.get("ok"):
            return process, "", confinement
        process.close()
        code = reply.get("code")
        code = code if code in ("build-raised", "missing-method", "missing-entry-point") else "load-failed"
        return None, code, clip(reply.get("message", ""))

    # -- public API ----------------------------------------------------------
    def load(self, admission: Admission, seed: int) -> LoadResult:
        """Start a process for an admitted mechanism and build one instance with ``seed``."""
        if not admission.admitted:
            return LoadResult(False, "", "not-admitted", "only admitted mechanisms can be loaded")
        if hashlib.sha256(admission.source.encode("utf-8", "surrogatepass")).hexdigest() != admission.digest:
            return LoadResult(False, "", "digest-mismatch", "the source does not match the admitted digest")
        from interfaces import hook_spec

        try:
            spec = hook_spec(admission.protocol)
        except KeyError:
            return LoadResult(False, "", "unknown-hook", f"{admission.protocol} is not a hook Protocol")
        handle = f"{admission.name}#{next(self._ids)}"
        process, code, message = self._start(admission, seed, spec.method)
        if process is None:
            return LoadResult(False, handle, code, message)
        self._loaded[handle] = _Loaded(admission, seed, spec.name, spec.method,
                                       self.limits.call_wall_s or spec.call_budget_s,
                                       return_annotation(spec.protocol, spec.method), process)
        return LoadResult(True, handle, confinement=message)

    def call(self, handle: str, *args: Any) -> CallResult:
        """Call the mechanism's hook method with interface records or plain data."""
        loaded = self._loaded.get(handle)
        if loaded is None:
            return CallResult(False, code="not-loaded", message=f"{handle} is not loaded (ejected or unloaded)")
        with loaded.lock:  # the arguments are encoded against what the process holds: one call at a time
            prepared = self._request(loaded, args, reset=False)
            if isinstance(prepared, CallResult):
                return prepared
            return self._call_locked(handle, loaded, args, *prepared)

    @staticmethod
    def _request(loaded: _Loaded, args: tuple[Any, ...], *, reset: bool) -> tuple[Outgoing, bytes] | CallResult:
        """The call's request line, sending only what the process does not hold (everything
        with ``reset``), or the refusal of an argument that is not data."""
        try:
            outgoing = loaded.sender.encode(args, reset=reset)
            line = json.dumps({"op": "call", "instance": 0, "method": loaded.method, "args": outgoing.args,
                               "held": outgoing.held}).encode()
        except CodecError as error:
            return CallResult(False, code=error.code, message=str(error))
        except (TypeError, ValueError) as error:  # a record holding a value JSON cannot carry
            return CallResult(False, code=CodecError.code, message=f"cannot send the arguments: {error}")
        return outgoing, line

    def _call_locked(self, handle: str, loaded: _Loaded, args: tuple[Any, ...], outgoing: Outgoing,
                     request: bytes) -> CallResult:
        started = time.perf_counter()
        loaded.calls += 1
        try:
            reply = loaded.process.exchange_encoded(request, loaded.budget_s + _GRACE_S)
            if not reply.get("ok") and reply.get("code") == MISS_CODE:
                # The process holds something other than what this side recorded: start it over
                # with everything, once (a process that misses a reset falls through as a failure).
                prepared = self._request(loaded, args, reset=True)
                if isinstance(prepared, CallResult):
                    return prepared
                outgoing, request = prepared
                started = time.perf_counter()
                reply = loaded.process.exchange_encoded(request, loaded.budget_s + _GRACE_S)
        except ProcessFailure as failure:
            code = {"timeout": "call-timeout", "reply-too-large": "reply-too-large",
                    "cpu-limit": "cpu-limit"}.get(failure.code, "host-died")
            return self._fail(handle, loaded, code, str(failure), started)
        duration = time.perf_counter() - started
        loaded.sender.commit(outgoing)  # it answered, so it took the arguments (a failure ejects anyway)
        if not reply.get("ok"):
            raised = reply.get("code")
            code = raised if isinstance(raised, str) and raised in _EJECTING else "call-raised"
            line = reply.get("line") if type(reply.get("line")) is int else 0
            where = f" (line {line})" if line else ""
            return self._fail(handle, loaded, code, clip(reply.get("message", "")) + where, started)
        value = reply.get("value")
        if not is_plain(value) or not matches_annotation(value, loaded.hint):
            return self._fail(handle, loaded, "wrong-return-type", f"returned {clip(value, 200)}, expected plain "
                              f"data matching {loaded.hint}", started)
        if duration > loaded.budget_s:
            return self._fail(handle, loaded, "call-timeout", f"the call took {duration:.3f} s; the budget is "
                              f"{loaded.budget_s} s", started)
        loaded.ok += 1
        loaded.total_s += duration
        self._remember(loaded, request, value)
        if loaded.calls in self.replay_at and loaded.history_bytes <= _HISTORY_BYTES:
            diverged = self._replay(loaded)
            if diverged:
                loaded.ok -= 1
                return self._fail(handle, loaded, "not-reproducible", diverged, started)
        return CallResult(True, value, duration_s=duration)

    def _remember(self, loaded: _Loaded, request: bytes, value: Any) -> None:
        """Record a call for the replays. The request is kept as sent: a fresh process given the
        same lines from the first call on holds what this one held at each call, so the lines
        that carried only what it lacked replay exactly."""
        if loaded.calls > max(self.replay_at, default=0) or loaded.history_bytes > _HISTORY_BYTES:
            loaded.history.clear()  # no replay will use it
            return
        answer = json.dumps(value, sort_keys=True)
        loaded.history.append((request, answer))
        loaded.history_bytes += len(request) + len(answer)

    def _replay(self, loaded: _Loaded) -> str:
        """Replay the history on a fresh instance; a description of the first divergence, or ''."""
        loaded.replays += 1
        process, code, message = self._start(loaded.admission, loaded.seed, loaded.method,
                                             hash_seed=_REPLAY_HASH_SEED)
        if process is None:
            return f"a fresh instance with the same seed could not be built ({code}: {message})"
        try:
            for number, (request, answer) in enumerate(loaded.history, start=1):
                try:
                    reply = process.exchange_encoded(request, loaded.budget_s + _GRACE_S)
                except ProcessFailure as failure:
                    return f"replaying call {number} on a fresh instance failed: {failure}"
                again = json.dumps(reply.get("value"), sort_keys=True) if reply.get("ok") else None
                if again != answer:
                    got = clip(again, 200) if again is not None else clip(reply.get("message", ""), 200)
                    return (f"call {number} answered {clip(answer, 200)} in the run but {got} when replayed on a "
                            f"fresh instance built with seed {loaded.seed} and given the same calls; answers "
                            "must depend only on the seed and the calls (not on set order, object identity "
                            "or hidden state)")
            return ""
        finally:
            process.close()

    def _fail(self, handle: str, loaded: _Loaded, code: str, message: str, started: float) -> CallResult:
        loaded.failed += 1
        self._eject(handle, code, message)
        return CallResult(False, None, code, message, time.perf_counter() - started)

    def _eject(self, handle: str, code: str, message: str) -> None:
        loaded = self._loaded.pop(handle, None)
        if loaded is None:
            return
        loaded.process.close()
        loaded.history.clear()
        self._ejections.append(Ejection(handle, loaded.admission.name, code, message))
        self._retired[handle] = loaded

    def unload(self, handle: str) -> bool:
        """Stop a mechanism's process; True if it was loaded."""
        loaded = self._loaded.pop(handle, None)
        if loaded is None:
            return False
        loaded.process.close()
        loaded.history.clear()
        self._retired[handle] = loaded
        return True

    def counters(self, handle: str) -> CallCounters:
        """Call counts for a loaded, unloaded or ejected mechanism."""
        loaded = self._loaded.get(handle) or self._retired.get(handle)
        if loaded is None:
            return CallCounters(handle, 0, 0, 0, 0.0, ())
        return CallCounters(handle, loaded.calls, loaded.ok, loaded.failed, loaded.total_s,
                            ((f"{loaded.hook}.{loaded.method}", loaded.calls),) if loaded.calls else ())

    def pid_of(self, handle: str) -> int | None:
        """The process id serving ``handle``, or None when it is not loaded."""
        loaded = self._loaded.get(handle)
        return loaded.process.pid if loaded is not None else None

    def replays(self, handle: str) -> int:
        """How many reproducibility replays ``handle`` has passed or failed."""
        loaded = self._loaded.get(handle) or self._retired.get(handle)
        return loaded.replays if loaded is not None else 0

    def modules(self) -> tuple[str, ...]:
        """Names of the mechanism modules registered in the live processes' ``sys.modules``."""
        names: set[str] = set()
        for handle, loaded in list(self._loaded.items()):
            try:
                reply = loaded.process.exchange({"op": "modules"}, self.limits.load_wall_s)
            except ProcessFailure as failure:
                self._eject(handle, "host-died", str(failure))
                continue
            value = reply.get("value")
            if type(value) is list:
                names.update(n for n in value if type(n) is str)
        return tuple(sorted(names))

    def ejections(self) -> tuple[Ejection, ...]:
        return tuple(self._ejections)

    def loaded(self) -> tuple[str, ...]:
        return tuple(self._loaded)

    def close(self) -> None:
        """Stop every mechanism process. Safe to call more than once."""
        for loaded in self._loaded.values():
            loaded.process.close()
        self._loaded.clear()

    def __enter__(self) -> MechanismHost:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
