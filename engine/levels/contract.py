"""The Level 2 contract text, generated from the interface modules themselves.

No contract text is written twice: the general rules are the docstring of
:mod:`interfaces.hooks`, each hook's contract is its module docstring, and the
worked example is a mechanism from the library, admitted like any other.
"""

from __future__ import annotations

import inspect
from interfaces import HOOKS, hook_spec
from interfaces import hooks as hooks_module

__all__ = ["general_contract", "hook_contract", "all_hooks_summary", "argument_types"]


def general_contract() -> str:
    return inspect.cleandoc(hooks_module.__doc__ or "")


def hook_contract(hook: str) -> str:
    spec = hook_spec(hook)
    doc = inspect.cleandoc(spec.module.__doc__ or "")
    signature = inspect.signature(getattr(spec.protocol, spec.method))
    return f"{doc}\n\nSignature: def {spec.method}{signature}\nCall budget: {spec.call_budget_s} s"


def all_hooks_summary() -> str:
    lines = []
    for name, spec in HOOKS.items():
        first = inspect.cleandoc(spec.module.__doc__ or "").splitlines()[0]
        lines.append(f"- {name}: {first.split(': ', 1)[-1]}")
    return "\n".join(lines)


def argument_types() -> str:
    """The public queries of the argument types, from their docstrings."""
    from interfaces import SearchConfig, SearchSpace, TraceView, Trial

    out = []
    for cls in (TraceView, Trial, SearchSpace, SearchConfig):
        members = []
        for name, member in inspect.getmembers(cls):
            if name.startswith("_") or name in ("from_dict", "from_list", "to_dict", "to_list", "statuses"):
                continue
            doc = inspect.getdoc(member) if callable(member) else None
            if callable(member):
                try:
                    sig = str(inspect.signature(member)).replace("self, ", "").replace("(self)", "()")
                except (TypeError, ValueError):
                    sig = "(...)"
                members.append(f"  .{name}{sig}" + (f": {doc.splitlines()[0]}" if doc else ""))
            elif isinstance(member, property):
                members.append(f"  .{name}")
        fields = getattr(cls, "__dataclass_fields__", {})
        attrs = [f"  .{f}" for f in fields if not f.startswith("_")]
        out.append(f"{cls.__name__}:\n" + "\n".join(attrs + members))
    return "\n".join(out)
