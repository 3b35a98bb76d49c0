"""Hooks: the places in the inner loop where a mechanism can act.

The contract every mechanism follows, whatever its hook:

* A mechanism is one Python module. It defines a class implementing exactly one
  hook Protocol below and a module-level entry point ``build(seed: int)`` that
  returns a new instance. The engine calls ``build`` once per activation.
* Imports: only ``math``, ``random``, ``statistics``, ``collections``,
  ``itertools``, ``functools``, ``heapq``, ``bisect``, ``dataclasses``,
  ``typing``, ``enum``, ``operator``, ``fractions``, ``decimal``, ``copy``,
  ``string``, ``re``. Nothing else: no I/O, no ``os``, ``sys``, ``time``.
* Private names (``_helper()``, ``self._tabu``) are fine on your own module,
  classes and objects, never on anything else; no dunder names (``__x__``,
  ``__x``). The only dunder methods a class may define are ``__init__``,
  ``__eq__``, ``__ne__``, ``__lt__``, ``__le__``, ``__gt__``, ``__ge__`` and
  ``__contains__``. Not available: ``eval``, ``exec``, ``compile``, ``open``,
  ``setattr``, ``delattr``, ``globals``, ``vars``, ``type``, ``super``,
  ``classmethod``, ``print`` for output, ``async``, ``global``;
  ``getattr``/``hasattr`` only with a literal name. Write
  ``self.count += 1``, not ``setattr(self, "count", ...)``.
* State lives on ``self`` (lists, dicts, counters, ``random.Random(seed)``).
  Never use the module-level ``random.random()``: create
  ``self.rng = random.Random(seed)`` in ``__init__`` so that two instances
  built from the same seed answer the same inputs identically.
* Arguments are owned by the engine and read-only: read them, copy what you
  need, never modify them, never keep references to them between calls.
* Return plain data only: ``None``, ``bool``, ``int``, ``float``, ``str``, and
  lists / dicts of those.
* Every call has a time budget (``CALL_BUDGET_S`` of the hook's module). A
  mechanism that raises, exceeds its budget, or returns the wrong type is
  ejected and the search goes on without it.

The argument types (``Proposal``, ``Trial``, ``TraceView``, ``SearchSpace``,
``SearchConfig``) are documented in :mod:`interfaces`.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from . import acceptance_rule, observer, prompt_advisor, proposal_filter, proposal_source
from ._kinds import ENGINE_DEFAULT, AnswerCheck, ArgKind, Combine, Effect, WrongType
from .acceptance_rule import AcceptanceRule
from .observer import Observer
from .prompt_advisor import PromptAdvisor
from .proposal_filter import ProposalFilter
from .proposal_source import ProposalSource

__all__ = [
    "AcceptanceRule",
    "AnswerCheck",
    "ArgKind",
    "Combine",
    "ENGINE_DEFAULT",
    "Effect",
    "HookSpec",
    "HOOKS",
    "HOOK_CONSTANTS",
    "Observer",
    "PromptAdvisor",
    "ProposalFilter",
    "ProposalSource",
    "WrongType",
    "hook_spec",
    "register_hook",
    "unregister_hook",
]

#: The constants a hook module declares beside its Protocol, read by :meth:`HookSpec.from_module`.
HOOK_CONSTANTS = ("HOOK", "METHOD", "CALL_BUDGET_S", "ARGUMENTS", "COMBINE", "NOTHING", "EFFECT", "ANSWER")


@dataclass(frozen=True)
class HookSpec:
    """Everything the engine and the sandbox need to know about one hook.

    Built from the hook module's constants by :meth:`from_module`, and checked
    against its Protocol when built: one argument kind per parameter, each
    annotated with its kind's type. ``returns`` is read off the Protocol.
    """

    name: str  # stable short name: "filter", "source", ...
    protocol: Any  # the typing.Protocol class
    method: str  # the single method the engine calls
    call_budget_s: float  # wall-clock budget per call
    module: Any  # the interface module (its docstring is the contract)
    arguments: tuple[ArgKind, ...]  # what each argument of the method is, in order
    combine: Combine  # how the mechanisms of the hook combine
    nothing: Any  # the answer that means "no effect this time" (ENGINE_DEFAULT: the engine's own answer)
    effect: Effect  # what any other answer is recorded as
    answer: AnswerCheck | None  # how an answer is read; None where answers are not read (Combine.ALL_SEE)
    returns: Any = field(init=False)  # the method's return annotation

    def __post_init__(self) -> None:
        object.__setattr__(self, "arguments", tuple(ArgKind(kind) for kind in self.arguments))
        problem = _problem(self)
        if problem:
            raise ValueError(f"hook {self.name!r} ({getattr(self.module, '__name__', self.module)}): {problem}")
        hints = typing.get_type_hints(getattr(self.protocol, self.method))
        object.__setattr__(self, "returns", hints.get("return", Any))

    @classmethod
    def from_module(cls, module: ModuleType, protocol: Any) -> HookSpec:
        """The spec a hook module declares: its ``HOOK``, ``METHOD``, ``CALL_BUDGET_S``,
        ``ARGUMENTS``, ``COMBINE``, ``NOTHING``, ``EFFECT`` and ``ANSWER`` constants."""
        missing = [name for name in HOOK_CONSTANTS if not hasattr(module, name)]
        if missing:
            raise ValueError(f"hook module {module.__name__} does not declare {', '.join(missing)}")
        return cls(module.HOOK, protocol, module.METHOD, module.CALL_BUDGET_S, module, tuple(module.ARGUMENTS),
                   module.COMBINE, module.NOTHING, module.EFFECT, module.ANSWER)

    @property
    def calls_are_effects(self) -> bool:
        """True for a hook whose every call is its effect (an observer's is its observation)."""
        return self.effect is Effect.OBSERVED


def _problem(spec: HookSpec) -> str:
    """What is inconsistent in ``spec``, or ''."""
    method = getattr(spec.protocol, spec.method, None)
    if not callable(method):
        return f"the Protocol {getattr(spec.protocol, '__name__', spec.protocol)} has no method {spec.method}()"
    if not spec.call_budget_s > 0:
        return f"the call budget must be positive, got {spec.call_budget_s}"
    parameters = list(inspect.signature(method).parameters)[1:]  # without self
    if len(parameters) != len(spec.arguments):
        return (f"{spec.method}() takes {len(parameters)} arguments but ARGUMENTS names {len(spec.arguments)} "
                "kinds")
    if len(set(spec.arguments)) != len(spec.arguments):
        return "ARGUMENTS names a kind twice"
    hints = typing.get_type_hints(method)
    for parameter, kind in zip(parameters, spec.arguments, strict=True):
        if hints.get(parameter) != kind.annotation:
            return (f"argument {parameter} is annotated {hints.get(parameter)}, but its kind {kind.value} is "
                    f"passed as {kind.annotation}")
    if ArgKind.TRACE_WITH_TRIAL in spec.arguments and not any(kind.is_trial for kind in spec.arguments):
        return "a trace_with_trial argument needs a finished_trial or decided_trial argument"
    if (spec.combine is Combine.ALL_SEE) != (spec.answer is None):
        return "ANSWER is None exactly when COMBINE is ALL_SEE (whose answers are not read)"
    if (spec.combine is Combine.ALL_SEE) != (spec.effect is Effect.OBSERVED):
        return "EFFECT is OBSERVED exactly when COMBINE is ALL_SEE"
    if (spec.combine is Combine.LATEST_DECIDES) != (spec.nothing is ENGINE_DEFAULT):
        return "NOTHING is ENGINE_DEFAULT exactly when COMBINE is LATEST_DECIDES"
    reserved = {"changes"} if ArgKind.PROPOSAL in spec.arguments else set()
    reserved |= {"default"} if spec.combine is Combine.LATEST_DECIDES else set()
    if spec.answer is not None and spec.answer.key in reserved | {"effect", "trial"}:
        return f"the answer's record key {spec.answer.key!r} is taken; the effect record already has it"
    return ""


HOOKS: dict[str, HookSpec] = {
    spec.name: spec
    for spec in (
        HookSpec.from_module(proposal_filter, ProposalFilter),
        HookSpec.from_module(proposal_source, ProposalSource),
        HookSpec.from_module(prompt_advisor, PromptAdvisor),
        HookSpec.from_module(acceptance_rule, AcceptanceRule),
        HookSpec.from_module(observer, Observer),
    )
}
_BUILT_IN = frozenset(HOOKS)


def hook_spec(name_or_protocol: Any) -> HookSpec:
    """Look a hook up by its short name, its Protocol class or that class's name.

    The class's name is what an admission record keeps, so the mechanism host
    finds the hook of an admitted mechanism here too: one lookup for all.
    """
    for spec in HOOKS.values():
        if name_or_protocol in (spec.name, spec.protocol, spec.protocol.__name__):
            return spec
    known = ", ".join(HOOKS)
    raise KeyError(f"unknown hook {name_or_protocol!r}; known hooks: {known}")


def register_hook(spec: HookSpec) -> HookSpec:
    """Add a hook declared outside this package (a test's, a plug-in's) to :data:`HOOKS`.

    A hook of this project is registered by its line in the list above
    instead. Whatever reads :data:`HOOKS` from then on serves it; the Level 2
    dialogue's answer schema is built when ``engine.llm`` is first imported,
    so register before that for it to offer the hook. Raises ValueError when
    the name or the Protocol's class name is taken (:func:`hook_spec` finds a
    hook by either).
    """
    for known in HOOKS.values():
        if spec.name == known.name or spec.protocol.__name__ == known.protocol.__name__:
            raise ValueError(f"hook {spec.name!r} ({spec.protocol.__name__}) clashes with the registered hook "
                             f"{known.name!r} ({known.protocol.__name__})")
    HOOKS[spec.name] = spec
    return spec


def unregister_hook(name: str) -> HookSpec:
    """Remove a hook added by :func:`register_hook`; the built-in hooks stay."""
    if name in _BUILT_IN:
        raise ValueError(f"{name!r} is a built-in hook; it is declared in interfaces/hooks/__init__.py")
    spec = HOOKS.pop(name, None)
    if spec is None:
        raise KeyError(f"no hook {name!r} was registered")
    return spec
