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

from dataclasses import dataclass
from typing import Any

from . import acceptance_rule, observer, prompt_advisor, proposal_filter, proposal_source
from .acceptance_rule import AcceptanceRule
from .observer import Observer
from .prompt_advisor import PromptAdvisor
from .proposal_filter import ProposalFilter
from .proposal_source import ProposalSource

__all__ = [
    "AcceptanceRule",
    "HookSpec",
    "HOOKS",
    "Observer",
    "PromptAdvisor",
    "ProposalFilter",
    "ProposalSource",
    "hook_spec",
]


@dataclass(frozen=True)
class HookSpec:
    """Everything the engine and the sandbox need to know about one hook."""

    name: str  # stable short name: "filter", "source", ...
    protocol: Any  # the typing.Protocol class
    method: str  # the single method the engine calls
    call_budget_s: float  # wall-clock budget per call
    module: Any  # the interface module (its docstring is the contract)


def _spec(module: Any, protocol: Any) -> HookSpec:
    return HookSpec(module.HOOK, protocol, module.METHOD, module.CALL_BUDGET_S, module)


HOOKS: dict[str, HookSpec] = {
    spec.name: spec
    for spec in (
        _spec(proposal_filter, ProposalFilter),
        _spec(proposal_source, ProposalSource),
        _spec(prompt_advisor, PromptAdvisor),
        _spec(acceptance_rule, AcceptanceRule),
        _spec(observer, Observer),
    )
}


def hook_spec(name_or_protocol: Any) -> HookSpec:
    """Look a hook up by its short name or its Protocol class."""
    for spec in HOOKS.values():
        if name_or_protocol in (spec.name, spec.protocol):
            return spec
    known = ", ".join(HOOKS)
    raise KeyError(f"unknown hook {name_or_protocol!r}; known hooks: {known}")
