"""The one entry point: ``admit(source, protocol)`` -> :class:`Admission`."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import time
from typing import Any, Callable

from ._child import kill_group, spawn_limited
from ._parse import parse_stage
from ._policy import DEFAULT_POLICY, Limits, Policy, policy_to_dict
from ._prescan import size_violations
from ._records import Admission, StageResult, Violation
from ._worker import StaticVerdict, static_check

__all__ = ["admit", "module_name", "SANDBOX_VERSION", "protocol_reference"]

SANDBOX_VERSION = "0.1.0"


def module_name(source: str) -> tuple[str, str]:
    """The content-derived module name and the full sha256 digest of ``source``."""
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    return f"mechanism_{digest[:16]}", digest


def _reference(obj: Any) -> str:
    qualname = getattr(obj, "__qualname__", "")
    if "<" in qualname or not getattr(obj, "__module__", None):
        raise ValueError(f"{obj!r} must be defined at module level so the verify child can import it")
    return f"{obj.__module__}:{qualname}"


def protocol_reference(protocol: Any) -> tuple[str, str | None]:
    """(protocol name, hook name or None) for a Protocol class or hook name."""
    try:
        from interfaces import hook_spec

        spec = hook_spec(protocol)
        return spec.protocol.__name__, spec.name
    except (ImportError, KeyError):
        if isinstance(protocol, str):
            raise ValueError(f"unknown hook name {protocol!r}") from None
        return _reference(protocol), None


def _timed(stage: str, started: float, violations: tuple[Violation, ...], details: str = "") -> StageResult:
    return StageResult(stage, False, time.perf_counter() - started, violations, details)


def _run_child(request: dict[str, Any], limits: Limits) -> tuple[StageResult, ...]:
    """Load (and verify) in a limited child; its failure is a stage record."""
    started = time.perf_counter()
    stage = "verify" if request["run_suite"] else "load"
    process, workdir = spawn_limited("sandbox._verify_child", limits)
    try:
        out, _ = process.communicate(json.dumps(request).encode() + b"\n", timeout=limits.verify_wall_s)
    except subprocess.TimeoutExpired:
        kill_group(process)
        return (_timed(stage, started, (Violation("verify-timeout", 0, 0, f"loading and checking took over "
                f"{limits.verify_wall_s} s of wall-clock time; remove unbounded loops"),)),)
    finally:
        kill_group(process)
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        reply = json.loads(out.decode().splitlines()[-1])
    except (ValueError, IndexError, UnicodeDecodeError):
        code = process.returncode
        reason = {-signal.SIGXCPU: "cpu-limit", -signal.SIGKILL: "cpu-limit"}.get(code, "child-crashed")
        message = (f"the check process was killed for exceeding {limits.cpu_s} s of CPU time"
                   if reason == "cpu-limit" else f"the check process died (exit status {code}); avoid "
                   "unbounded memory use and deep recursion")
        return (_timed(stage, started, (Violation(reason, 0, 0, message),)),)
    return tuple(
        StageResult(s["stage"], s["ok"], s["duration_s"], tuple(Violation(**v) for v in s["violations"]),
                    s["details"], s["counterexample"])
        for s in reply["stages"]
    )


def admit(source: str, protocol: Any, *, policy: Policy = DEFAULT_POLICY, limits: Limits = Limits(),
          verify: bool | Callable[..., Any] = True, entry_point: str = "build") -> Admission:
    """Decide whether ``source`` may run as a mechanism for ``protocol``.

    Never raises for bad code: every problem is a :class:`Violation` in the
    returned record. Stages: parse, guard, compile in the admission worker
    (:mod:`sandbox._worker`, a limited child: no untrusted text is parsed in
    this process, and a parser crash or hang is a ``parse-crashed`` or
    ``parse-timeout`` record), then load and verify in a limited child
    process. When the guard hands back a rewritten source, that text is what
    is named, digested, loaded and recorded. ``verify=False``
    only loads and checks the entry point; a callable replaces the hook's
    suite (it must be importable at module level and take ``build``).
    """
    protocol_name, hook = protocol_reference(protocol)
    stages: list[StageResult] = []

    def verdict() -> Admission:
        violations = tuple(v for s in stages for v in s.violations)
        counterexample = next((s.counterexample for s in stages if s.counterexample), None)
        clean = [StageResult(s.stage, s.ok, s.duration_s, s.violations, s.details, s.counterexample)
                 for s in stages]
        return Admission(all(s.ok for s in stages) and not violations, name, digest, text, protocol_name,
                         entry_point, tuple(clean), violations, counterexample, SANDBOX_VERSION)

    if isinstance(source, str) and not size_violations(source, policy):
        static = static_check(source, policy, entry_point)
    else:  # not text, or too large to send: refused by counting alone, before any tokenizing
        static = StaticVerdict((parse_stage(source, policy),), source if isinstance(source, str) else "")
    text = static.source
    name, digest = module_name(text)
    stages.extend(static.stages)
    if not all(s.ok for s in stages):
        return verdict()
    request = {
        "source": text, "name": name, "entry_point": entry_point, "policy": policy_to_dict(policy),
        "hook": hook if verify is True else None,
        "verify": _reference(verify) if callable(verify) else None,
        "protocol": protocol_name if hook is None else "",
        "run_suite": verify is not False, "max_examples": limits.max_examples,
    }
    stages.extend(_run_child(request, limits))
    return verdict()
