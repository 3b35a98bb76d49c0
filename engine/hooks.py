"""The hook registry: where admitted mechanisms are spliced into the loop.

Mechanisms never run in this process. Each active mechanism is a handle into
the sandbox's mechanism host; every call goes over the pipe as plain data and
comes back as a call record. The registry counts every call and records every
effect (a veto, a proposal produced, a decision flipped, advice added), so the
engine can prove a mechanism was invoked and did something. A mechanism whose
call fails in any way is ejected at once and the loop goes on.

Order: mechanisms compose in activation order. Sources: the first that
proposes wins. Filters: the first veto wins. Advisors: all advice is joined.
Acceptance: the most recently activated rule decides. Observers: all see
every trial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from interfaces import HOOKS, Proposal, SearchConfig, SearchSpace, TraceView, Trial

__all__ = ["ActiveMechanism", "HookRegistry", "MechanismCaller", "EventSink"]

EventSink = Callable[[str, str, "int | None", Mapping[str, Any]], None]


class MechanismCaller(Protocol):
    """What the registry needs from the mechanism host (see ``sandbox``)."""

    def call(self, handle: Any, *args: Any) -> Any:
        """Return a record with ``ok``, ``value``, ``code``, ``message``."""
        ...

    def unload(self, handle: Any) -> Any:
        ...


@dataclass
class ActiveMechanism:
    name: str
    hook: str
    handle: Any
    activated_at: int
    calls: int = 0
    effects: int = 0
    failures: int = 0
    flushed_calls: int = 0
    effect_log: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hook": self.hook,
            "activated_at": self.activated_at,
            "calls": self.calls,
            "effects": self.effects,
        }


class HookRegistry:
    def __init__(self, caller: MechanismCaller | None, on_event: EventSink | None = None) -> None:
        self.caller = caller
        self.on_event = on_event or (lambda *_: None)
        self.active: list[ActiveMechanism] = []
        self.ejected: list[dict[str, Any]] = []
        self.trial_index = 0  # the trial the loop is working on, for event records

    # -- lifecycle -------------------------------------------------------
    def activate(self, name: str, hook: str, handle: Any, at_trial: int) -> ActiveMechanism:
        if hook not in HOOKS:
            raise KeyError(f"unknown hook {hook!r}")
        mechanism = ActiveMechanism(name, hook, handle, at_trial)
        self.active.append(mechanism)
        self.on_event(name, "activation", at_trial, {"hook": hook})
        return mechanism

    def get(self, name: str) -> ActiveMechanism | None:
        return next((m for m in self.active if m.name == name), None)

    def remove(self, name: str, kind: str, data: Mapping[str, Any]) -> ActiveMechanism | None:
        """Take a mechanism out of every hook and out of the host."""
        mechanism = self.get(name)
        if mechanism is None:
            return None
        self.flush_calls(mechanism)
        self.active.remove(mechanism)
        if self.caller is not None:
            try:
                self.caller.unload(mechanism.handle)
            except Exception as exc:  # noqa: BLE001 - the host may be gone; the hook goes regardless
                data = dict(data, unload_error=str(exc))
        self.on_event(name, kind, self.trial_index, dict(data, **mechanism.summary()))
        return mechanism

    def revert(self, name: str, reason: str) -> ActiveMechanism | None:
        return self.remove(name, "revert", {"reason": reason})

    def eject(self, mechanism: ActiveMechanism, code: str, message: str) -> None:
        self.ejected.append({"name": mechanism.name, "code": code, "message": message,
                             "trial": self.trial_index})
        self.remove(mechanism.name, "ejection", {"code": code, "reason": message})

    def flush_calls(self, mechanism: ActiveMechanism | None = None) -> None:
        """Store call counts made since the last flush (as increments)."""
        for m in [mechanism] if mechanism is not None else list(self.active):
            delta = m.calls - m.flushed_calls
            if delta > 0:
                m.flushed_calls = m.calls
                self.on_event(m.name, "calls", self.trial_index, {"counts": {m.hook: delta}})

    def of(self, hook: str) -> list[ActiveMechanism]:
        return [m for m in self.active if m.hook == hook]

    # -- calls -------------------------------------------------------------
    def _call(self, mechanism: ActiveMechanism, *args: Any) -> tuple[bool, Any]:
        assert self.caller is not None
        mechanism.calls += 1
        result = self.caller.call(mechanism.handle, *args)
        if not getattr(result, "ok", False):
            mechanism.failures += 1
            self.eject(mechanism, getattr(result, "code", "call-failed"), getattr(result, "message", ""))
            return False, None
        return True, result.value

    def _effect(self, mechanism: ActiveMechanism, kind: str, data: Mapping[str, Any]) -> None:
        mechanism.effects += 1
        record = dict(data, effect=kind, trial=self.trial_index)
        mechanism.effect_log.append(record)
        self.on_event(mechanism.name, "effect", self.trial_index, record)

    def propose(self, trace: TraceView, space: SearchSpace, config: SearchConfig) -> tuple[dict[str, Any], str] | None:
        for mechanism in list(self.of("source")):
            ok, value = self._call(mechanism, trace, space, config)
            if not ok or value is None:
                continue
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                self.eject(mechanism, "wrong-return-type", f"propose must return a dict or None, got {type(value).__name__}")
                continue
            self._effect(mechanism, "proposed", {"changes": value})
            return value, mechanism.name
        return None

    def veto(self, proposal: Proposal, trace: TraceView, space: SearchSpace) -> tuple[str, str] | None:
        for mechanism in list(self.of("filter")):
            ok, value = self._call(mechanism, proposal, trace, space)
            if not ok or value is None:
                continue
            reason = str(value)[:300]
            self._effect(mechanism, "vetoed", {"changes": dict(proposal.changes), "reason": reason})
            return reason, mechanism.name
        return None

    def advise(self, trace: TraceView, space: SearchSpace, config: SearchConfig) -> list[tuple[str, str]]:
        advice = []
        for mechanism in list(self.of("advisor")):
            ok, value = self._call(mechanism, trace, space, config)
            if ok and isinstance(value, str) and value.strip():
                text = value.strip()[:500]
                self._effect(mechanism, "advised", {"advice": text})
                advice.append((mechanism.name, text))
        return advice

    def decide(self, trial: Trial, incumbent: Trial | None, trace: TraceView, default: bool) -> tuple[bool, str | None]:
        """The latest acceptance mechanism's decision, or ``default``."""
        rules = self.of("acceptance")
        if not rules:
            return default, None
        mechanism = rules[-1]
        ok, value = self._call(mechanism, trial, incumbent, trace)
        if not ok:
            return default, None
        if not isinstance(value, bool):
            self.eject(mechanism, "wrong-return-type", f"decide must return a bool, got {type(value).__name__}")
            return default, None
        if value != default:
            self._effect(mechanism, "flipped", {"default": default, "decision": value})
        return value, mechanism.name

    def observe(self, trial: Trial, trace: TraceView) -> None:
        for mechanism in list(self.of("observer")):
            ok, _ = self._call(mechanism, trial, trace)
            if ok:
                # An observer's effect is the observation itself; it is counted as a call.
                pass

    def summaries(self) -> list[dict[str, Any]]:
        return [m.summary() for m in self.active]
