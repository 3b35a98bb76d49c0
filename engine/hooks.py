"""The hook registry: where admitted mechanisms are spliced into the loop.

Mechanisms never run in this process. Each active mechanism is a handle into
the sandbox's mechanism host; every call goes over the pipe as plain data and
comes back as a call record. The registry counts every call and records every
effect (a veto, a proposal produced, a decision flipped, advice added), so the
engine can prove a mechanism was invoked and did something. A mechanism whose
call fails in any way is ejected at once and the loop goes on.

Order: mechanisms compose in activation order, by the rule each hook's spec
declares (:class:`interfaces.Combine`): sources, the first that proposes
wins; filters, the first veto wins; advisors, all advice is joined;
acceptance, the most recently activated rule decides; observers, all see
every trial. :meth:`HookRegistry.ask` applies the rule of any hook;
``propose``, ``veto``, ``advise``, ``decide`` and ``observe`` are the
built-in hooks' calls in the shape the inner loop uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from interfaces import (
    ENGINE_DEFAULT,
    HOOKS,
    ArgKind,
    Combine,
    HookSpec,
    Proposal,
    SearchConfig,
    SearchSpace,
    TraceView,
    Trial,
    WrongType,
    hook_spec,
)
from sandbox import matches_annotation

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
            self.eject(mechanism, getattr(result, "code", "call-failed"), getattr(result, "message", ""))
            return False, None
        return True, result.value

    def _effect(self, mechanism: ActiveMechanism, kind: str, data: Mapping[str, Any]) -> None:
        mechanism.effects += 1
        record = dict(data, effect=kind, trial=self.trial_index)
        mechanism.effect_log.append(record)
        self.on_event(mechanism.name, "effect", self.trial_index, record)

    def ask(self, hook: str, *args: Any, default: Any = None) -> list[tuple[str, Any]]:
        """Call ``hook``'s active mechanisms with ``args``, combined by the hook's rule.

        The ``(mechanism name, answer)`` pairs that count, in activation order:
        the first answer that is not the hook's NOTHING (``FIRST_ANSWER``,
        ``FIRST_VETO``), every such answer (``ALL_JOINED``), the latest rule's
        answer whatever it is (``LATEST_DECIDES``; ``default`` is the engine's
        own answer, its NOTHING), none (``ALL_SEE``). Each answer that is not
        NOTHING is recorded as the hook's effect; a failed call ejects its
        mechanism and the round goes on without it.
        """
        spec = hook_spec(hook)
        mechanisms = self.of(spec.name)
        if spec.combine is Combine.LATEST_DECIDES:
            mechanisms = mechanisms[-1:]
        nothing = default if spec.nothing is ENGINE_DEFAULT else spec.nothing
        counted: list[tuple[str, Any]] = []
        for mechanism in list(mechanisms):
            ok, value = self._call(mechanism, *args)
            if not ok or spec.answer is None:  # an ALL_SEE hook's answers are not read
                continue
            read, answer = self._read(spec, mechanism, value, nothing)
            if not read:
                continue
            acted = answer != nothing
            if acted:
                self._effect(mechanism, spec.effect.value, self._effect_data(spec, args, answer, default))
            if acted or spec.combine is Combine.LATEST_DECIDES:  # the latest rule's answer counts either way
                counted.append((mechanism.name, answer))
            if acted and spec.combine.stops_at_first:
                break
        return counted

    def _read(self, spec: HookSpec, mechanism: ActiveMechanism, value: Any, nothing: Any) -> tuple[bool, Any]:
        """``(True, answer)`` as the hook's answer check reads ``value``; ``(False, None)`` once ejected."""
        check = spec.answer
        assert check is not None
        if not matches_annotation(value, spec.returns):
            if check.wrong_type is WrongType.EJECT:
                self.eject(mechanism, "wrong-return-type",
                           f"{spec.method} must return {_shown(spec.returns)}, got {type(value).__name__}")
                return False, None
            value = nothing if check.wrong_type is WrongType.IGNORE else str(value)
        if isinstance(value, str):
            value = value.strip() if check.strip else value
            value = value[:check.max_chars] if check.max_chars is not None else value
        return True, value

    @staticmethod
    def _effect_data(spec: HookSpec, args: tuple[Any, ...], answer: Any, default: Any) -> dict[str, Any]:
        """The effect record: what the answer was about (a proposal's changes, the engine's own
        answer) and the answer under the hook's key."""
        data: dict[str, Any] = {}
        for kind, argument in zip(spec.arguments, args, strict=False):
            if kind is ArgKind.PROPOSAL:
                data["changes"] = dict(argument.changes)
        if spec.combine is Combine.LATEST_DECIDES:
            data["default"] = default
        assert spec.answer is not None
        data[spec.answer.key] = answer
        return data

    def propose(self, trace: TraceView, space: SearchSpace, config: SearchConfig) -> tuple[dict[str, Any], str] | None:
        """The first source's proposal as ``(changes, mechanism name)``, or None when none proposes."""
        counted = self.ask("source", trace, space, config)
        return (counted[0][1], counted[0][0]) if counted else None

    def veto(self, proposal: Proposal, trace: TraceView, space: SearchSpace) -> tuple[str, str] | None:
        """The first filter's veto as ``(reason, mechanism name)``, or None when all pass it."""
        counted = self.ask("filter", proposal, trace, space)
        return (counted[0][1], counted[0][0]) if counted else None

    def advise(self, trace: TraceView, space: SearchSpace, config: SearchConfig) -> list[tuple[str, str]]:
        """Every advisor's advice as ``(mechanism name, text)``, in activation order."""
        return self.ask("advisor", trace, space, config)

    def decide(self, trial: Trial, incumbent: Trial | None, trace: TraceView, default: bool) -> tuple[bool, str | None]:
        """The latest acceptance mechanism's decision, or ``default``."""
        counted = self.ask("acceptance", trial, incumbent, trace, default=default)
        return (counted[0][1], counted[0][0]) if counted else (default, None)

    def observe(self, trial: Trial, trace: TraceView) -> None:
        """Show every observer the decided ``trial``; an observer's effect is the call itself."""
        self.ask("observer", trial, trace)

    def summaries(self) -> list[dict[str, Any]]:
        return [m.summary() for m in self.active]


def _shown(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")
