"""The module the engine writes around a model's method body.

A small model asked for a whole mechanism spends its tokens on boilerplate
and loses points on it: a ``build`` indented into the class, the module-level
``random``, a forbidden import. Here the engine writes all of that. The
module is rendered from the hook's Protocol module (method name and
signature) plus the action helpers of :mod:`engine.levels.fill.helpers`, and
has exactly one hole: the body of the hook method.

``Skeleton.prefill`` is what the model sees as the start of its own answer
(the class down to the method's docstring); ``Skeleton.assemble(body)`` is
the module submitted to the sandbox. Both are plain text, so the line of
every violation can be mapped back to the line of the body the model wrote
(``Skeleton.body_line``).
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from interfaces import hook_spec

__all__ = ["BODY_INDENT", "Skeleton", "helper_signatures", "helpers_source", "render"]

BODY_INDENT = " " * 8
_HELPERS_PATH = Path(__file__).with_name("helpers.py")
_IMPORTS = "import math\nimport random\n"


@lru_cache(maxsize=1)
def helpers_source() -> str:
    """The helper library as it is pasted into every generated module (its module docstring dropped)."""
    tree = ast.parse(_HELPERS_PATH.read_text())
    lines = _HELPERS_PATH.read_text().splitlines(keepends=True)
    start = 0
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        start = first.end_lineno or 0
    kept = [line for line in lines[start:] if not re.match(r"\s*(import|from)\s", line)]
    return "".join(kept).strip() + "\n"


@lru_cache(maxsize=1)
def helper_signatures() -> tuple[str, ...]:
    """``name(args): first docstring line`` for each helper, in the library's own order."""
    tree = ast.parse(_HELPERS_PATH.read_text())
    order: list[str] = []
    functions: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = node
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "HELPERS" for t in node.targets):
            order = [str(e.value) for e in getattr(node.value, "elts", ()) if isinstance(e, ast.Constant)]
    lines = []
    for name in order or [n for n in functions if not n.startswith("_")]:
        node = functions[name]
        doc = (ast.get_docstring(node) or "").strip().splitlines()
        lines.append(f"{name}({ast.unparse(node.args)})" + (f": {doc[0]}" if doc else ""))
    return tuple(lines)


@dataclass(frozen=True)
class Skeleton:
    """One hook's module with a hole where the method body goes."""

    hook: str
    class_name: str
    method: str
    parameters: tuple[str, ...]
    header: str  # the module down to and including the method's docstring
    footer: str  # everything after the body: build(seed)
    prefill: str  # the part of the header the model is shown as its own answer so far

    @property
    def body_start_line(self) -> int:
        """The module line on which the body's first line lands."""
        return self.header.count("\n") + 1

    def assemble(self, body: str) -> str:
        return self.header + body.rstrip() + "\n" + self.footer

    def body_line(self, module_line: int | None, body: str) -> int | None:
        """The line of ``body`` (1-based) that module line ``module_line`` holds; None outside the body."""
        if module_line is None:
            return None
        line = module_line - self.body_start_line + 1
        return line if 1 <= line <= len(body.rstrip().splitlines()) else None


def _signature(hook: str) -> tuple[str, tuple[str, ...]]:
    spec = hook_spec(hook)
    parameters = tuple(p for p in inspect.signature(getattr(spec.protocol, spec.method)).parameters if p != "self")
    return spec.method, parameters


def render(hook: str, class_name: str, goal: str, returns: str) -> Skeleton:
    """The module for ``hook`` whose method docstring states ``goal`` and what it ``returns``.

    ``class_name`` must be a valid identifier; the engine picks it, so it is
    never something a model chose.
    """
    if not class_name.isidentifier():
        raise ValueError(f"class name {class_name!r} is not an identifier")
    method, parameters = _signature(hook)
    docstring = textwrap.indent(textwrap.fill(goal, 96) + "\n\n" + textwrap.fill(returns, 96), BODY_INDENT).lstrip()
    cls = (f"class {class_name}:\n"
           f"    def __init__(self, seed):\n"
           f"        self.rng = random.Random(seed)\n"
           f"        self.memory = {{}}\n\n"
           f"    def {method}(self, {', '.join(parameters)}):\n"
           f'        """{docstring}\n        """\n')
    header = _IMPORTS + "\n\n" + helpers_source() + "\n\n" + cls
    footer = f"\n\ndef build(seed):\n    return {class_name}(seed)\n"
    return Skeleton(hook, class_name, method, parameters, header, footer, cls)
