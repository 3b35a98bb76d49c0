"""The Level 2 contract text, generated from the interface modules themselves.

No contract text is written twice: the general rules are the docstring of
:mod:`interfaces.hooks`, each hook's contract is its module docstring, the
argument types are read off the records' fields, enums and method docstrings,
and the worked example is a mechanism from the library, admitted like any
other.

Compact on purpose: a small local model reads this at about 70 prompt tokens
per second, so only the types a hook can reach are described, and the example
is shown without its docstrings and comments (the code is what it teaches).
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import re
import typing
from typing import Any

from interfaces import HOOKS, hook_spec, hooks as hooks_module

__all__ = [
    "general_contract",
    "hook_contract",
    "all_hooks_summary",
    "argument_types",
    "types_for_hook",
    "compact_source",
    "example_source",
]

# Serialisation helpers and record-builders: a mechanism never needs them.
# The engine's own validation helpers are left out too: a mechanism reads the specs' bounds.
_HIDDEN = frozenset({"from_dict", "from_list", "to_dict", "to_list", "statuses", "with_decision", "with_params",
                     "lock", "freeze", "unfreeze", "coerce", "validate", "check"})
# What each argument type leads to: a TraceView holds Trials, a SearchSpace ParamSpecs.
_REACHES = {"TraceView": ("Trial",), "Trial": (), "SearchSpace": ("ParamSpec",), "Proposal": (),
            "SearchConfig": (), "ParamSpec": ()}
_MODULE_PREFIX = re.compile(r"\b(?:typing|interfaces(?:\.\w+)*)\.")
# The order types are described in: containers before what they contain.
_ORDER = ("Proposal", "TraceView", "Trial", "SearchSpace", "ParamSpec", "SearchConfig")


def general_contract() -> str:
    text = inspect.cleandoc(hooks_module.__doc__ or "")
    # The docstring's last paragraph points at the interface docs; the prompt lists the types itself.
    paragraphs = [p for p in text.split("\n\n") if "documented in" not in p]
    return "\n\n".join(paragraphs)


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


def types_for_hook(hook: str) -> tuple[str, ...]:
    """The argument types a hook's method receives, and the types they hold, in a stable order."""
    spec = hook_spec(hook)
    signature = inspect.signature(getattr(spec.protocol, spec.method))
    wanted: set[str] = set()
    pending = [name for name in _ORDER for p in signature.parameters.values() if name in str(p.annotation)]
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(_REACHES[name])
    return tuple(name for name in _ORDER if name in wanted)


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "str, one of " + " | ".join(str(m.value) for m in annotation)
    if isinstance(annotation, type):
        return annotation.__name__
    return _MODULE_PREFIX.sub("", str(annotation))


def _describe_type(cls: type) -> str:
    lines = [f"{cls.__name__}:"]
    hints = typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
    for f in dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ():
        if not f.name.startswith("_"):
            lines.append(f"  .{f.name}: {_type_name(hints.get(f.name, f.type))}")
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or name in _HIDDEN:
            continue
        if isinstance(member, property):
            doc = inspect.getdoc(member)
            lines.append(f"  .{name}" + (f": {doc.splitlines()[0]}" if doc else ""))
        elif callable(member):
            try:
                sig = str(inspect.signature(member)).replace("self, ", "").replace("(self)", "()").replace("'", "")
            except (TypeError, ValueError):
                sig = "(...)"
            doc = inspect.getdoc(member)
            lines.append(f"  .{name}{sig}" + (f": {doc.splitlines()[0]}" if doc else ""))
    if cls.__name__ == "SearchSpace":
        lines.append("  space[name] -> ParamSpec; name in space -> bool")
    return "\n".join(lines)


def argument_types(hook: str | None = None) -> str:
    """The public fields and queries of the argument types, from the records themselves.

    With ``hook``, only the types that hook's method can reach; otherwise all of them.
    """
    import interfaces

    names = types_for_hook(hook) if hook is not None else _ORDER
    return "\n".join(_describe_type(getattr(interfaces, name)) for name in names)


class _Undocument(ast.NodeTransformer):
    """Drops docstrings; ``ast.unparse`` already drops comments."""

    def _strip(self, node: Any) -> Any:
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_Module = visit_ClassDef = visit_FunctionDef = _strip


def compact_source(source: str) -> str:
    """The same module without docstrings, comments and ``from __future__`` lines."""
    tree = _Undocument().visit(ast.parse(source))
    tree.body = [n for n in tree.body if not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
    return ast.unparse(tree) + "\n"


def example_source(hook: str) -> tuple[str, str] | None:
    """The library's worked example for ``hook`` as ``(name, compact source)``, or None when there is none."""
    import mechanism_library

    try:
        entry = mechanism_library.example_for(hook)
    except mechanism_library.LibraryError as exc:
        if exc.code != "no-example":
            raise
        return None  # no example is better than a wrong one; the contract is still complete
    return entry.name, compact_source(entry.source)
