"""The one entry point: ``admit(source, protocol)`` -> :class:`Admission`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._parse import parse_stage
from ._policy import DEFAULT_POLICY, Limits, Policy
from ._prescan import size_violations
from ._records import Admission, StageResult
from ._verify import verify_stages
from ._worker import StaticVerdict, static_check

if TYPE_CHECKING:
    from interfaces import HookSpec

__all__ = ["admit", "module_name", "SANDBOX_VERSION"]

SANDBOX_VERSION = "0.1.0"
#: The per-call budget of a mechanism for a Protocol that no hook declares (no hook module gives one).
_UNDECLARED_BUDGET_S = 2.0


def module_name(source: str) -> tuple[str, str]:
    """The content-derived module name and the full sha256 digest of ``source``."""
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    return f"mechanism_{digest[:16]}", digest


def _reference(obj: Any) -> str:
    qualname = getattr(obj, "__qualname__", "")
    if "<" in qualname or not getattr(obj, "__module__", None):
        raise ValueError(f"{obj!r} must be defined at module level so the admission record can name it")
    return f"{obj.__module__}:{qualname}"


def _hook_of(protocol: Any) -> tuple[str, HookSpec | None]:
    """(protocol name, hook spec) for a hook name or Protocol class; a Protocol no hook declares has no spec."""
    try:
        from interfaces import hook_spec

        spec = hook_spec(protocol)
        return spec.protocol.__name__, spec
    except (ImportError, KeyError):
        if isinstance(protocol, str):
            raise ValueError(f"unknown hook name {protocol!r}") from None
        return _reference(protocol), None


def admit(source: str, protocol: Any, *, policy: Policy = DEFAULT_POLICY, limits: Limits = Limits(),
          verify: bool | Callable[..., Any] = True, entry_point: str = "build") -> Admission:
    """Decide whether ``source`` may run as a mechanism for ``protocol``.

    Never raises for bad code: every problem is a :class:`Violation` in the
    returned record. Stages: parse, guard, compile in the admission worker
    (:mod:`sandbox._worker`, a limited child: no untrusted text is parsed in
    this process, and a parser crash or hang is a ``parse-crashed`` or
    ``parse-timeout`` record); then load in two limited mechanism processes
    (different hash seeds) and verify with the hook's conformance suite driven
    from this process, so the verdict is this process's own. When the guard
    hands back a rewritten source, that text is what is named, digested,
    loaded and recorded. ``verify=False`` only loads and checks the entry
    point; a callable replaces the hook's suite: it is called with ``build``
    and raises to refuse.
    """
    protocol_name, spec = _hook_of(protocol)
    hook = spec.name if spec is not None else None
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
    stages.extend(verify_stages(text, name, entry_point=entry_point, policy=policy, limits=limits,
                                suite=_suite(verify, hook, protocol, limits),
                                call_budget_s=spec.call_budget_s if spec is not None else _UNDECLARED_BUDGET_S))
    return verdict()


def _suite(verify: bool | Callable[..., Any], hook: str | None, protocol: Any,
           limits: Limits) -> Callable[..., None] | None:
    """What the verify stage runs against the remote builders, or None (load only)."""
    if verify is False:
        return None
    if callable(verify):
        return lambda build, twin: verify(build)
    if hook is not None:
        from ._conformance import check_hook

        return lambda build, twin: check_hook(hook, build, build_twin=twin, max_examples=limits.max_examples)

    def structural(build: Callable[[int], Any], twin: Callable[[int], Any]) -> None:
        instance = build(0)
        if not isinstance(instance, protocol):
            raise AssertionError(f"build(0) returned an object that does not implement "
                                 f"{getattr(protocol, '__name__', protocol)}")

    return structural
